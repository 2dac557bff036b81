"""The candidates view's rows written for a poll (`_CandidateRows.many`): a registration writes its row whole,
over the row a registration of an earlier transaction wrote (on PostgreSQL in one statement), and a decision
or withdrawal changes the row there is. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pmo_devstack.batches import rows_of, service_runtime
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import CandidateRegistered, CandidateWithdrawn
from pmo_events.envelope import RecordedEvent
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.candidates.views import candidates, update_candidates

pytestmark = pytest.mark.integration

WHEN = datetime(2027, 3, 1, tzinfo=UTC)


def recorded(event: Event, n: int) -> RecordedEvent:
    return RecordedEvent.of(
        event, event_id=f"e-{n}", source="/pmo/portfolio", stream_id="pf-1", sequence=n, time=WHEN + timedelta(n)
    )


def registered(candidate: str, submission: int, title: str) -> CandidateRegistered:
    return CandidateRegistered(
        portfolio_id="pf-1", candidate_id=candidate, proposal_id=candidate, submission=submission, title=title,
        requester="alice",
    )  # fmt: skip


def withdrawn(candidate: str) -> CandidateWithdrawn:
    return CandidateWithdrawn(
        portfolio_id="pf-1", candidate_id=candidate, proposal_id=candidate, withdrawn_by="alice", reason="no"
    )


async def test_a_registration_writes_its_row_over_the_one_an_earlier_poll_wrote(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    first = [recorded(registered("c-1", 1, "One"), 1), recorded(registered("c-2", 1, "Two"), 2)]
    second = [
        recorded(withdrawn("c-2"), 3),
        recorded(registered("c-1", 2, "One again"), 4),
        recorded(registered("c-3", 1, "Three"), 5),
        recorded(registered("c-3", 2, "Three again"), 6),
    ]
    async with service_runtime(PORTFOLIO, database_url, kafka_bootstrap, tmp_path) as runtime:
        for poll in (first, second):
            async with runtime.db.transaction() as session:
                await update_candidates.many(session, poll)
        rows = {row["candidate_id"]: row for row in await rows_of(runtime, candidates)}
    assert {c: (r["title"], r["submission"], r["status"]) for c, r in rows.items()} == {
        "c-1": ("One again", 2, "awaiting_decision"),
        "c-2": ("Two", 1, "withdrawn"),
        "c-3": ("Three again", 2, "awaiting_decision"),
    }
    assert rows["c-1"]["registration"] == registered("c-1", 2, "One again").model_dump_json()
    assert rows["c-1"]["updated_at"] == WHEN + timedelta(4) and rows["c-2"]["updated_at"] == WHEN + timedelta(3)
    assert rows["c-1"]["decision"] is None

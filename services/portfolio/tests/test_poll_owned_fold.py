"""A poll of intake's events copies each portfolio it registers candidates on once and folds its registrations
and withdrawals on that copy in place (`PollUnitOfWork.state_after`, `AggregateType.own`): a copy per event of
the portfolio and its mapping of every candidate made a poll's registrations quadratic in the portfolio's
candidates (issue 17, the live path). The state a poll holds for the next is never changed by a later poll that
fails, and the states equal one event at a time. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.batches import rows_of, service_runtime
from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalWithdrawn
from pmo_events.contracts.portfolio import CandidateRegistered
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Metadata
from pmo_portfolio.bootstrap import PORTFOLIO as SERVICE
from pmo_portfolio.funding.commands import create_portfolio
from pmo_portfolio.funding.domain import portfolio as rules
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio, Portfolio
from pmo_portfolio.funding.views import portfolios
from pmo_portfolio.shared.errors import NotFound
from pmo_servicekit.service import ServiceRuntime

from .support import NOW, PORTFOLIO_ID, money, submitted

pytestmark = pytest.mark.integration


def _intake(event: Event, stream_id: str, sequence: int, n: int) -> RecordedEvent:
    return RecordedEvent.of(
        event, event_id=f"00000000-0000-4000-8000-{n:012d}", source="/pmo/intake", stream_id=stream_id,
        sequence=sequence, time=NOW + timedelta(seconds=n), actor="rita",
    )  # fmt: skip


def _withdrawn(proposal_id: str) -> ProposalWithdrawn:
    return ProposalWithdrawn(
        proposal_id=proposal_id, portfolio_id=PORTFOLIO_ID, withdrawn_by="rita", reason="no", withdrawn_at=NOW
    )


async def _poll(runtime: ServiceRuntime, events: list[RecordedEvent]) -> None:
    assert runtime.subscription is not None and runtime.subscription.batch_handler is not None
    async with runtime.db.transaction() as session:
        await runtime.subscription.batch_handler(session, events)


async def test_a_poll_copies_a_portfolio_once_and_a_failed_poll_leaves_the_held_state_alone(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies: list[str] = []
    model_copy = Portfolio.model_copy

    def counted(self: Portfolio, *args: Any, update: dict[str, Any] | None = None, **kwargs: Any) -> Portfolio:
        if update is not None and "candidates" in update:  # a copy with its candidates (not a creation's fold)
            copies.append(self.portfolio_id)
        return model_copy(self, *args, update=update, **kwargs)

    first = [_intake(submitted(f"c-{i}"), f"c-{i}", 1, i) for i in range(20)]
    second = [
        _intake(submitted("c-1", submission=2), "c-1", 2, 21),  # a resubmission: registered again
        _intake(_withdrawn("c-2"), "c-2", 2, 22),
        _intake(submitted("c-20"), "c-20", 1, 23),
    ]
    unknown = _intake(submitted("c-x", portfolio_id="pf-unknown"), "c-x", 1, 24)
    async with service_runtime(SERVICE, database_url, kafka_bootstrap, tmp_path) as runtime:
        async with runtime.commands.unit_of_work(Metadata(actor="ann")) as uow:
            await create_portfolio(uow, CreatePortfolio(
                portfolio_id=PORTFOLIO_ID, name="Change 2027", currency="EUR", owner="olga",
                budget=money(("2027", "1000")), board_members=("bea", "bob"), created_by="ann",
            ))  # fmt: skip
        monkeypatch.setattr(Portfolio, "model_copy", counted)
        await _poll(runtime, first)
        assert copies == [PORTFOLIO_ID], "one copy of the portfolio and its candidates for the poll's 20 registrations"
        # A poll that folds the resubmission, the withdrawal and a registration on the state the first poll holds,
        # then fails (a portfolio this service does not know): rolled back, the held state as the first poll left it.
        with pytest.raises(NotFound):
            await _poll(runtime, [*second, unknown])
        await _poll(runtime, second)  # the subscription's retry without the failing event
        async with runtime.db.sessions() as session:
            stored = await runtime.store.load(session, PORTFOLIO_ID)
        [row] = await rows_of(runtime, portfolios)
    registrations = [r for r in (e.decode() for e in stored) if isinstance(r, CandidateRegistered)]
    assert [(r.candidate_id, r.submission) for r in registrations if r.candidate_id in ("c-1", "c-20")] == [
        ("c-1", 1),
        ("c-1", 2),
        ("c-20", 1),
    ], "the retry found the resubmission and the registration new: the failed poll changed nothing held"
    one_at_a_time = rules.initial(PORTFOLIO_ID)
    for event in stored:
        one_at_a_time = rules.evolve(one_at_a_time, event.decode())
    assert Portfolio.model_validate_json(row["state"]) == one_at_a_time
    assert row["version"] == len(stored)
    assert one_at_a_time.candidates["c-2"].status == "withdrawn"
    assert one_at_a_time.candidates["c-1"].submission == 2

"""A token subject and the proposals view's `requester` column (String(200); an e-mail may be 254 characters).

Until session 10 a longer subject drafted a proposal whose requester was cut to 200 characters by the command's
`$n::VARCHAR(200)` cast on PostgreSQL (kept whole on SQLite): the requester's own list, filtered by the whole
subject, missed the draft, and a rebuild by COPY refused the row (5d42342 cut it there too). Now a subject
longer than `SUBJECT_MAX_LENGTH` is not a valid token (401, nothing stored), one as long is kept whole on both
databases, and nothing on any path cuts a value."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from pmo_devstack.testing import RunningService
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.schema import events
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.auth import SUBJECT_MAX_LENGTH

from .support import intake_service
from .test_views import view_rows

pytestmark = pytest.mark.integration

LONGEST = "a" * (SUBJECT_MAX_LENGTH - len("@example.org")) + "@example.org"
BODY = {"title": "Initiative", "portfolio_id": "p", "summary": "robot"}


async def _events(intake: RunningService) -> int:
    async with intake.runtime.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(events))).scalar_one())


async def test_a_subject_longer_than_the_requester_column_is_a_401_and_drafts_nothing(intake: RunningService) -> None:
    async with intake.client("b" + LONGEST, "requester") as bob:
        refused = await bob.post("/proposals", json=BODY)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"at most {SUBJECT_MAX_LENGTH}" in refused.json()["detail"]
    assert await _events(intake) == 0


@pytest.mark.parametrize("subject", ["al\x00ice", "al\ud800ice"], ids=["nul", "lone-surrogate"])
async def test_a_subject_no_column_can_store_is_a_401_and_drafts_nothing(intake: RunningService, subject: str) -> None:
    """Review 1 of session 10 (F3): such a subject reached the database as the actor, a 500 on every command."""
    async with intake.client(subject, "requester") as mallory:
        refused = await mallory.post("/proposals", json=BODY)
    assert refused.status_code == 401, refused.text
    assert "lone surrogate" in refused.json()["detail"]
    assert await _events(intake) == 0


async def test_the_longest_subject_finds_its_own_draft(intake: RunningService) -> None:
    async with intake.client(LONGEST, "requester") as alice:
        created = await alice.post("/proposals", json=BODY)
        assert created.status_code == 201, created.text
        mine = await alice.get("/proposals", params={"requester": LONGEST})
    assert mine.status_code == 200, mine.text
    assert [p["id"] for p in mine.json()["items"]] == [created.json()["id"]]
    assert mine.json()["items"][0]["requester"] == LONGEST


async def test_a_view_drafted_by_the_longest_subject_is_rebuilt_as_written(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with (
        intake_service(postgres_url, kafka_bootstrap, tmp_path) as intake,
        intake.client(LONGEST, "requester") as alice,
    ):
        created = await alice.post("/proposals", json=BODY)
        assert created.status_code == 201, created.text
        runtime = intake.runtime
        written = await view_rows(runtime.db)
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors
        )
        assert replayed == 1
        assert await view_rows(runtime.db) == written
        assert any(LONGEST in row for row in written["intake_proposals"])


async def test_a_history_drafted_before_the_bound_by_a_longer_subject_still_rebuilds_whole(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Review 1 of session 10 (F2): before c4a70a4 a subject of 201-254 characters was taken, its draft's event
    kept it whole in `data.requester` (the view row was cut to 200). Events are never rewritten, and the rebuild's
    COPY no longer cuts, so `requester VARCHAR(200)` made the rebuild fail (StringDataRightTruncation); the column
    is unbounded text since intake_0006 and the row is rebuilt with the whole requester."""
    old = "b" * 52 + LONGEST  # 252 characters, as c4cb679 stored it in the event
    async with (
        intake_service(postgres_url, kafka_bootstrap, tmp_path) as intake,
        intake.client(LONGEST, "requester") as alice,
    ):
        created = await alice.post("/proposals", json=BODY)
        assert created.status_code == 201, created.text
        raw = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:  # the history as older code left it: the event's data holds the whole (longer) subject
            changed = await raw.execute("UPDATE pmo_events SET data = replace(data, $1, $2)", LONGEST, old)
        finally:
            await raw.close()
        assert changed == "UPDATE 1"
        runtime = intake.runtime
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors
        )
        assert replayed == 1
        rows = (await view_rows(runtime.db))["intake_proposals"]
        assert len(rows) == 1 and old in rows[0]


async def test_a_correlation_id_longer_than_the_events_column_is_a_422_and_one_as_long_is_kept_whole(
    intake: RunningService,
) -> None:
    """`X-Correlation-Id` was cut to 64 characters (the events' `correlation_id` column) without a word."""
    async with intake.client("alice", "requester") as alice:
        refused = await alice.post("/proposals", json=BODY, headers={"X-Correlation-Id": "c" * 65})
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["X-Correlation-Id"]
        assert await _events(intake) == 0
        created = await alice.post("/proposals", json=BODY, headers={"X-Correlation-Id": "c" * 64})
        assert created.status_code == 201, created.text
    async with intake.runtime.db.sessions() as session:
        assert (await session.execute(select(events.c.correlation_id))).scalars().all() == ["c" * 64]


async def test_an_id_in_a_path_longer_than_any_id_is_a_422_naming_it(intake: RunningService) -> None:
    async with intake.client("alice", "requester") as alice:
        refused = await alice.get("/proposals/" + "9" * 65)
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("proposal_id", "string_too_long")]

"""A submission below HTTP (issue 17): on PostgreSQL its reads go through the lent connection (the proposal,
what it is checked against in one read, the lesson search, the offers' stream, the view row) and its writes
in one statement, with no session, BEGIN or COMMIT; races still have one winner and no 5xx."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from pmo_events.contracts.portfolio.delivery import LessonRecorded
from pmo_events.runtime import Changed, CommandRuntime, EventStore, Metadata, PremiseFailed
from pmo_events.runtime.database import Database
from pmo_events.runtime.migrate import upgrade
from pmo_events.runtime.schema import events, outbox
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, lessons, proposals
from pmo_intake.adapters.http.schemas import ProposalDraft
from pmo_intake.application import commands, knowledge
from pmo_intake.bootstrap import INTAKE
from pmo_intake.domain.lifecycle import Actor, DraftProposal
from pmo_intake.domain.proposal import CONTENT_FIELDS, Proposal

from .support import complete_proposal

pytestmark = pytest.mark.integration

ALICE = Actor("alice", frozenset({"requester"}))


async def _seed(db: Database, portfolio_id: str, objective_id: str) -> None:
    """What the subscription would have learned from portfolio: the portfolio, an objective, a programme."""
    async with db.transaction() as session:
        await session.execute(
            known_portfolios.insert().values(
                portfolio_id=portfolio_id, name="Sales", fiscal_periods='["FY2027"]', currency="EUR"
            )
        )
        await session.execute(
            known_objectives.insert().values(
                objective_id=objective_id, title="Grow", period_start=date(2027, 1, 1), period_end=date(2027, 12, 31),
                retired=False, updated_at=datetime.now(UTC), portfolio_ids=f'["{portfolio_id}"]',
            )
        )  # fmt: skip
        await session.execute(
            known_programmes.insert().values(programme_id="prog", portfolio_id=portfolio_id, name="CX", closed=False)
        )


async def _learn_lesson(db: Database, portfolio_id: str, words: str) -> None:
    async with db.transaction() as session:
        await lessons.learn(
            session,
            LessonRecorded(
                project_id="done", portfolio_id=portfolio_id, lesson_id=str(uuid.uuid4()), title=words,
                description=words, category="delivery", tags=(), recorded_by="pat", recorded_at=datetime.now(UTC),
            ),
        )  # fmt: skip


def _draft(portfolio_id: str, objective_id: str, **overrides: Any) -> DraftProposal:
    body = ProposalDraft.model_validate(complete_proposal(portfolio_id, objective_id, **overrides))
    return DraftProposal(
        proposal_id=str(uuid.uuid4()),
        requester=ALICE.subject,
        title=body.title,
        portfolio_id=body.portfolio_id,
        **body.values(set(CONTENT_FIELDS) - {"title", "portfolio_id"}),
    )


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[CommandRuntime, list[str]]]:
    await asyncio.to_thread(upgrade, database_url, Path(INTAKE.migrations), INTAKE.metadata)
    db = Database(database_url)
    seen: list[str] = []
    if db.is_postgres:

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(
                lambda record: seen.append(record.query.split(None, 1)[0].upper().rstrip(";"))
            )

    store = EventStore(source="/pmo/intake", topic=INTAKE.topic)
    yield CommandRuntime(db, store, projectors=INTAKE.projectors, policies=INTAKE.policies), seen
    await db.dispose()


async def _drafted(runtime: CommandRuntime, draft: DraftProposal) -> Changed[Proposal]:
    """The draft in a unit of work of its own, decided again when its premise failed (as `run_command` does: a
    draft whose words match a lesson the process has not seen them match yet)."""
    for _ in range(2):
        try:
            async with runtime.unit_of_work(Metadata(actor="alice")) as uow:
                return await commands.draft_proposal(uow, draft)
        except PremiseFailed:
            continue
    raise AssertionError("a premise failed twice")


async def _submitted(runtime: CommandRuntime, proposal_id: str) -> tuple[Any, Any, Any]:
    async with runtime.db.sessions() as session:
        row = (await session.execute(select(proposals).where(proposals.c.proposal_id == proposal_id))).one()
        stored = (await session.execute(select(events.c.stream_id, events.c.type).order_by(events.c.position))).all()
        queued = (await session.execute(select(outbox.c.key).order_by(outbox.c.id))).scalars().all()
    return row, stored, queued


@pytest.mark.parametrize("offered", [False, True], ids=["no-lesson", "a-lesson-offered"])
async def test_a_submission_is_reads_and_one_statement(
    runtime: tuple[CommandRuntime, list[str]], offered: bool
) -> None:
    commands_runtime, seen = runtime
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(commands_runtime.db, portfolio_id, objective_id)
    if offered:
        await _learn_lesson(commands_runtime.db, portfolio_id, "hosted vendor contract exit clauses")
    summary = "Replace the ageing CRM with a hosted vendor contract"
    for warm_up in (True, False):  # the second time, every statement is prepared already
        draft = _draft(portfolio_id, objective_id, summary=summary, programme_id="prog")
        await _drafted(commands_runtime, draft)
        await asyncio.sleep(0)
        seen.clear()
        async with commands_runtime.unit_of_work(Metadata(actor="alice")) as uow:
            changed = await commands.submit_proposal(
                uow, draft.proposal_id, actor=ALICE, now=datetime.now(UTC), expected_version=1
            )
            assert uow._session is None or not commands_runtime.db.is_postgres
        await asyncio.sleep(0)  # asyncpg hands its query loggers each statement through call_soon
        if warm_up:
            continue
    assert changed.state.status == "submitted" and changed.version == 2
    if commands_runtime.db.is_postgres:
        # snapshot, events, the submission's facts, [the lesson search, the lessons found, the offers' snapshot
        # and events], the view row with its version; then one statement: no BEGIN, no COMMIT. With no lesson
        # to offer, no search either: the statement holds the premise that none matches.
        assert seen == ["SELECT"] * (8 if offered else 4) + ["WITH"], seen
    row, stored, queued = await _submitted(commands_runtime, draft.proposal_id)
    assert (row.status, row.version) == ("submitted", 2)
    assert Proposal.model_validate_json(row.state) == changed.state
    kinds = [kind.split(".")[2] for stream, kind in stored if draft.proposal_id in stream]
    offers = ["LessonsOffered"] if offered else []
    assert kinds == ["ProposalDrafted", *offers, "ProposalSubmitted", *offers], kinds
    assert len(queued) == len(stored)


async def test_the_submission_facts_read_in_one_statement_equal_the_sessions(
    runtime: tuple[CommandRuntime, list[str]],
) -> None:
    commands_runtime, _ = runtime
    if not commands_runtime.db.is_postgres:
        pytest.skip("the one-statement read is PostgreSQL's")
    db = commands_runtime.db
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(db, portfolio_id, objective_id)
    sibling = _draft(portfolio_id, objective_id, title="Sibling")
    await _drafted(commands_runtime, sibling)
    cases = [
        _draft(portfolio_id, objective_id, programme_id="prog", dependencies=[sibling.proposal_id, "unknown"]),
        _draft(portfolio_id, "no-such-objective", programme_id="no-such-programme"),
        _draft("no-such-portfolio", objective_id),
    ]
    for draft in cases:
        proposal = (await _drafted(commands_runtime, draft)).state
        async with commands_runtime.unit_of_work(Metadata()) as uow:
            direct = await knowledge.submission_context(uow.reads, proposal)
        async with db.sessions() as session:
            plain = await knowledge.context_in_session(session, proposal)
        assert direct == plain
    assert direct.portfolio is None and direct.objectives and not direct.open_siblings


@pytest.mark.parametrize("keyed", [False, True], ids=["if-match", "idempotency-key"])
async def test_racing_submissions_have_one_winner_and_no_5xx(intake: Any, keyed: bool) -> None:
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(intake.runtime.db, portfolio_id, objective_id)
    async with intake.client("alice", "requester") as alice:
        created = await alice.post("/proposals", json=complete_proposal(portfolio_id, objective_id))
        url = created.headers["location"]
        headers = {"If-Match": created.headers["etag"]}
        if keyed:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        answers = await asyncio.gather(*[alice.post(f"{url}/submit", headers=headers) for _ in range(6)])
        statuses = sorted(answer.status_code for answer in answers)
        history = (await alice.get(f"{url}/history")).json()["items"]
    assert all(status < 500 for status in statuses), statuses
    if keyed:  # every twin answers the winner's response
        assert statuses == [200] * 6 and len({answer.text for answer in answers}) == 1
    else:
        assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 412}, statuses
    assert [entry["type"].split(".")[2] for entry in history].count("ProposalSubmitted") == 1


@pytest.mark.parametrize("keyed", [False, True], ids=["if-match", "idempotency-key"])
async def test_racing_submissions_and_acknowledgements_do_not_starve_the_pool(intake: Any, keyed: bool) -> None:
    """Review 1 of session 7: a race's losers read on a lent connection, then fall back to a session; the lent
    connections they gave back stayed checked out of the pool (kept by the lender until a unit of work ended),
    so once enough requests waited for a session none ended: every request waited the pool's 30 s and answered
    500. 12 submissions (one winner) and 12 acknowledgements of an offered lesson, all at once."""
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(intake.runtime.db, portfolio_id, objective_id)
    await _learn_lesson(intake.runtime.db, portfolio_id, "hosted vendor contract exit clauses")
    async with intake.client("alice", "requester") as alice:
        body = complete_proposal(portfolio_id, objective_id, summary="Replace the CRM with a hosted vendor contract")
        created = await alice.post("/proposals", json=body)
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        offered = (await alice.get(f"{url}/related-lessons")).json()["items"]
        assert offered, "the lesson is offered"
        acknowledge = f"{url}/related-lessons/{offered[0]['lesson_id']}/acknowledge"
        headers = {"If-Match": created.headers["etag"]}
        if keyed:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        jobs = [alice.post(f"{url}/submit", headers=headers) for _ in range(12)]
        jobs += [alice.post(acknowledge, json={"applies": True, "note": "yes"}) for _ in range(12)]
        answers = await asyncio.gather(*jobs)
        history = (await alice.get(f"{url}/history")).json()["items"]
    assert [(a.status_code, a.text[:200]) for a in answers if a.status_code >= 500] == []
    submitted = sorted(a.status_code for a in answers[:12])
    assert submitted == [200] * 12 if keyed else submitted.count(200) == 1, submitted
    assert [a.status_code for a in answers[12:]] == [200] * 12
    assert [entry["type"].split(".")[2] for entry in history].count("ProposalSubmitted") == 1


async def test_an_acknowledgement_is_reads_and_one_statement(runtime: tuple[CommandRuntime, list[str]]) -> None:
    commands_runtime, seen = runtime
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(commands_runtime.db, portfolio_id, objective_id)
    await _learn_lesson(commands_runtime.db, portfolio_id, "hosted vendor contract exit clauses")
    async with commands_runtime.db.sessions() as session:
        lesson_id = (await session.execute(select(lessons.table.c.lesson_id))).scalar_one()
    for applies in (True, False):  # the second time, every statement is prepared already
        draft = _draft(portfolio_id, objective_id, summary="A hosted vendor contract")
        await _drafted(commands_runtime, draft)
        await asyncio.sleep(0)
        seen.clear()
        async with commands_runtime.unit_of_work(Metadata(actor="alice")) as uow:
            changed = await commands.acknowledge_lesson(
                uow, draft.proposal_id, lesson_id, applies=applies, note="seen", actor=ALICE, now=datetime.now(UTC)
            )
            assert uow._session is None or not commands_runtime.db.is_postgres
        await asyncio.sleep(0)
    assert changed.version == 2  # the offer at its draft, then the acknowledgement
    if commands_runtime.db.is_postgres:
        # the proposal's snapshot and events, the lesson, the feedback's snapshot and events; then one statement
        assert seen == ["SELECT"] * 5 + ["WITH"], seen
    async with commands_runtime.db.sessions() as session:
        stored = await commands_runtime.store.load(session, changed.new_events[0].feedback_id)  # type: ignore[attr-defined]
    assert [event.type.split(".")[2] for event in stored] == ["LessonsOffered", "LessonAcknowledged"]

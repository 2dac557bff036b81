"""Lessons offered on the premise that none matches (issue 17): on PostgreSQL a draft or a submission whose words
found no lesson before offers none without searching, and its one statement writes only if the search would
still find nothing; when it would, nothing is written and the command is decided again with the search. The
offers recorded are the ones the search decides, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from pmo_events.contracts.intake import LessonsOffered
from pmo_events.contracts.portfolio.delivery import LessonRecorded
from pmo_events.figures.lesson_feedback import offered_lessons
from pmo_events.runtime import CommandRuntime, Metadata, PremiseFailed
from pmo_events.runtime.schema import events, outbox
from pmo_intake.adapters.db.tables import lessons, proposals
from pmo_intake.application import commands
from pmo_intake.domain.lessons import lesson_subject
from pmo_intake.domain.proposal import Proposal

from .support import complete_proposal
from .test_submission_path import ALICE, _draft, _drafted, _seed, runtime

pytestmark = pytest.mark.integration
__all__ = ["runtime"]  # the fixture, shared with test_submission_path

#: Lessons with words, categories and tags that some of the texts below match and some do not.
LESSONS = [
    ("Vendor contract signed late", "Negotiating the CRM licences took four months", "procurement", ("vendor",)),
    ("Hosted CRM outage", "Ask the hosted provider for its SLA", "operations", ()),
    ("Office move", "Book the rooms early", "facilities", ("premises",)),
]
#: (title, summary): nothing, words, a category, a tag, several lessons, nothing again.
TEXTS = [
    ("Bench", "Nothing in common"),
    ("Hosted CRM procurement", "Choose a vendor and sign the contract"),
    ("Facilities upgrade", "Lighting"),
    ("New premises", "Somewhere larger"),
    ("Data warehouse", "Quarterly figures"),
]


async def _learn(db: Any, portfolio_id: str) -> None:
    async with db.transaction() as session:
        for title, description, category, tags in LESSONS:
            recorded = LessonRecorded(
                project_id="done", portfolio_id=portfolio_id, lesson_id=str(uuid.uuid4()), title=title,
                description=description, category=category, tags=tags, recorded_by="pat",
                recorded_at=datetime.now(UTC),
            )  # fmt: skip
            await lessons.learn(session, recorded)


async def _offers(runtime: CommandRuntime, proposal_id: str) -> list[LessonsOffered]:
    async with runtime.db.sessions() as session:
        recorded = await runtime.store.load(session, f"lessons-{proposal_id}")
    return [event for event in (r.decode() for r in recorded) if isinstance(event, LessonsOffered)]


async def _searched(runtime: CommandRuntime, state: Proposal) -> tuple[Any, ...]:
    """The offer the search decides for the proposal as it reads now (the path without a premise)."""
    async with runtime.db.sessions() as session:
        return offered_lessons(await lessons.related(session, lesson_subject(state)))


async def test_the_offers_recorded_are_the_ones_the_search_decides(runtime: tuple[CommandRuntime, list[str]]) -> None:
    """Every text drafted and submitted twice: the first time this database's words are unknown to the process
    (on PostgreSQL the premise is made and fails for each text that matches), the second time they are known."""
    commands_runtime, _ = runtime
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(commands_runtime.db, portfolio_id, objective_id)
    await _learn(commands_runtime.db, portfolio_id)
    matched = 0
    for _ in range(2):
        for title, summary in TEXTS:
            draft = _draft(portfolio_id, objective_id, title=title, summary=summary, programme_id="prog")
            drafted = await _drafted(commands_runtime, draft)
            async with commands_runtime.unit_of_work(Metadata(actor="alice")) as uow:
                submitted = await commands.submit_proposal(
                    uow, draft.proposal_id, actor=ALICE, now=datetime.now(UTC), expected_version=1
                )
            expected = [offer for offer in (await _searched(commands_runtime, drafted.state),) if offer]
            expected += [offer for offer in (await _searched(commands_runtime, submitted.state),) if offer]
            assert [offer.lessons for offer in await _offers(commands_runtime, draft.proposal_id)] == expected
            matched += bool(expected)
    assert matched == 2 * 3  # the texts that match some lesson, both times


async def test_a_lesson_learned_after_its_words_found_none_fails_the_premise_and_nothing_is_written(
    runtime: tuple[CommandRuntime, list[str]],
) -> None:
    commands_runtime, seen = runtime
    if not commands_runtime.db.is_postgres:
        pytest.skip("the premise is made on PostgreSQL's one-statement path only")
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(commands_runtime.db, portfolio_id, objective_id)
    for _ in range(2):  # the second time, every statement is prepared already
        first = _draft(portfolio_id, objective_id, title="Hosted CRM procurement", summary="Pick a vendor")
        await asyncio.sleep(0)
        seen.clear()
        await _drafted(commands_runtime, first)
        await asyncio.sleep(0)  # asyncpg hands its query loggers each statement through call_soon
    assert seen == ["WITH"], seen  # no lesson: no search, the premise in the one statement
    assert await _offers(commands_runtime, first.proposal_id) == []
    await _learn(commands_runtime.db, portfolio_id)
    async with commands_runtime.db.sessions() as session:
        before = [(await session.execute(select(func.count()).select_from(t))).scalar_one() for t in (events, outbox)]
    second = _draft(portfolio_id, objective_id, title="Hosted CRM procurement", summary="Pick a vendor")
    with pytest.raises(PremiseFailed):
        async with commands_runtime.unit_of_work(Metadata(actor="alice")) as uow:
            await commands.draft_proposal(uow, second)
    async with commands_runtime.db.sessions() as session:
        after = [(await session.execute(select(func.count()).select_from(t))).scalar_one() for t in (events, outbox)]
        row = (await session.execute(select(proposals).where(proposals.c.proposal_id == second.proposal_id))).first()
    assert after == before and row is None  # no event, outbox record or view row of the failed attempt
    drafted = await _drafted(commands_runtime, second)  # decided again: the search finds the lessons
    offers = await _offers(commands_runtime, second.proposal_id)
    assert [offer.lessons for offer in offers] == [await _searched(commands_runtime, drafted.state)]
    assert len(offers[0].lessons) == 2


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "idempotency-key"])
async def test_a_draft_whose_premise_fails_is_decided_again_over_http(intake: Any, keyed: bool) -> None:
    """Through `run_command`: a 201 with the lessons offered (on PostgreSQL after the premise failed in the
    statement), one draft; with an `Idempotency-Key` a retry answers the same."""
    portfolio_id, objective_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(intake.runtime.db, portfolio_id, objective_id)
    await _learn(intake.runtime.db, portfolio_id)
    body = complete_proposal(portfolio_id, objective_id, title="Hosted CRM procurement", summary="Pick a vendor")
    headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
    async with intake.client("alice", "requester") as alice:
        created = await alice.post("/proposals", json=body, headers=headers)
        assert created.status_code == 201, created.text
        if keyed:
            again = await alice.post("/proposals", json=body, headers=headers)
            assert (again.status_code, again.text) == (201, created.text)
        plain = await alice.post("/proposals", json={"title": "Bench", "portfolio_id": portfolio_id})
        assert plain.status_code == 201, plain.text
    proposal_id = created.json()["id"]
    offers = await _offers(intake.runtime, proposal_id)
    assert [len(offer.lessons) for offer in offers] == [2]
    assert await _offers(intake.runtime, plain.json()["id"]) == []
    async with intake.runtime.db.sessions() as session:
        drafts = (
            await session.execute(select(func.count()).select_from(events).where(events.c.type.like("%Drafted%")))
        ).scalar_one()
    assert drafts == 2

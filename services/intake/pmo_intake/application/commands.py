"""Intake's command handlers: load the proposal, let the domain decide, append in the caller's unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.runtime import AggregateType, Changed, Loaded, UnitOfWork, fold
from pmo_intake.adapters.db.tables import lessons
from pmo_intake.application import knowledge
from pmo_intake.domain import lessons as lesson_rules
from pmo_intake.domain import lifecycle
from pmo_intake.domain.errors import LessonNotFound, ProposalNotFound
from pmo_intake.domain.lessons import LessonFeedback, Occasion, feedback_stream, lesson_subject
from pmo_intake.domain.lifecycle import Actor, BoardDecision, DraftProposal
from pmo_intake.domain.proposal import Proposal, evolve, initial

PROPOSAL = AggregateType("proposal", initial, evolve, Proposal)
FEEDBACK = AggregateType("lesson_feedback", lesson_rules.initial, lesson_rules.evolve, LessonFeedback)


async def draft_proposal(uow: UnitOfWork, command: DraftProposal) -> Changed[Proposal]:
    """Reads first (the lesson search, the offers' stream), then the writes, sent together at the end: on
    PostgreSQL a draft that offers no lesson is one search and one statement, with no BEGIN or COMMIT."""
    new_events = lifecycle.draft(command)
    state = fold(PROPOSAL, initial(command.proposal_id), new_events)
    offers = await _lesson_offers(uow, state, "drafted")
    offered_after = (await uow.load(FEEDBACK, feedback_stream(command.proposal_id))).version if offers else 0
    await uow.append(PROPOSAL, command.proposal_id, 0, new_events, state_after=state, write_at_end=True)
    if offers:
        await uow.append(FEEDBACK, feedback_stream(command.proposal_id), offered_after, offers, write_at_end=True)
    return Changed(state, len(new_events), tuple(new_events))


async def edit_proposal(
    uow: UnitOfWork, proposal_id: str, changes: dict[str, Any], *, actor: Actor, expected_version: int | None
) -> Changed[Proposal]:
    loaded = await _load_existing(uow, proposal_id, expected_version)
    return await _decided(uow, loaded, lifecycle.edit(loaded.state, changes, actor=actor), write_at_end=True)


async def submit_proposal(
    uow: UnitOfWork, proposal_id: str, *, actor: Actor, now: datetime, expected_version: int | None
) -> Changed[Proposal]:
    """Reads first (the proposal, what the submission is checked against, the lesson search, the offers'
    stream), then the writes, sent together at the end: on PostgreSQL the proposal's events, the offers,
    their outbox records and the proposal's view row go in one statement, with no BEGIN or COMMIT."""
    loaded = await _load_existing(uow, proposal_id, expected_version)
    context = await knowledge.submission_context(uow.reads, loaded.state)
    new_events = lifecycle.submit(loaded.state, context, actor=actor, now=now)
    state = fold(PROPOSAL, loaded.state, new_events)
    offers = await _lesson_offers(uow, state, "submitted", at=now)
    offered_after = (await uow.load(FEEDBACK, feedback_stream(proposal_id))).version if offers else 0
    await uow.append(PROPOSAL, proposal_id, loaded.version, new_events, state_after=state, write_at_end=True)
    if offers:
        await uow.append(FEEDBACK, feedback_stream(proposal_id), offered_after, offers, write_at_end=True)
    return Changed(state, loaded.version + len(new_events), tuple(new_events))


async def acknowledge_lesson(
    uow: UnitOfWork, proposal_id: str, lesson_id: str, *, applies: bool, note: str, actor: Actor, now: datetime
) -> Changed[LessonFeedback]:
    """The proposal's team says whether a lesson intake knows applies to it (an offered one or not). Reads,
    then the feedback's events and outbox records in one statement at the end (on PostgreSQL)."""
    proposal = (await _load_existing(uow, proposal_id, None)).state
    if not await lessons.knows(uow.reads, lesson_id):
        raise LessonNotFound(lesson_id)
    new_events = lesson_rules.acknowledge(proposal, lesson_id, applies=applies, note=note, actor=actor, at=now)
    loaded = await uow.load(FEEDBACK, feedback_stream(proposal_id))
    state = fold(FEEDBACK, loaded.state, new_events)
    await uow.append(
        FEEDBACK, feedback_stream(proposal_id), loaded.version, new_events, state_after=state, write_at_end=True
    )
    return Changed(state, loaded.version + len(new_events), tuple(new_events))


async def _lesson_offers(
    uow: UnitOfWork, proposal: Proposal, occasion: Occasion, at: datetime | None = None
) -> list[Event]:
    """The offers of the lessons most relevant to the proposal as it now reads (nothing recorded yet).

    On PostgreSQL, when the proposal's words found no lesson before in this process, the command offers none
    on the premise that the search would find nothing, and the database checks that inside the command's one
    statement (no search of its own). Should a lesson match after all, nothing is written and the command is
    decided again, with the search (`PremiseFailed`, retried by `run_command`)."""
    subject = lesson_subject(proposal)
    premise = lessons.premise_none_related(uow.reads, subject)
    if premise is not None:
        uow.assume(premise)
        return []
    related = await lessons.related(uow.reads, subject)
    return lesson_rules.offer(proposal, related, occasion=occasion, at=at or datetime.now(UTC))


async def withdraw_proposal(
    uow: UnitOfWork, proposal_id: str, *, reason: str, actor: Actor, now: datetime, expected_version: int | None
) -> Changed[Proposal]:
    loaded = await _load_existing(uow, proposal_id, expected_version)
    withdrawn = lifecycle.withdraw(loaded.state, reason=reason, actor=actor, now=now)
    return await _decided(uow, loaded, withdrawn, write_at_end=True)


async def start_review(
    uow: UnitOfWork,
    proposal_id: str,
    *,
    assessor: str,
    scored_at: datetime,
    scoring_event_id: str,
    submission: int | None = None,
) -> None:
    """Called by the subscription when the board scores a candidate; unknown proposals are ignored."""
    loaded = await uow.load(PROPOSAL, proposal_id)
    if loaded.version == 0:
        return
    new_events = lifecycle.start_review(
        loaded.state, assessor=assessor, scored_at=scored_at, scoring_event_id=scoring_event_id, submission=submission
    )
    await _decided(uow, loaded, new_events)


async def record_portfolio_decision(uow: UnitOfWork, proposal_id: str, decision: BoardDecision) -> None:
    """Called by the subscription when the board decided; a no-op for unknown or already-decided ones."""
    loaded = await uow.load(PROPOSAL, proposal_id)
    if loaded.version == 0:
        return
    await _decided(uow, loaded, lifecycle.record_decision(loaded.state, decision))


async def _decided(
    uow: UnitOfWork, loaded: Loaded[Proposal], new_events: list[Any], *, write_at_end: bool = False
) -> Changed[Proposal]:
    """`write_at_end`: nothing in the command reads the proposal after this (an edit, a withdrawal): on
    PostgreSQL its events, outbox records and view row go in the command's one last statement."""
    state = fold(PROPOSAL, loaded.state, new_events)
    await uow.append(
        PROPOSAL, loaded.state.proposal_id, loaded.version, new_events, state_after=state, write_at_end=write_at_end
    )
    return Changed(state, loaded.version + len(new_events), tuple(new_events))


async def _load_existing(uow: UnitOfWork, proposal_id: str, expected_version: int | None) -> Loaded[Proposal]:
    loaded = await uow.load(PROPOSAL, proposal_id)
    if loaded.version == 0:
        raise ProposalNotFound(proposal_id)
    loaded.expect(expected_version, f"proposal {proposal_id}")
    return loaded

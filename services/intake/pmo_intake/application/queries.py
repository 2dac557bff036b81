"""Intake's queries, answered from its own views and event store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from pmo_events.envelope import RecordedEvent, loads
from pmo_events.figures.relevance import RelatedLesson
from pmo_events.runtime import Database, EventStore
from pmo_intake.adapters.db.tables import lessons, proposals
from pmo_intake.domain.errors import ProposalNotFound
from pmo_intake.domain.lessons import evolve as evolve_feedback
from pmo_intake.domain.lessons import feedback_stream, lesson_subject
from pmo_intake.domain.lessons import initial as initial_feedback
from pmo_intake.domain.proposal import Proposal


@dataclass(frozen=True)
class ProposalFilter:
    status: str | None = None
    portfolio_id: str | None = None
    requester: str | None = None
    q: str | None = None
    #: Drafts only of this requester (everyone else's drafts are left out); None: every proposal (the PMO).
    drafts_of: str | None = None


async def get_proposal(db: Database, proposal_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        query = select(proposals.c.state, proposals.c.version).where(proposals.c.proposal_id == proposal_id)
        row = (await session.execute(query)).first()
    if row is None:
        raise ProposalNotFound(proposal_id)
    return loads(row.state), row.version


async def list_proposals(
    db: Database, filters: ProposalFilter, *, limit: int, after: int | None
) -> list[tuple[dict[str, Any], int, int]]:
    """Newest first, in a stable order (the draft's store position): up to `limit` (state, version, position)
    listed after the position `after`."""
    query = select(proposals.c.state, proposals.c.version, proposals.c.listed_at)
    for column, value in (
        (proposals.c.status, filters.status),
        (proposals.c.portfolio_id, filters.portfolio_id),
        (proposals.c.requester, filters.requester),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.drafts_of is not None:
        query = query.where(or_(proposals.c.status != "draft", proposals.c.requester == filters.drafts_of))
    if filters.q:
        query = query.where(proposals.c.search_text.contains(filters.q.casefold(), autoescape=True))
    if after is not None:
        query = query.where(proposals.c.listed_at < after)
    query = query.order_by(proposals.c.listed_at.desc()).limit(limit)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [(loads(r.state), r.version, r.listed_at) for r in rows]


async def proposal_history(db: Database, store: EventStore, proposal_id: str) -> list[RecordedEvent]:
    async with db.sessions() as session:
        recorded = await store.load(session, proposal_id)
    if not recorded:
        raise ProposalNotFound(proposal_id)
    return recorded


async def related_lessons(
    db: Database, store: EventStore, proposal_id: str
) -> list[tuple[RelatedLesson, dict[str, Any] | None]]:
    """The recorded lessons most relevant to the proposal as it now reads, most relevant first, each with
    the team's latest acknowledgement of it (None: not acknowledged)."""
    state, _version = await get_proposal(db, proposal_id)
    async with db.sessions() as session:
        related = await lessons.related(session, lesson_subject(Proposal.model_validate(state)))
        recorded = await store.load(session, feedback_stream(proposal_id))
    feedback = initial_feedback(feedback_stream(proposal_id))
    for event in recorded:
        feedback = evolve_feedback(feedback, event.decode())
    said = {i: a.model_dump(mode="json") for i, a in feedback.acknowledged.items()}
    return [(r, said.get(r.lesson.lesson_id)) for r in related]

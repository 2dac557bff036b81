"""Intake's queries, answered from its own views and event store."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime import Database, EventStore
from pmo_intake.adapters.db.tables import proposals
from pmo_intake.domain.errors import ProposalNotFound


class BadCursor(ValueError):
    """A cursor this API did not give out."""


@dataclass(frozen=True)
class ProposalFilter:
    status: str | None = None
    portfolio_id: str | None = None
    requester: str | None = None
    q: str | None = None


async def get_proposal(db: Database, proposal_id: str) -> tuple[dict[str, Any], int]:
    async with db.sessions() as session:
        query = select(proposals.c.state, proposals.c.version).where(proposals.c.proposal_id == proposal_id)
        row = (await session.execute(query)).first()
    if row is None:
        raise ProposalNotFound(proposal_id)
    return loads(row.state), row.version


async def list_proposals(
    db: Database, filters: ProposalFilter, *, limit: int, cursor: str | None
) -> tuple[list[tuple[dict[str, Any], int]], str | None]:
    """Newest first, in a stable order (the draft's store position); one page and the next cursor."""
    query = select(proposals.c.state, proposals.c.version, proposals.c.listed_at)
    for column, value in (
        (proposals.c.status, filters.status),
        (proposals.c.portfolio_id, filters.portfolio_id),
        (proposals.c.requester, filters.requester),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.q:
        query = query.where(proposals.c.search_text.contains(filters.q.casefold(), autoescape=True))
    if cursor is not None:
        query = query.where(proposals.c.listed_at < decode_cursor(cursor))
    query = query.order_by(proposals.c.listed_at.desc()).limit(limit + 1)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].listed_at) if len(rows) > limit else None
    return [(loads(r.state), r.version) for r in page], next_cursor


async def proposal_history(db: Database, store: EventStore, proposal_id: str) -> list[RecordedEvent]:
    async with db.sessions() as session:
        recorded = await store.load(session, proposal_id)
    if not recorded:
        raise ProposalNotFound(proposal_id)
    return recorded


def encode_cursor(listed_at: int) -> str:
    return base64.urlsafe_b64encode(f"p{listed_at}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(cursor) from exc
    if not (text.startswith("p") and text[1:].isascii() and text[1:].isdigit() and len(text) < 20):
        raise BadCursor(cursor)
    return int(text[1:])

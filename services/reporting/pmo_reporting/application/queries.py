"""Reporting queries: an entity's cross-service history, from the event log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from pmo_events.contracts.intake import OUT_OF_DRAFT, sees_proposal
from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_reporting.adapters.db.tables import event_entities, event_log


async def entity_history(db: Database, entity_id: str, *, as_of: datetime | None = None) -> list[dict[str, Any]]:
    query = (
        select(event_log)
        .join(event_entities, event_entities.c.event_id == event_log.c.event_id)
        .where(event_entities.c.entity_id == entity_id)
        .order_by(event_log.c.occurred_at, event_log.c.seq)
    )
    if as_of is not None:
        query = query.where(event_log.c.occurred_at <= as_of)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [_entry(r) for r in rows]


async def drafts(db: Database, proposal_ids: Iterable[str], *, as_of: datetime | None = None) -> dict[str, str]:
    """Of these proposals, those that were still drafts at `as_of` (now: None), each with its requester: drafted
    and neither submitted nor withdrawn by then (intake's status, from the events reporting logged)."""
    ids = set(proposal_ids)
    if not ids:
        return {}
    query = (
        select(event_entities.c.entity_id, event_log.c.type, event_log.c.data)
        .join(event_entities, event_entities.c.event_id == event_log.c.event_id)
        .where(event_entities.c.entity_id.in_(ids))
    )
    if as_of is not None:
        query = query.where(event_log.c.occurred_at <= as_of)
    drafted: dict[str, str] = {}
    out: set[str] = set()
    async with db.sessions() as session:
        for row in await session.execute(query):
            name, data = row.type.split(".")[2], loads(row.data)
            if data.get("proposal_id") != row.entity_id:
                continue
            if name == "ProposalDrafted":
                drafted[row.entity_id] = str(data.get("requester") or "")
            elif name in OUT_OF_DRAFT:
                out.add(row.entity_id)
    return {proposal_id: requester for proposal_id, requester in drafted.items() if proposal_id not in out}


async def hidden_drafts(
    db: Database, events: list[dict[str, Any]], subject: str, roles: Iterable[str], *, as_of: datetime | None = None
) -> set[str]:
    """The proposals these events name that were drafts at `as_of` which the caller may not see (intake's rule)."""
    mentioned = {e["data"]["proposal_id"] for e in events if isinstance(e["data"].get("proposal_id"), str)}
    return {
        proposal_id
        for proposal_id, requester in (await drafts(db, mentioned, as_of=as_of)).items()
        if not sees_proposal(draft=True, requester=requester, subject=subject, roles=roles)
    }


async def events_between(db: Database, start: datetime, end: datetime, *, limit: int = 200) -> list[dict[str, Any]]:
    """Events of every service that happened in [start, end), oldest first, at most `limit`."""
    query = (
        select(event_log)
        .where(event_log.c.occurred_at >= start, event_log.c.occurred_at < end)
        .order_by(event_log.c.occurred_at, event_log.c.seq)
        .limit(limit)
    )
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [_entry(r) for r in rows]


async def log_span(db: Database) -> tuple[datetime, datetime] | None:
    """The event times of the log's first and last events (None for an empty log)."""
    occurred = event_log.c.occurred_at
    query = select(func.min(occurred, type_=occurred.type), func.max(occurred, type_=occurred.type))
    async with db.sessions() as session:
        first, last = (await session.execute(query)).one()
    return (_utc(first), _utc(last)) if first is not None and last is not None else None


def _entry(r: Any) -> dict[str, Any]:
    return {
        "event_id": r["event_id"],
        "subject": r["subject"],
        "sequence": r["sequence"],
        "type": r["type"],
        "event": r["type"].split(".")[2],
        "service": r["source"].removeprefix("/pmo/"),
        "occurred_at": _utc(r["occurred_at"]).isoformat(),
        "actor": r["actor"],
        "correlation_id": r["correlation_id"],
        "causation_id": r["causation_id"],
        "data": loads(r["data"]),
    }


def _utc(instant: datetime) -> datetime:
    """SQLite gives back naive times for what was stored in UTC."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)

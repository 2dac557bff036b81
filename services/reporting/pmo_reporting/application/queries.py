"""Reporting queries: the decision audit trail and an entity's cross-service history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_reporting.adapters.db.tables import decisions, event_entities, event_log


async def decision_log(
    db: Database,
    *,
    portfolio_id: str | None = None,
    outcome: str | None = None,
    decided_by: str | None = None,
    decided_from: datetime | None = None,
    decided_to: datetime | None = None,
) -> list[dict[str, Any]]:
    query = select(decisions).order_by(decisions.c.decided_at, decisions.c.decision_id)
    if portfolio_id:
        query = query.where(decisions.c.portfolio_id == portfolio_id)
    if outcome:
        query = query.where(decisions.c.outcome == outcome)
    if decided_by:
        query = query.where(decisions.c.decided_by == decided_by)
    if decided_from:
        query = query.where(decisions.c.decided_at >= decided_from)
    if decided_to:
        query = query.where(decisions.c.decided_at < decided_to)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            "id": r["decision_id"],
            "kind": r["kind"],
            "portfolio_id": r["portfolio_id"],
            "subject_id": r["subject_id"],
            "outcome": r["outcome"],
            "decided_by": r["decided_by"],
            "decided_at": r["decided_at"].isoformat(),
            "rationale": r["rationale"],
            **loads(r["details"]),
        }
        for r in rows
    ]


async def entity_history(db: Database, entity_id: str) -> list[dict[str, Any]]:
    query = (
        select(event_log)
        .join(event_entities, event_entities.c.event_id == event_log.c.event_id)
        .where(event_entities.c.entity_id == entity_id)
        .order_by(event_log.c.occurred_at, event_log.c.seq)
    )
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            "event_id": r["event_id"],
            "type": r["type"],
            "source": r["source"],
            "subject": r["subject"],
            "sequence": r["sequence"],
            "time": r["occurred_at"].isoformat(),
            "actor": r["actor"],
            "correlation_id": r["correlation_id"],
            "causation_id": r["causation_id"],
            "data": loads(r["data"]),
        }
        for r in rows
    ]

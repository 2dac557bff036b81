"""The motions view: each motion as of its latest event (open ones with their deadline, for the lapse sweep)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_events.runtime.views import StreamView
from pmo_portfolio.governance.domain import motions as motion_rules
from pmo_portfolio.governance.domain.motions import Motion
from pmo_portfolio.shared.projecting import projects_on

motions = Table(
    "portfolio_motions",
    metadata,
    Column("motion_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("deadline", UtcDateTime),
    Column("proposed_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
)
Index("ix_portfolio_motions_portfolio", motions.c.portfolio_id, motions.c.status)
Index("ix_portfolio_motions_deadline", motions.c.status, motions.c.deadline)
Index("ix_portfolio_motions_subject", motions.c.subject_id)


def _columns(state: Motion, event: RecordedEvent) -> dict[str, Any]:
    return {
        "portfolio_id": state.portfolio_id,
        "kind": state.kind,
        "subject_id": state.subject_id,
        "status": state.status,
        "deadline": state.deadline,
        "proposed_at": state.proposed_at,
        "version": event.sequence,
    }


motion_rows = StreamView(
    table=motions,
    key=motions.c.motion_id,
    state=motions.c.state,
    model=Motion,
    initial=motion_rules.initial,
    evolve=motion_rules.evolve,
    columns=_columns,
    version=motions.c.version,
)


@projects_on(stream_types=("motion",))
async def update_motions(session: AsyncSession, event: RecordedEvent) -> None:
    if event.stream_type == "motion":
        await motion_rows(session, event)


PROJECTORS = [update_motions]
VIEW_TABLES = [motions]

"""Reporting's subscription: log every event, then let each read model take what it needs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.subscription import Handler
from pmo_reporting.projections.decisions import project_decision
from pmo_reporting.projections.event_log import record

READ_MODEL_PROJECTORS = [project_decision]


def make_handler() -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        await record(session, event)
        for project in READ_MODEL_PROJECTORS:
            await project(session, event)

    return handle

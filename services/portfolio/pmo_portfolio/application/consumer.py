"""What the portfolio service does with intake's events: submitted proposals become candidates."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_events.runtime.subscription import Handler
from pmo_portfolio.application.commands import register_candidate

log = logging.getLogger(__name__)


def make_handler(commands: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        if event.type != ProposalSubmitted.type_name():
            return
        submitted = event.decode()
        assert isinstance(submitted, ProposalSubmitted)
        meta = Metadata(
            actor=event.actor,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            traceparent=event.traceparent,
        )
        async with commands.in_session(session, meta) as uow:
            await register_candidate(uow, submitted)

    return handle

"""What intake's events do here: submitted proposals become candidates, withdrawn ones stop awaiting a decision."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.intake import ProposalSubmitted, ProposalWithdrawn
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_events.runtime.subscription import Handler
from pmo_portfolio.candidates.commands import register_candidate, withdraw_candidate

HANDLED = frozenset({ProposalSubmitted.type_name(), ProposalWithdrawn.type_name()})


def make_handler(commands: CommandRuntime) -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        if event.type not in HANDLED:
            return
        decoded = event.decode()
        meta = Metadata.caused_by(event)
        async with commands.in_session(session, meta) as uow:
            if isinstance(decoded, ProposalSubmitted):
                await register_candidate(uow, decoded)
            elif isinstance(decoded, ProposalWithdrawn):
                await withdraw_candidate(uow, decoded)

    return handle

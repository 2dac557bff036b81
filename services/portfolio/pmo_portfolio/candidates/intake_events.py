"""What intake's events do here: submitted proposals become candidates, withdrawn ones stop awaiting a decision."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalSubmitted, ProposalWithdrawn
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import CommandRuntime, Metadata, UnitOfWork
from pmo_events.runtime.subscription import BatchHandler, Handler
from pmo_events.runtime.tracing import consuming
from pmo_portfolio.candidates.commands import register_candidate, withdraw_candidate
from pmo_portfolio.funding import PORTFOLIO

HANDLED = frozenset({ProposalSubmitted.type_name(), ProposalWithdrawn.type_name()})


async def _apply(uow: UnitOfWork, decoded: Event) -> None:
    if isinstance(decoded, ProposalSubmitted):
        await register_candidate(uow, decoded)
    elif isinstance(decoded, ProposalWithdrawn):
        await withdraw_candidate(uow, decoded)


def _portfolio_of(event: RecordedEvent) -> str:
    decoded = event.decode()
    assert isinstance(decoded, ProposalSubmitted | ProposalWithdrawn)
    return decoded.portfolio_id


def make_handler(commands: CommandRuntime) -> Handler:
    """One event, one command (the subscription's span around it): what a poll does when it has no batch
    handler."""

    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        if event.type not in HANDLED:
            return
        decoded = event.decode()
        async with commands.in_session(session, Metadata.caused_by(event)) as uow:
            await _apply(uow, decoded)

    return handle


def make_batch_handler(commands: CommandRuntime, consumer: str) -> BatchHandler:
    """A poll's events, each its own command with its own cause (its id, correlation and consumer span), all
    on one unit of work: each portfolio the poll names is loaded once, its registrations folded in memory, and
    every event, outbox record and view row written once at the poll's end, in the poll's transaction.

    A command that fails (a proposal for a portfolio this service does not know) fails the poll, which the
    subscription then applies event by event (this handler with one event each) to dead-letter it alone.

    The portfolios a poll appended to are held for the next poll (`HeldStates`), which uses each again only
    while no other event has been added to its stream since (a command over HTTP, a poll rolled back), and
    let go once a burst is over (`CommandRuntime.forget_held`)."""
    held = commands.held_states()

    async def handle_batch(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        poll = commands.for_poll(session, held)
        handled = [event for event in events if event.type in HANDLED]
        await poll.prefetch(PORTFOLIO, [_portfolio_of(event) for event in handled])
        for event in handled:
            with consuming(event, consumer):
                poll.meta = Metadata.caused_by(event)
                await _apply(poll, event.decode())
        await poll.end()

    return handle_batch

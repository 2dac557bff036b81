"""The live path: each consumed event is logged, then folded into every read model's answering generation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.subscription import Handler
from pmo_reporting.adapters.db.documents import SessionDocuments
from pmo_reporting.adapters.db.event_log import record
from pmo_reporting.adapters.db.tables import projections
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_reporting.projections.documents import NotLoaded

_ROWS = "reporting_projection_rows"
_DOCS = "reporting_documents_known"


async def projection_row(session: AsyncSession, name: str, *, lock: bool = True) -> RowMapping:
    """The read model's row (created at generation 1 on first use), locked against a concurrent swap."""
    query = select(projections).where(projections.c.name == name)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        await session.execute(projections.insert().values(name=name, generation=1, position=0, state="live"))
        row = (await session.execute(query)).mappings().one()
    return row


async def answering_generation(session: AsyncSession, name: str) -> int:
    """The generation reports read (1 before the read model's first event); never writes."""
    found = await session.execute(select(projections.c.generation).where(projections.c.name == name))
    return found.scalar_one_or_none() or 1


async def fold_live(session: AsyncSession, projection: Projection, generation: int, event: RecordedEvent) -> bool:
    """Run the pure fold, loading each document it asks for, then write what it changed."""
    if event.type not in projection.handles:
        return False
    known = session.info.setdefault(_DOCS, {}).setdefault((projection.name, generation), {})
    docs = SessionDocuments(projection.name, generation, known)
    while True:
        try:
            projection.apply(docs, event)
            break
        except NotLoaded as missing:
            docs.discard_pending()
            await docs.load(session, missing.kind, missing.key)
    await docs.flush(session)
    return True


async def _answering_generations(session: AsyncSession) -> dict[str, int]:
    """Read once per subscription batch (one transaction): the swap takes the same row locks."""
    cached = session.info.get(_ROWS)
    if cached is None:
        cached = {name: (await projection_row(session, name))["generation"] for name in PROJECTIONS}
        session.info[_ROWS] = cached
    return cached


def forget_cached_generations(session: AsyncSession) -> None:
    """After a failed event (its savepoint rolled back) nothing cached in this transaction is trusted."""
    session.info.pop(_ROWS, None)
    session.info.pop(_DOCS, None)


async def apply_event(session: AsyncSession, event: RecordedEvent) -> int:
    """Log the event and fold it into each read model; answers its log sequence."""
    # The read models' row locks come first: every writer of the log queues on them, so log sequence
    # numbers commit in order and a rebuild or checkpoint that passed `seq` never sees an older one appear.
    generations = await _answering_generations(session)
    try:
        seq = await record(session, event)
        for name, projection in PROJECTIONS.items():
            await fold_live(session, projection, generations[name], event)
    except Exception:
        # The subscription rolls this event's savepoint back, and with it a lock taken inside it.
        forget_cached_generations(session)
        raise
    return seq


def make_handler() -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        await apply_event(session, event)

    return handle

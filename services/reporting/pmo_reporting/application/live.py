"""The live path: each consumed event is logged, then folded into every read model's answering generation."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts import UnknownEventType
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import pgdirect
from pmo_events.runtime.consumed import RIDDEN_ROWS, RidingLock
from pmo_events.runtime.heap import short_lived_heap
from pmo_events.runtime.subscription import BatchHandler, Handler
from pmo_events.runtime.tracing import applying
from pmo_reporting.adapters.db.documents import SessionDocuments
from pmo_reporting.adapters.db.event_log import log_rows, record, record_many
from pmo_reporting.adapters.db.poll_write import ONE_STATEMENT_EVENTS, write_poll
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


def session_documents(session: AsyncSession, projection: Projection, generation: int) -> SessionDocuments:
    known = session.info.setdefault(_DOCS, {}).setdefault((projection.name, generation), {})
    return SessionDocuments(projection.name, generation, known)


async def fold_into(
    session: AsyncSession, projection: Projection, docs: SessionDocuments, event: RecordedEvent
) -> bool:
    """Run the pure fold, loading each document it asks for; its writes wait for `docs.flush`."""
    if event.type not in projection.handlers:  # `handles`, without a frozenset made per event
        return False
    while True:
        try:
            projection.apply(docs, event)
            break
        except NotLoaded as missing:
            docs.discard_pending()
            await docs.load(session, missing.kind, missing.key)
    docs.accept()
    return True


async def fold_live(session: AsyncSession, projection: Projection, generation: int, event: RecordedEvent) -> bool:
    """Run the pure fold, loading each document it asks for, then write what it changed."""
    docs = session_documents(session, projection, generation)
    folded = await fold_into(session, projection, docs, event)
    await docs.flush(session)
    return folded


async def _answering_generations(session: AsyncSession) -> dict[str, int]:
    """Read once per subscription batch (one transaction): the swap takes the same row locks."""
    cached: dict[str, int] | None = session.info.get(_ROWS)
    if cached is None:
        ridden: dict[str, int] | None = session.info.get(RIDDEN_ROWS)
        if ridden is not None:  # locked by the subscription's streams' statement (`RIDING_LOCK`)
            cached = dict(ridden)
        elif pgdirect.on_asyncpg(session):
            # Every read model's row in one statement (locked in name order; a rebuild or swap locks one row only)
            rows = await pgdirect.fetch(session, _GENERATIONS, list(PROJECTIONS))
            cached = {row["name"]: row["generation"] for row in rows}
        else:
            cached = {}
        for name in PROJECTIONS:  # elsewhere, and a read model's first use (its row made at generation 1)
            if name not in cached:
                cached[name] = (await projection_row(session, name))["generation"]
        session.info[_ROWS] = cached
    return cached


_GENERATIONS = f"SELECT name, generation FROM {projections.name} WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE"

#: The same lock sent by the subscription in the poll's streams' statement, one round trip fewer per poll.
RIDING_LOCK = RidingLock(
    f"SELECT name AS key, generation AS value FROM {projections.name} WHERE name = ANY($1::text[])"
    " ORDER BY name FOR UPDATE",
    list(PROJECTIONS),
)


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


async def apply_events(session: AsyncSession, events: Sequence[RecordedEvent], consumer: str = "reporting") -> None:
    """A subscription batch: fold every event in memory (loading each document once), then write the log
    rows and each changed document with one batched statement each."""
    generations = await _answering_generations(session)  # the row locks first, as in `apply_event`
    try:
        with short_lived_heap():  # a poll's objects die with it: young collections every 50,000 allocations
            await _fold_and_write(session, events, generations, consumer)
    except Exception:
        forget_cached_generations(session)
        raise


async def _fold_and_write(
    session: AsyncSession, events: Sequence[RecordedEvent], generations: dict[str, int], consumer: str
) -> None:
    docs = {name: session_documents(session, p, generations[name]) for name, p in PROJECTIONS.items()}
    named, entities = _named(events)
    for of_projection in docs.values():
        of_projection.candidates = named
    for event in events:
        # The poll has one span (the subscription's); an event gets its own only for its debug line.
        with applying(event, consumer):
            for name, projection in _folding(event.type):
                await fold_into(session, projection, docs[name], event)
    if len(events) <= ONE_STATEMENT_EVENTS and pgdirect.on_asyncpg(session):
        await write_poll(session, *log_rows(list(events), entities), list(docs.values()))
        return
    await record_many(session, list(events), entities)
    for of_projection in docs.values():
        await of_projection.flush(session)


#: The read models each event type is folded into (most types concern one; some none).
_FOLDING: dict[str, list[tuple[str, Projection]]] = {}


def _folding(event_type: str) -> list[tuple[str, Projection]]:
    found = _FOLDING.get(event_type)
    if found is None:
        found = _FOLDING[event_type] = [(n, p) for n, p in PROJECTIONS.items() if event_type in p.handles]
    return found


def batch_ids(events: Sequence[RecordedEvent]) -> set[str]:
    """Every id the events name (their streams and what they refer to): the documents a fold is likely to ask for."""
    return _named(events)[0]


def _named(events: Sequence[RecordedEvent]) -> tuple[set[str], list[list[str]]]:
    """`batch_ids`, and each event's entities as the log indexes them (`event_log.entities`), found in one pass."""
    ids: set[str] = set()
    of_events: list[list[str]] = []
    for event in events:
        ids.add(event.stream_id)
        try:
            decoded = event.decode()
        except (UnknownEventType, ValidationError):
            of_events.append([event.stream_id])  # a newer producer's type: indexed by its subject only
            continue
        related = decoded.related_ids()
        of_events.append(sorted({event.stream_id, *related}))
        ids.update(related)
        names = _id_fields(type(decoded))
        if names is None:  # a contract keeping extra keys: any of them may be an id
            ids.update(value for name, value in decoded if name.endswith("_id") and isinstance(value, str))
            continue
        for name in names:
            value = getattr(decoded, name)
            if isinstance(value, str):
                ids.add(value)
    return ids, of_events


#: Each contract's fields named `*_id` (looked up once per type, not by iterating every field of every event).
_ID_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _id_fields(contract: type[BaseModel]) -> tuple[str, ...] | None:
    """None for a contract that keeps extra keys (contracts ignore them; then these are all its fields)."""
    if contract not in _ID_FIELDS:
        names = tuple(name for name in contract.model_fields if name.endswith("_id"))
        _ID_FIELDS[contract] = None if contract.model_config.get("extra") == "allow" else names
    return _ID_FIELDS[contract]


def make_batch_handler(consumer: str) -> BatchHandler:
    async def handle(session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        await apply_events(session, events, consumer)

    return handle


def make_handler() -> Handler:
    async def handle(session: AsyncSession, event: RecordedEvent) -> None:
        await apply_event(session, event)

    return handle

"""`as_of` checkpoints in the database: a read model's in-memory documents at an instant, as JSON.

A body is written as plain JSON: on PostgreSQL the column is compressed with lz4 by the database
(migration `reporting_0004`), which a cold process reads back about twice as fast as zlib-compressed JSON it
decompresses itself (14 against 30 ms for a 15 MB checkpoint; 2.9 against 2.1 MB on disk). Bodies written
zlib-compressed before that are still read."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_reporting.adapters.db.tables import checkpoints
from pmo_reporting.projections.documents import InMemoryDocuments

#: The first byte of a zlib stream as `zlib.compress` writes it (a body kept before `reporting_0004`); a
#: plain JSON body starts with `{`.
_ZLIB = 0x78


def encode(docs: InMemoryDocuments) -> bytes:
    """Every document as `{kind: {key: [scope, body as JSON text]}}`: reading it back makes one string per
    document, and a document is decoded only when a fold or a report reads it."""
    kinds: dict[str, dict[str, tuple[str, str]]] = {}
    for kind, key, scope, text in docs.encoded_rows():
        kinds.setdefault(kind, {})[key] = (scope, text)
    return orjson.dumps(kinds)


def decode(body: bytes) -> InMemoryDocuments:
    """The documents as `encode` wrote them (or zlib-compressed, as kept before `reporting_0004`); each
    `[scope, text]` pair is held as read (no step per document)."""
    if body[:1] == bytes([_ZLIB]):
        body = zlib.decompress(body)
    return InMemoryDocuments.encoded(orjson.loads(body), len(body))


async def save_checkpoint(
    session: AsyncSession, projection: str, generation: int, at: datetime, upto: int, docs: InMemoryDocuments
) -> None:
    """Keep the checkpoint (replacing one of the same read model, generation and instant)."""
    await session.execute(
        delete(checkpoints).where(
            checkpoints.c.projection == projection, checkpoints.c.generation == generation, checkpoints.c.at == at
        )
    )
    await session.execute(
        checkpoints.insert().values(
            projection=projection,
            generation=generation,
            at=at,
            upto=upto,
            documents=len(docs),
            body=encode(docs),
            taken_at=datetime.now(UTC),
        )
    )


async def nearest_checkpoint(
    session: AsyncSession, projection: str, generation: int, as_of: datetime, head: int
) -> tuple[datetime, int] | None:
    """The latest checkpoint at or before `as_of` of this generation that covers no event past `head`:
    (its instant, the log position it covers); its documents are read by `checkpoint_documents`."""
    found = (
        await session.execute(
            select(checkpoints.c.at, checkpoints.c.upto)
            .where(
                checkpoints.c.projection == projection,
                checkpoints.c.generation == generation,
                checkpoints.c.at <= as_of,
                checkpoints.c.upto <= head,
            )
            .order_by(checkpoints.c.at.desc())
            .limit(1)
        )
    ).first()
    return None if found is None else (found[0], int(found[1]))


async def checkpoint_documents(
    session: AsyncSession, projection: str, generation: int, at: datetime
) -> InMemoryDocuments:
    body = (
        await session.execute(
            select(checkpoints.c.body).where(
                checkpoints.c.projection == projection, checkpoints.c.generation == generation, checkpoints.c.at == at
            )
        )
    ).scalar_one()
    return decode(body)


async def checkpoint_marks(session: AsyncSession, projection: str, generation: int) -> list[tuple[datetime, int]]:
    """(instant, position covered) of each checkpoint kept for this generation, by instant."""
    rows = await session.execute(
        select(checkpoints.c.at, checkpoints.c.upto)
        .where(checkpoints.c.projection == projection, checkpoints.c.generation == generation)
        .order_by(checkpoints.c.at)
    )
    return [(at, int(upto)) for at, upto in rows]


def is_month_start(at: datetime) -> bool:
    return at.day == 1 and at.hour == at.minute == at.second == at.microsecond == 0


async def prune_checkpoints(session: AsyncSession, projection: str, generation: int, keep_newest: int) -> int:
    """Keep every month-start checkpoint and the `keep_newest` newest of this generation; drop the others
    (how many). Each sweep adds one at the log's newest instant and one per `EVENTS_PER_CHECKPOINT` events:
    without this they would grow without bound (some 15 MB of JSON each at 200,000 events)."""
    marks = [at for at, _ in await checkpoint_marks(session, projection, generation)]
    newest = set(marks[-keep_newest:]) if keep_newest > 0 else set()
    drop = [at for at in marks if at not in newest and not is_month_start(at)]
    for start in range(0, len(drop), 500):
        await session.execute(
            delete(checkpoints).where(
                checkpoints.c.projection == projection,
                checkpoints.c.generation == generation,
                checkpoints.c.at.in_(drop[start : start + 500]),
            )
        )
    return len(drop)


async def checkpoint_count(session: AsyncSession, projection: str) -> int:
    query = select(func.count()).select_from(checkpoints).where(checkpoints.c.projection == projection)
    return int((await session.execute(query)).scalar_one())


async def drop_checkpoints(session: AsyncSession, projection: str, *, keep_generation: int) -> None:
    """Checkpoints folded by another generation's code answer nothing any more."""
    await session.execute(
        delete(checkpoints).where(checkpoints.c.projection == projection, checkpoints.c.generation != keep_generation)
    )

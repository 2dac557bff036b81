"""`as_of` checkpoints in the database: a read model's in-memory documents at an instant.

A body is a small index followed by every document's JSON as it is, one after another (`encode`): reading it
back parses the index only and holds each document as its JSON bytes, decoded when a fold or a report
first reads it, so a cold answer about one portfolio does not parse the other portfolios' documents (at
200,000 events the newest checkpoint holds 17,600 documents, of which the summary of one portfolio reads
3,500). On PostgreSQL the column is compressed with lz4 by the database (migration `reporting_0004`). Bodies
kept before `reporting_0006` (one JSON object `{kind: {key: [scope, text]}}`, parsed whole), and before
`reporting_0004` (the same, zlib-compressed), are still read."""

from __future__ import annotations

import bisect
import itertools
import zlib
from datetime import UTC, datetime

import orjson
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_reporting.adapters.db.tables import checkpoints, event_log
from pmo_reporting.projections.documents import Held, InMemoryDocuments

#: The first byte of a zlib stream as `zlib.compress` writes it (a body kept before `reporting_0004`); a
#: body kept before `reporting_0006` starts with `{`.
_ZLIB = 0x78
#: The first byte of a body as `encode` writes it (`reporting_0006`), then the index's length (4 bytes).
INDEXED = 0x01
_INDEX_LENGTH = 4


def encode(docs: InMemoryDocuments) -> bytes:
    """`INDEXED`, the index's length, the index `{kind: [keys, scopes, lengths]}` as JSON, then each
    document's JSON in the index's order (a document held as read from a checkpoint is copied as it is)."""
    index: dict[str, tuple[list[str], list[str], list[int]]] = {}
    texts = bytearray()  # each document's JSON added as it is made (and freed): about a third less CPU than
    for kind, of_kind in docs.held():  # keeping them all to join at the end
        lengths = []
        for _scope, body in of_kind.values():
            text = orjson.dumps(body) if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
            texts += text
            lengths.append(len(text))
        index[kind] = (list(of_kind), [scope for scope, _ in of_kind.values()], lengths)
    head = orjson.dumps(index)
    return b"".join([bytes([INDEXED]), len(head).to_bytes(_INDEX_LENGTH, "big"), head, texts])


def decode(body: bytes) -> InMemoryDocuments:
    """The documents as `encode` wrote them: the index is parsed, each document held as its JSON bytes
    (decoded only when read). Bodies kept before `reporting_0006` are parsed whole, as they were written."""
    if body[:1] == bytes([_ZLIB]):
        body = zlib.decompress(body)
    if body[:1] != bytes([INDEXED]):
        return InMemoryDocuments.encoded(orjson.loads(body), len(body))
    start = 1 + _INDEX_LENGTH
    end = start + int.from_bytes(body[1:start], "big")
    index = orjson.loads(memoryview(body)[start:end])
    kinds: dict[str, dict[str, Held]] = {}
    for kind, (keys, scopes, lengths) in index.items():
        ends = list(itertools.accumulate(lengths, initial=end))
        end = ends[-1]
        # Each document's bytes copied out (not a view of the body): a view per document pinned the whole body and
        # was a small object of its own, and reporting kept ~9 MB more once the answers were let go (157 against
        # 148 MB 40 s after asof.py's questions); a copy of a document's JSON is allocated as its text was.
        kinds[kind] = {key: (scope, body[a:b]) for key, scope, a, b in zip(keys, scopes, ends, ends[1:], strict=False)}
    return InMemoryDocuments.encoded(kinds, len(body))


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
) -> InMemoryDocuments | None:
    """The checkpoint's documents; None when it is gone since its mark was read (a sweep pruned it, a
    rebuild dropped its generation: each statement sees what is committed when it runs)."""
    body = (
        await session.execute(
            select(checkpoints.c.body).where(
                checkpoints.c.projection == projection, checkpoints.c.generation == generation, checkpoints.c.at == at
            )
        )
    ).scalar_one_or_none()
    return None if body is None else decode(body)


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


async def prune_checkpoints(
    session: AsyncSession,
    projection: str,
    generation: int,
    types: ColumnElement[bool],
    per: int,
    since: datetime | None,
) -> int:
    """Thin this generation's checkpoints from `since` on (the one a sweep started from; None: all), keeping
    the fold bound: a checkpoint goes only when the read model's events (`types`) between the kept one before
    it and the one after it are at most `per`, so an `as_of` answer between two kept checkpoints still folds at
    most `per` events (plus late arrivals). Month starts and the newest always stay. Returns how many went.

    Each lazy sweep (after the log grew by `per` events of every kind) leaves one at the log's newest instant,
    usually after far fewer than `per` of this read model's events: without thinning the table would grow by a
    full checkpoint (some 15 MB of JSON at 200,000 events) per sweep instead of per `per` of its events."""
    marks = [at for at, _ in await checkpoint_marks(session, projection, generation)]
    start = 0 if since is None else max(0, bisect.bisect_left(marks, since) - 1)
    window = marks[start:]
    if len(window) < 3:
        return 0
    between = [await _events_between(session, types, a, b) for a, b in itertools.pairwise(window)]
    drop: list[datetime] = []
    folded = 0  # the read model's events since the last kept checkpoint, up to window[i]
    for i in range(1, len(window) - 1):
        folded += between[i - 1]
        if not is_month_start(window[i]) and folded + between[i] <= per:
            drop.append(window[i])
        else:
            folded = 0
    for first in range(0, len(drop), 500):
        await session.execute(
            delete(checkpoints).where(
                checkpoints.c.projection == projection,
                checkpoints.c.generation == generation,
                checkpoints.c.at.in_(drop[first : first + 500]),
            )
        )
    return len(drop)


async def _events_between(session: AsyncSession, types: ColumnElement[bool], after: datetime, upto: datetime) -> int:
    query = (
        select(func.count())
        .select_from(event_log)
        .where(types, event_log.c.occurred_at > after, event_log.c.occurred_at <= upto)
    )
    return int((await session.execute(query)).scalar_one())


async def checkpoint_count(session: AsyncSession, projection: str) -> int:
    query = select(func.count()).select_from(checkpoints).where(checkpoints.c.projection == projection)
    return int((await session.execute(query)).scalar_one())


async def drop_checkpoints(session: AsyncSession, projection: str, *, keep_generation: int) -> None:
    """Checkpoints folded by another generation's code answer nothing any more."""
    await session.execute(
        delete(checkpoints).where(checkpoints.c.projection == projection, checkpoints.c.generation != keep_generation)
    )

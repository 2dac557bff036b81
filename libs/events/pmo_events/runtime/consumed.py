"""What a consumer remembers in its own database: offsets per partition, the last applied sequence of each
stream, and its dead letters (written to the outbox in the batch's transaction)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import String, and_, any_, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import dumps
from pmo_events.runtime import pgdirect
from pmo_events.runtime.schema import consumed_streams, consumer_offsets, outbox

#: A stream as the consumer tracks it: (the owner's source, derived from the topic; the stream id).
StreamKey = tuple[str, str]


async def last_sequences(
    session: AsyncSession, consumer: str, keys: Iterable[StreamKey], *, riding: RidingLock | None = None
) -> dict[StreamKey, int]:
    """The last applied sequence of each stream, locked until the batch commits.

    `riding` (PostgreSQL through asyncpg, at least one stream): a batch handler's own lock statement, sent in the
    last streams' statement after its lock (`RidingLock`); its rows go to `session.info[RIDDEN_ROWS]`."""
    by_source: dict[str, list[str]] = {}
    for source, stream_id in sorted(set(keys)):
        by_source.setdefault(source, []).append(stream_id)
    found: dict[StreamKey, int] = {}
    if riding is not None and by_source and pgdirect.on_asyncpg(session):
        *before, (last_source, last_ids) = by_source.items()
        by_source = dict(before)
    else:
        riding = None
    found.update(await _last_sequences(session, consumer, by_source))
    if riding is not None:
        one = len(last_ids) == 1
        statement = _one_stream(riding.with_streams(), 3) if one else riding.with_streams()
        rows = await pgdirect.fetch(
            session, statement, consumer, last_source, last_ids[0] if one else last_ids, *riding.args
        )
        ridden: dict[str, int] = {}
        for row in rows:
            if row["part"]:
                ridden[row["key"]] = row["value"]
            else:
                found[(last_source, row["key"])] = row["value"]
        session.info[RIDDEN_ROWS] = ridden
    return found


async def _last_sequences(
    session: AsyncSession, consumer: str, by_source: dict[str, list[str]]
) -> dict[StreamKey, int]:
    found: dict[StreamKey, int] = {}
    postgres = session.bind.dialect.name == "postgresql"
    for source, stream_ids in by_source.items():
        # One source per query: the primary key's index answers it. On PostgreSQL the streams are one array
        # parameter (a statement compiled once); an IN list of up to 2,000 binds was compiled on every poll.
        for start in range(0, len(stream_ids), len(stream_ids) if postgres else 1000):
            chunk = stream_ids if postgres else stream_ids[start : start + 1000]
            among = (
                consumed_streams.c.stream_id == any_(_STREAM_IDS)
                if postgres
                else consumed_streams.c.stream_id.in_(chunk)
            )
            rows = await session.execute(
                select(consumed_streams.c.stream_id, consumed_streams.c.last_sequence)
                .where(consumed_streams.c.consumer == consumer, consumed_streams.c.source == source, among)
                .with_for_update(),
                {"stream_ids": chunk} if postgres else {},
            )
            found.update({(source, r.stream_id): r.last_sequence for r in rows})
    return found


_STREAM_IDS = bindparam("stream_ids", type_=ARRAY(String))

#: `session.info` key of the rows a batch handler's `RidingLock` answered in this poll's transaction (key → value).
RIDDEN_ROWS = "pmo_ridden_rows"


class RidingLock:
    """A batch handler's first statement, a lock of rows of its own (reporting: its read models' rows), sent by the
    subscription in the poll's streams' lock statement instead of as a round trip of its own when the handler
    starts (PostgreSQL through asyncpg).

    `sql` is a `SELECT key, value … FOR UPDATE` (a text and an integer column, in that order, named so) with its
    parameters numbered from $1 (`args`). It becomes the statement's second CTE: the streams' rows are locked
    first, then these (the UNION's branches are run in order), as when the handler took them after
    `last_sequences`. The statement's snapshot is taken after the offsets' lock was granted (its own statement,
    a5d06b7), so it sees every stream another replica's poll inserted before it. What the rows answered is left in
    `session.info[RIDDEN_ROWS]` for the handler, which takes the locks itself when they are not there (SQLite, a
    poll applied one by one, a poll with no event)."""

    __slots__ = ("args", "sql")

    def __init__(self, sql: str, *args: Any) -> None:
        self.sql, self.args = sql, list(args)

    def with_streams(self) -> str:
        """The streams' lock (`last_sequences`'s: $1 consumer, $2 source, $3 stream ids) and this one."""
        return _with_streams(self.sql)

    def with_progress(self) -> str:
        """The offsets' and the streams' lock (`lock_progress`'s `_PROGRESS_LOCK_SQL`: $1 consumer, $2 topics,
        $3 partitions, $4 source, $5 stream ids) and this one, after them."""
        return _with_progress(self.sql)


@functools.cache
def _with_streams(sql: str) -> str:
    return f"""WITH s AS MATERIALIZED (
    SELECT stream_id, last_sequence FROM {consumed_streams.name}
    WHERE consumer = $1 AND source = $2 AND stream_id = ANY($3::text[]) FOR UPDATE
), r AS MATERIALIZED (
{_renumbered(sql, 3)}
)
SELECT false AS part, stream_id AS key, last_sequence::bigint AS value FROM s
UNION ALL
SELECT true, r.key::text, r.value::bigint FROM r"""


async def lock_progress(
    session: AsyncSession,
    consumer: str,
    tps: list[TopicPartition],
    epoch: str,
    keys: Iterable[StreamKey],
    *,
    riding: RidingLock | None = None,
) -> tuple[dict[TopicPartition, int], dict[StreamKey, int]]:
    """`lock_offsets` then `last_sequences` (PostgreSQL through asyncpg, at least one stream): the offsets' lock,
    the first source's streams' lock and, when that is the poll's only source, `riding`'s lock in ONE statement
    (`_PROGRESS_LOCK_SQL`), one round trip fewer per poll. `keys` are every stream of the poll, those of records
    before a stored offset too (a superset: the offsets are not known before the statement).

    The locks are taken in the same order as by the separate statements (offsets, streams by source, the
    handler's rows). The one statement reads the streams under the snapshot taken before it waited on the
    offsets' lock (why a5d06b7's merge was taken back: a poll that waited for another replica's poll of the same
    partition missed the stream rows that poll inserted). So the statement also reads each offset row as its
    snapshot sees it: a row whose locked version is not the one the snapshot saw (another poll of the partition
    committed after the snapshot was taken) or a partition with no row yet (its first poll: nothing to wait on
    or compare) makes the streams be read again by a statement of their own, under a snapshot taken after the
    offsets' lock was granted, as before. Any other source's streams are read by their own statements after it
    (`last_sequences`, the riding lock with the last)."""
    by_source: dict[str, list[str]] = {}
    for source, stream_id in sorted(set(keys)):
        by_source.setdefault(source, []).append(stream_id)
    (first_source, first_ids), *rest = by_source.items()
    alone = not rest and riding is not None
    statement = riding.with_progress() if alone and riding is not None else _PROGRESS_LOCK_SQL
    rows = await pgdirect.fetch(
        session,
        _one_stream(statement, 5) if len(first_ids) == 1 else statement,
        consumer,
        [tp.topic for tp in tps],
        [tp.partition for tp in tps],
        first_source,
        first_ids[0] if len(first_ids) == 1 else first_ids,
        *(riding.args if alone and riding is not None else ()),
    )
    locked: dict[tuple[str, int], tuple[int, str, str]] = {}
    seen: dict[tuple[str, int], str] = {}
    found: dict[StreamKey, int] = {}
    ridden: dict[str, int] = {}
    for row in rows:
        part = row["part"]
        if part == 0:
            locked[(row["key"], row["n"])] = (row["value"], row["epoch"], row["version"])
        elif part == 1:
            seen[(row["key"], row["n"])] = row["version"]
        elif part == 2:
            found[(first_source, row["key"])] = row["value"]
        else:
            ridden[row["key"]] = row["value"]
    starts = {
        TopicPartition(topic, partition): offset
        for (topic, partition), (offset, row_epoch, _) in locked.items()
        if row_epoch == epoch
    }
    fresh = all(
        (tp.topic, tp.partition) in locked and locked[(tp.topic, tp.partition)][2] == seen.get((tp.topic, tp.partition))
        for tp in tps
    )
    if not fresh:  # read again, after the offsets' lock (the rows found are locked already)
        one = len(first_ids) == 1
        statement = _one_stream(_STREAMS_LOCK_SQL, 3) if one else _STREAMS_LOCK_SQL
        rows = await pgdirect.fetch(session, statement, consumer, first_source, first_ids[0] if one else first_ids)
        found = {(first_source, row["stream_id"]): row["last_sequence"] for row in rows}
    if alone:
        session.info[RIDDEN_ROWS] = ridden
    elif rest:
        found.update(await last_sequences(session, consumer, [(s, i) for s, ids in rest for i in ids], riding=riding))
    return starts, found


#: PostgreSQL: the poll's offset rows locked (in topic, partition order) and as the statement's snapshot sees them
#: (part 1: their xmin, to tell whether another poll committed between the snapshot and the lock), then the
#: source's streams' rows locked (`lock_progress`). $1 consumer, $2 topics, $3 partitions (pairs), $4 source,
#: $5 stream ids. The UNION's branches run in order: offsets, then streams (then a riding lock's rows).
_PROGRESS_LOCK_CTES = f"""WITH o AS MATERIALIZED (
    SELECT topic, partition, next_offset, broker_epoch, xmin::text AS version FROM {consumer_offsets.name}
    WHERE consumer = $1 AND (topic, partition) IN (SELECT t, p FROM unnest($2::text[], $3::integer[]) AS u(t, p))
    ORDER BY topic, partition FOR UPDATE
), seen AS MATERIALIZED (
    SELECT topic, partition, xmin::text AS version FROM {consumer_offsets.name}
    WHERE consumer = $1 AND (topic, partition) IN (SELECT t, p FROM unnest($2::text[], $3::integer[]) AS u(t, p))
), s AS MATERIALIZED (
    SELECT stream_id, last_sequence FROM {consumed_streams.name}
    WHERE consumer = $1 AND source = $4 AND stream_id = ANY($5::text[]) FOR UPDATE
)"""
_PROGRESS_LOCK_BRANCHES = """
SELECT 0 AS part, topic::text AS key, partition AS n, next_offset::bigint AS value, broker_epoch::text AS epoch,
       version FROM o
UNION ALL
SELECT 1, topic::text, partition, 0::bigint, NULL::text, version FROM seen
UNION ALL
SELECT 2, stream_id::text, 0, last_sequence::bigint, NULL::text, NULL::text FROM s"""
_PROGRESS_LOCK_SQL = _PROGRESS_LOCK_CTES + _PROGRESS_LOCK_BRANCHES
#: `lock_progress`'s streams read again by a statement of their own: $1 consumer, $2 source, $3 stream ids.
_STREAMS_LOCK_SQL = f"""SELECT stream_id, last_sequence FROM {consumed_streams.name}
WHERE consumer = $1 AND source = $2 AND stream_id = ANY($3::text[]) FOR UPDATE"""


@functools.cache
def _one_stream(sql: str, number: int) -> str:
    """A streams' lock statement (`stream_id = ANY(${number}::text[])`) for one stream, named by a text parameter
    in the array's place: a poll of one stream (one event per poll at 100 commands/s) gets a statement PostgreSQL
    keeps a generic plan of. With the array, estimated at 10 streams, it judged the generic plan dearer than
    planning afresh on a `pmo_consumed_streams` of realistic size, and planned every poll's lock anew."""
    array = f"stream_id = ANY(${number}::text[])"
    assert sql.count(array) == 1, sql
    return sql.replace(array, f"stream_id = ${number}::text")


@functools.cache
def _with_progress(sql: str) -> str:
    return f"""{_PROGRESS_LOCK_CTES}, r AS MATERIALIZED (
{_renumbered(sql, 5)}
){_PROGRESS_LOCK_BRANCHES}
UNION ALL
SELECT 3, r.key::text, 0, r.value::bigint, NULL::text, NULL::text FROM r"""


async def save_sequences(
    session: AsyncSession, consumer: str, changed: dict[StreamKey, int], existing: dict[StreamKey, int]
) -> None:
    new_rows = [
        {"consumer": consumer, "source": s, "stream_id": i, "last_sequence": seq}
        for (s, i), seq in changed.items()
        if (s, i) not in existing
    ]
    if new_rows:
        await session.execute(consumed_streams.insert(), new_rows)
    moved = [
        {"b_source": s, "b_stream_id": i, "b_last_sequence": seq}
        for (s, i), seq in changed.items()
        if (s, i) in existing
    ]
    if moved:  # one batched statement for the whole poll
        await session.execute(
            update(consumed_streams)
            .where(
                consumed_streams.c.consumer == consumer,
                consumed_streams.c.source == bindparam("b_source"),
                consumed_streams.c.stream_id == bindparam("b_stream_id"),
            )
            .values(last_sequence=bindparam("b_last_sequence")),
            moved,
        )


async def dead_letter(
    session: AsyncSession,
    consumer: str,
    topic: str,
    tp: TopicPartition,
    record: ConsumerRecord[Any, Any],
    error: str,
    reason: str,
    *,
    first_offset: int | None = None,
) -> None:
    """The record, untouched, goes to the dead-letter `topic` via the outbox, with why and where from. A stand-in
    for the unreadable offsets `first_offset` to its own (one batch) names both: `pmo_dlq_offset` the first,
    `pmo_dlq_last_offset` the last."""
    headers = {k: bytes(v).decode(errors="replace") for k, v in (record.headers or ()) if v is not None}
    headers.update(
        {
            "pmo_dlq_reason": reason,
            "pmo_dlq_error": error[:2000],
            "pmo_dlq_consumer": consumer,
            "pmo_dlq_topic": tp.topic,
            "pmo_dlq_partition": str(tp.partition),
            "pmo_dlq_offset": str(record.offset if first_offset is None else first_offset),
        }
    )
    if first_offset is not None:
        headers["pmo_dlq_last_offset"] = str(record.offset)
    # A hostile key must not fail the batch's transaction: no NUL (PostgreSQL text), at most the column's size.
    key = bytes(record.key).decode(errors="replace").replace("\x00", "\\0") if record.key is not None else None
    await session.execute(
        outbox.insert().values(
            topic=topic,
            key=key[:200] if key else None,
            headers=dumps(headers).decode(),
            value=record.value or b"",
            created_at=datetime.now(UTC),
        )
    )


async def stored_offsets(session: AsyncSession, consumer: str) -> dict[tuple[str, int], tuple[int, str, str | None]]:
    """(topic, partition) → (next offset, broker epoch it was read under, the poll that wrote it)."""
    rows = (await session.execute(select(consumer_offsets).where(consumer_offsets.c.consumer == consumer))).mappings()
    return {(r["topic"], r["partition"]): (r["next_offset"], r["broker_epoch"], r["poll_id"]) for r in rows}


async def lock_offsets(
    session: AsyncSession, consumer: str, tps: list[TopicPartition], epoch: str
) -> dict[TopicPartition, int]:
    """Lock this consumer's offset rows so a second replica cannot apply the same records."""
    rows = (
        await session.execute(
            select(consumer_offsets)
            .where(
                consumer_offsets.c.consumer == consumer,
                or_(
                    *[
                        and_(consumer_offsets.c.topic == tp.topic, consumer_offsets.c.partition == tp.partition)
                        for tp in tps
                    ]
                ),
            )
            .with_for_update()
        )
    ).mappings()
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows if r["broker_epoch"] == epoch}


async def write_offsets(
    session: AsyncSession,
    consumer: str,
    batch: dict[TopicPartition, list[Any]],
    starts: dict[TopicPartition, int],
    epoch: str,
    *,
    sequences: tuple[dict[StreamKey, int], dict[StreamKey, int]] | None = None,
    asynchronous_commit: bool = False,
    poll_id: str | None = None,
) -> None:
    """Each partition's next offset, in the transaction that applied its records; with `sequences` (each stream the
    poll moved → its new last sequence, and the last sequences read before it) those streams' too. On PostgreSQL
    all of it is one statement, so a poll's bookkeeping is one round trip; elsewhere one per table and partition.
    `poll_id`: the poll's own id, written with its offsets (`Subscription._unconfirmed_poll`).

    `asynchronous_commit` (PostgreSQL): the transaction commits without waiting for its WAL flush
    (`synchronous_commit` off until it ends; the setting in effect at the commit is the one that counts), set by
    the same statement."""
    progress = _progress(batch, starts)
    if pgdirect.on_asyncpg(session):
        # through pgdirect: the session's connection asked once per transaction, and a lost one raised as
        # SQLAlchemy's invalidated DBAPIError (the subscription retries from the stored offsets)
        changed = sequences[0] if sequences is not None else {}
        written = await pgdirect.fetch(
            session,
            _PROGRESS_ASYNC_COMMIT_SQL if asynchronous_commit else _PROGRESS_SQL,
            *_progress_args(consumer, epoch, progress, changed, poll_id),
        )
        await _after_progress(session, consumer, epoch, progress, written, asynchronous_commit, poll_id)
        return
    if asynchronous_commit:  # PostgreSQL on another driver
        await session.execute(text("SET LOCAL synchronous_commit = off"))
    if sequences is not None:
        await save_sequences(session, consumer, *sequences)
    for tp, offset in progress:
        values = {"next_offset": offset, "broker_epoch": epoch, "poll_id": poll_id}
        result = await session.execute(
            update(consumer_offsets)
            .where(
                consumer_offsets.c.consumer == consumer,
                consumer_offsets.c.topic == tp.topic,
                consumer_offsets.c.partition == tp.partition,
            )
            .values(**values)
        )
        if getattr(result, "rowcount", 0) == 0:
            await session.execute(
                consumer_offsets.insert().values(consumer=consumer, topic=tp.topic, partition=tp.partition, **values)
            )


def _progress(
    batch: dict[TopicPartition, list[Any]], starts: dict[TopicPartition, int]
) -> list[tuple[TopicPartition, int]]:
    return [(tp, max(records[-1].offset + 1, starts.get(tp, 0))) for tp, records in batch.items()]


def _progress_args(
    consumer: str,
    epoch: str,
    progress: list[tuple[TopicPartition, int]],
    changed: dict[StreamKey, int],
    poll_id: str | None,
) -> list[Any]:
    """`_PROGRESS_SQL`'s nine parameters, in order."""
    return [
        consumer,
        epoch,
        [tp.topic for tp, _ in progress],
        [tp.partition for tp, _ in progress],
        [offset for _, offset in progress],
        [source for source, _ in changed],
        [stream_id for _, stream_id in changed],
        list(changed.values()),
        poll_id,
    ]


async def _after_progress(
    session: AsyncSession,
    consumer: str,
    epoch: str,
    progress: list[tuple[TopicPartition, int]],
    written: Sequence[Any],
    asynchronous_commit: bool,
    poll_id: str | None,
) -> None:
    """After the bookkeeping statement (`written`: the offset rows it updated): a partition's first offset row
    inserted, and the WAL flush wait turned off when no row of the statement did it."""
    found = {(row["topic"], row["partition"]) for row in written}
    missing = [(tp, offset) for tp, offset in progress if (tp.topic, tp.partition) not in found]
    if asynchronous_commit and not written:  # no offset row yet: the statement's rows set nothing
        await pgdirect.fetch(session, "SET LOCAL synchronous_commit = off")
    if missing:  # a partition's first poll
        rows = [
            {"consumer": consumer, "topic": tp.topic, "partition": tp.partition, "next_offset": offset}
            for tp, offset in missing
        ]
        await session.execute(
            consumer_offsets.insert(), [{**row, "broker_epoch": epoch, "poll_id": poll_id} for row in rows]
        )


#: `session.info` key of the poll's `CarriedProgress` while its batch handler runs (PostgreSQL through asyncpg).
CARRIED_PROGRESS = "pmo_carried_progress"


class CarriedProgress:
    """A poll's bookkeeping (its streams' last sequences and its partitions' offsets, `write_offsets`) offered to
    the batch handler, to go in the handler's own last statement instead of a round trip of its own after it.

    Made by the subscription once the poll's new last sequences are known (before the handler runs) and kept in
    `session.info[CARRIED_PROGRESS]`. A handler that writes with one statement of data-modifying CTEs puts
    `ctes(first)` among its CTEs, `args` after its own parameters, reads `RETURNED` from the statement's answer
    and hands the answered rows to `carried`. The rows it writes are those `write_offsets` writes, in the same
    transaction: the offset rows were locked by `lock_offsets` and the known streams' rows by `last_sequences`
    before the handler ran, so the statement takes no lock the poll did not hold already (a new stream's row is
    inserted as `write_offsets` inserts it). When the handler does not carry it, or its transaction fails, the
    subscription writes it itself (or the poll is applied again, by a new transaction)."""

    __slots__ = ("_args", "_asynchronous_commit", "_consumer", "_epoch", "_poll_id", "_progress", "written")

    #: What the carrying statement answers: one row per offset row its CTE `progress` updated.
    RETURNED = "SELECT topic, partition FROM progress"

    def __init__(
        self,
        consumer: str,
        epoch: str,
        batch: dict[TopicPartition, list[Any]],
        starts: dict[TopicPartition, int],
        changed: dict[StreamKey, int],
        *,
        asynchronous_commit: bool,
        poll_id: str | None = None,
    ) -> None:
        self._consumer, self._epoch, self._poll_id = consumer, epoch, poll_id
        self._progress = _progress(batch, starts)
        self._args = _progress_args(consumer, epoch, self._progress, changed, poll_id)
        self._asynchronous_commit = asynchronous_commit
        #: The rows the carrying statement answered (None: not carried).
        self.written: Sequence[Any] | None = None

    @property
    def args(self) -> list[Any]:
        return self._args

    def ctes(self, first: int) -> str:
        """The bookkeeping as two CTEs (`streams`, `progress`), its parameters numbered from `first`."""
        return _renumbered(_PROGRESS_CTES_ASYNC_COMMIT if self._asynchronous_commit else _PROGRESS_CTES, first - 1)

    def carried(self, rows: Sequence[Any]) -> None:
        self.written = rows

    async def finish(self, session: AsyncSession) -> None:
        """After a carrying statement: what `write_offsets` does after its own."""
        assert self.written is not None
        await _after_progress(
            session, self._consumer, self._epoch, self._progress, self.written, self._asynchronous_commit, self._poll_id
        )


@functools.cache
def _renumbered(statement: str, by: int) -> str:
    return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + by}", statement)


#: PostgreSQL: the poll's streams' last sequences (new rows inserted, known ones moved: the rows read by
#: `last_sequences` are locked by this transaction) and its partitions' offsets, in one statement. $1 consumer,
#: $2 epoch, $3-$5 topics, partitions, next offsets; $6-$8 sources, stream ids, last sequences; $9 the poll's id.
#: Answers the offset rows it updated (a partition without one yet gets it inserted after).
_PROGRESS_SQL = f"""
WITH streams AS (
    INSERT INTO {consumed_streams.name} (consumer, source, stream_id, last_sequence)
    SELECT $1, s.source, s.stream_id, s.last_sequence
    FROM unnest($6::text[], $7::text[], $8::integer[]) AS s(source, stream_id, last_sequence)
    ON CONFLICT (consumer, source, stream_id) DO UPDATE SET last_sequence = excluded.last_sequence
)
UPDATE {consumer_offsets.name} AS o SET next_offset = p.next_offset, broker_epoch = $2, poll_id = $9::text
FROM unnest($3::text[], $4::integer[], $5::bigint[]) AS p(topic, partition, next_offset)
WHERE o.consumer = $1 AND o.topic = p.topic AND o.partition = p.partition
RETURNING o.topic, o.partition
"""
#: The same, setting `synchronous_commit` off until the transaction ends (once per offset row it answers).
_PROGRESS_ASYNC_COMMIT_SQL = _PROGRESS_SQL.replace(
    "RETURNING o.topic, o.partition", "RETURNING o.topic, o.partition, set_config('synchronous_commit', 'off', true)"
)
assert _PROGRESS_ASYNC_COMMIT_SQL != _PROGRESS_SQL
#: `_PROGRESS_SQL` as CTEs of another statement (`CarriedProgress.ctes`).
_PROGRESS_CTES = (
    _PROGRESS_SQL.strip()
    .removeprefix("WITH ")
    .replace("\nUPDATE ", "\n, progress AS (\nUPDATE ", 1)
    .removesuffix("RETURNING o.topic, o.partition")
    + "RETURNING o.topic, o.partition\n)"
)
_PROGRESS_CTES_ASYNC_COMMIT = _PROGRESS_CTES.replace(
    "RETURNING o.topic, o.partition", "RETURNING o.topic, o.partition, set_config('synchronous_commit', 'off', true)"
)
assert _PROGRESS_CTES.count("progress AS (") == 1 and _PROGRESS_CTES_ASYNC_COMMIT != _PROGRESS_CTES

"""Parked streams: a record the broker refuses for good holds its own stream only, until an operator acts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from pmo_events.runtime.schema import outbox, parked_streams

#: What no retry can cure: the record itself is refused (too large, corrupt, or for a topic that cannot exist).
REFUSED_FOR_GOOD = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    CorruptRecordException,
    InvalidTopicError,
)


@dataclass(frozen=True)
class ParkedStream:
    topic: str
    key: str
    outbox_id: int
    error: str
    parked_at: datetime


def stream_key(key: str | None) -> str:
    """A record without a key (a dead letter of a keyless record) is parked under the empty key."""
    return key or ""


def not_parked() -> ColumnElement[bool]:
    """For the relay's query: the outbox row's stream is not held."""
    held = select(parked_streams.c.key).where(
        parked_streams.c.topic == outbox.c.topic,
        parked_streams.c.key == func.coalesce(outbox.c.key, ""),
        parked_streams.c.released_at.is_(None),
    )
    return ~held.exists()


async def park(session: AsyncSession, *, topic: str, key: str | None, outbox_id: int, error: str) -> None:
    await session.execute(
        parked_streams.insert().values(
            topic=topic, key=stream_key(key), outbox_id=outbox_id, error=error[:2000], parked_at=datetime.now(UTC)
        )
    )


async def parked(session: AsyncSession, *, limit: int = 100) -> list[ParkedStream]:
    """The streams held now, oldest first."""
    rows = await session.execute(
        select(parked_streams)
        .where(parked_streams.c.released_at.is_(None))
        .order_by(parked_streams.c.parked_at)
        .limit(limit)
    )
    return [ParkedStream(r.topic, r.key, r.outbox_id, r.error, r.parked_at) for r in rows]


async def count_parked(session: AsyncSession) -> int:
    query = select(func.count()).select_from(parked_streams).where(parked_streams.c.released_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def retry(session: AsyncSession, *, topic: str, key: str) -> bool:
    """Let the relay try the refused record again (e.g. after the broker's limit was raised)."""
    result = await session.execute(parked_streams.delete().where(_active(topic, key)))
    return bool(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, *, topic: str, key: str, by: str, reason: str) -> bool:
    """Give up on the refused record (it stays in the event store, and here with who, when and why) and let
    the rest of its stream flow. Consumers that track the stream's sequence will wait at the gap."""
    active = (await session.execute(select(parked_streams.c.outbox_id).where(_active(topic, key)))).scalar()
    if active is None:
        return False
    now = datetime.now(UTC)
    await session.execute(
        update(parked_streams).where(_active(topic, key)).values(released_at=now, released_by=by, release_reason=reason)
    )
    await session.execute(outbox.delete().where(outbox.c.id == active))  # given up: out of the outbox, as if sent
    return True


def _active(topic: str, key: str) -> ColumnElement[bool]:
    return and_(parked_streams.c.topic == topic, parked_streams.c.key == key, parked_streams.c.released_at.is_(None))

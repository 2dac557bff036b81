"""Read-model documents in the database: load on demand for live folds, bulk load and write for reports and rebuilds."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import dumps, loads
from pmo_events.runtime.database import asyncpg_connection
from pmo_reporting.adapters.db.tables import documents
from pmo_reporting.projections.documents import Body, InMemoryDocuments, NotLoaded

_CHUNK = 1000
_COLUMNS = ("projection", "generation", "kind", "key", "scope", "body")


class SessionDocuments:
    """The live fold's documents: only what was loaded is visible; a miss raises `NotLoaded`."""

    def __init__(
        self, projection: str, generation: int, stored: dict[tuple[str, str], bytes | None] | None = None
    ) -> None:
        self.projection = projection
        self.generation = generation
        #: What this transaction knows of the table (shared by the events of one subscription batch).
        self._stored: dict[tuple[str, str], bytes | None] = {} if stored is None else stored
        self._pending: dict[tuple[str, str], tuple[str, Body]] = {}

    def get(self, kind: str, key: str) -> Body | None:
        if (kind, key) in self._pending:
            return self._pending[(kind, key)][1]
        if (kind, key) not in self._stored:
            raise NotLoaded(kind, key)
        stored = self._stored[(kind, key)]
        # A fresh copy each time: a fold attempt that stops on a miss must leave nothing behind.
        return loads(stored) if stored is not None else None

    def put(self, kind: str, key: str, body: Body, *, scope: str = "") -> None:
        self._pending[(kind, key)] = (scope, body)

    def discard_pending(self) -> None:
        self._pending.clear()

    async def load(self, session: AsyncSession, kind: str, key: str) -> None:
        row = (
            await session.execute(
                select(documents.c.body).where(*self._this(), documents.c.kind == kind, documents.c.key == key)
            )
        ).first()
        self._stored[(kind, key)] = row.body.encode() if row else None

    async def flush(self, session: AsyncSession) -> None:
        for (kind, key), (scope, body) in self._pending.items():
            text = dumps(body).decode()
            if self._stored.get((kind, key)) is None:
                await session.execute(
                    documents.insert().values(
                        projection=self.projection,
                        generation=self.generation,
                        kind=kind,
                        key=key,
                        scope=scope,
                        body=text,
                    )
                )
            else:
                await session.execute(
                    update(documents)
                    .where(*self._this(), documents.c.kind == kind, documents.c.key == key)
                    .values(scope=scope, body=text)
                )
            self._stored[(kind, key)] = text.encode()
        self._pending.clear()

    def _this(self) -> tuple:
        return (documents.c.projection == self.projection, documents.c.generation == self.generation)


async def load_documents(
    session: AsyncSession, projection: str, generation: int, wanted: dict[str, str | None]
) -> InMemoryDocuments:
    """The documents of the given kinds (each limited to one scope when given) into memory."""
    docs = InMemoryDocuments()
    for kind, scope in wanted.items():
        # One query per kind, so that each one walks the (projection, generation, kind, scope) index.
        query = select(documents.c.key, documents.c.scope, documents.c.body).where(
            documents.c.projection == projection, documents.c.generation == generation, documents.c.kind == kind
        )
        if scope is not None:
            query = query.where(documents.c.scope == scope)
        for row in await session.execute(query):
            docs.put(kind, row.key, loads(row.body), scope=row.scope)
    return docs


async def write_documents(
    session: AsyncSession, projection: str, generation: int, rows: Iterable[tuple[str, str, str, Body]]
) -> int:
    """A whole generation at once: COPY on PostgreSQL, batched inserts elsewhere."""
    records = ((projection, generation, kind, key, scope, dumps(body).decode()) for kind, key, scope, body in rows)
    connection = await asyncpg_connection(session)
    if connection is not None:
        status = await connection.copy_records_to_table(documents.name, records=records, columns=_COLUMNS)
        return int(status.rsplit(" ", 1)[-1])
    written = 0
    while batch := [dict(zip(_COLUMNS, record, strict=True)) for record in itertools.islice(records, _CHUNK)]:
        await session.execute(documents.insert(), batch)
        written += len(batch)
    return written


async def drop_generation(session: AsyncSession, projection: str, generation: int) -> None:
    await session.execute(
        delete(documents).where(documents.c.projection == projection, documents.c.generation == generation)
    )


async def drop_other_generations(session: AsyncSession, projection: str, keep: int) -> None:
    """Once a rebuilt generation answers, the one it replaced (and any abandoned attempt) goes."""
    await session.execute(delete(documents).where(documents.c.projection == projection, documents.c.generation != keep))

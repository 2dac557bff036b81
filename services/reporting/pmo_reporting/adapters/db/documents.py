"""Read-model documents in the database: load on demand for live folds, bulk load and write for reports and rebuilds."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import dumps, loads
from pmo_events.runtime.database import asyncpg_connection
from pmo_reporting.adapters.db.tables import documents
from pmo_reporting.projections.documents import Body, InMemoryDocuments, NotLoaded

_CHUNK = 1000
_COLUMNS = ("projection", "generation", "kind", "key", "scope", "body")
_UPDATE_FROM_ARRAYS = f"""
UPDATE {documents.name} AS d SET scope = u.scope, body = u.body
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS u(kind, key, scope, body)
WHERE d.projection = $1 AND d.generation = $2 AND d.kind = u.kind AND d.key = u.key
"""
#: The documents of one kind among many keys: one array parameter (an IN list of a thousand binds cost
#: SQLAlchemy more to compile, on every poll, than the database took to answer it).
_SELECT_ANY = f"""
SELECT key, body FROM {documents.name}
WHERE projection = $1 AND generation = $2 AND kind = $3 AND key = ANY($4::text[])
"""
#: Up to this many keys `load` names each in its own parameter (`_select_listed`).
_LISTED_KEYS = 8


def _select_listed(count: int) -> str:
    """`_SELECT_ANY` for `count` keys named by parameters: the same plan (the primary key's index), which
    PostgreSQL keeps as a generic plan from the sixth execution on. The planner estimates `= ANY($4)` of a
    parameter array at 10 elements (a custom plan sees its length), so on a table of realistic size it judged the
    generic plan dearer than planning afresh and planned every poll's read anew."""
    keys = ", ".join(f"${n}::text" for n in range(4, 4 + count))
    return _SELECT_ANY.replace("= ANY($4::text[])", f"IN ({keys})")


#: `_select_listed(n)` by `n` (a statement per count, each prepared once per connection).
_SELECT_LISTED = {count: _select_listed(count) for count in range(1, _LISTED_KEYS + 1)}


class SessionDocuments:
    """The live fold's documents: only what was loaded is visible; a miss raises `NotLoaded`.

    One fold attempt's writes are pending until `accept` (a miss discards them and the event is folded
    again once the document is loaded); accepted writes of a whole batch go out together in `flush`."""

    def __init__(
        self, projection: str, generation: int, stored: dict[tuple[str, str], bytes | None] | None = None
    ) -> None:
        self.projection = projection
        self.generation = generation
        #: What the table holds, as far as this transaction knows (shared by the events of one batch).
        self._stored: dict[tuple[str, str], bytes | None] = {} if stored is None else stored
        self._pending: dict[tuple[str, str], tuple[str, Body]] = {}
        #: Accepted and not yet written: (scope, encoded body).
        self._accepted: dict[tuple[str, str], tuple[str, bytes]] = {}
        #: Keys the batch's events name: a miss loads every one of them of its kind at once.
        self.candidates: set[str] = set()
        self._prefetched: set[str] = set()

    def get(self, kind: str, key: str) -> Body | None:
        if (kind, key) in self._pending:
            return self._pending[(kind, key)][1]
        # A fresh copy each time: a fold attempt that stops on a miss must leave nothing behind.
        if (kind, key) in self._accepted:
            return loads(self._accepted[(kind, key)][1])
        if (kind, key) not in self._stored:
            raise NotLoaded(kind, key)
        stored = self._stored[(kind, key)]
        return loads(stored) if stored is not None else None

    def put(self, kind: str, key: str, body: Body, *, scope: str = "") -> None:
        self._pending[(kind, key)] = (scope, body)

    def discard_pending(self) -> None:
        self._pending.clear()

    def accept(self) -> None:
        """The fold attempt succeeded: its writes join the batch's."""
        for doc, (scope, body) in self._pending.items():
            self._accepted[doc] = (scope, dumps(body))
        self._pending.clear()

    async def load(self, session: AsyncSession, kind: str, key: str) -> None:
        """The missing document; on a kind's first miss, with it every candidate key of that kind (one query)."""
        wanted = [key]
        if kind not in self._prefetched:
            self._prefetched.add(kind)
            wanted += [k for k in self.candidates if k != key and (kind, k) not in self._stored]
        connection = await asyncpg_connection(session)
        for start in range(0, len(wanted), _CHUNK if connection is None else len(wanted)):
            chunk = wanted[start : start + _CHUNK] if connection is None else wanted
            if connection is not None:
                listed = _SELECT_LISTED.get(len(chunk))
                if listed is not None:
                    rows = await connection.fetch(listed, self.projection, self.generation, kind, *chunk)
                else:
                    rows = await connection.fetch(_SELECT_ANY, self.projection, self.generation, kind, chunk)
            else:
                rows = await session.execute(
                    select(documents.c.key, documents.c.body).where(
                        *self._this(), documents.c.kind == kind, documents.c.key.in_(chunk)
                    )
                )
            found = {row[0]: row[1].encode() for row in rows}
            for k in chunk:
                if (kind, k) not in self._accepted:
                    self._stored[(kind, k)] = found.get(k)

    def take_writes(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """Every accepted document, as (rows to insert, rows to update), taken as written: what `flush` sends,
        for a caller that sends it in a statement of its own (`adapters.db.poll_write`)."""
        self.accept()
        inserts: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        for (kind, key), (scope, body) in self._accepted.items():
            text = body.decode()
            if self._stored.get((kind, key)) is None:
                inserts.append({"projection": self.projection, "generation": self.generation, "kind": kind,
                                "key": key, "scope": scope, "body": text})  # fmt: skip
            else:
                updates.append({"b_kind": kind, "b_key": key, "b_scope": scope, "b_body": text})
            self._stored[(kind, key)] = body
        self._accepted.clear()
        return inserts, updates

    async def flush(self, session: AsyncSession) -> None:
        """Write every accepted document: one batched INSERT for new ones, one batched UPDATE for the rest."""
        inserts, updates = self.take_writes()
        connection = await asyncpg_connection(session)
        if connection is not None:
            await self._write_postgres(connection, inserts, updates)
            return
        if inserts:
            await session.execute(documents.insert(), inserts)
        if updates:
            await session.execute(
                update(documents)
                .where(*self._this(), documents.c.kind == bindparam("b_kind"), documents.c.key == bindparam("b_key"))
                .values(scope=bindparam("b_scope"), body=bindparam("b_body")),
                updates,
            )

    async def _write_postgres(
        self, connection: Any, inserts: list[dict[str, object]], updates: list[dict[str, object]]
    ) -> None:
        """COPY for the new documents, one UPDATE from arrays for the changed ones."""
        if inserts:
            await connection.copy_records_to_table(
                documents.name, records=[tuple(row[c] for c in _COLUMNS) for row in inserts], columns=_COLUMNS
            )
        if updates:
            await connection.execute(
                _UPDATE_FROM_ARRAYS,
                self.projection,
                self.generation,
                [u["b_kind"] for u in updates],
                [u["b_key"] for u in updates],
                [u["b_scope"] for u in updates],
                [u["b_body"] for u in updates],
            )

    def _this(self) -> tuple:
        return (documents.c.projection == self.projection, documents.c.generation == self.generation)


#: Rows read at a time by `load_documents`: each page's text is let go once its documents are decoded.
PAGE = 500

#: What to keep of each document of a kind, applied as it is decoded (`load_documents`).
Slim = Mapping[str, Callable[[Body], Body]]


async def load_documents(
    session: AsyncSession,
    projection: str,
    generation: int,
    wanted: dict[str, str | None],
    slim: Slim | None = None,
) -> InMemoryDocuments:
    """The documents of the given kinds (each limited to one scope when given) into memory, read a page of
    rows at a time; a kind in `slim` is held as what its function keeps of each document, as it is decoded."""
    docs = InMemoryDocuments()
    slim = slim or {}
    for kind, scope in wanted.items():
        # One query per kind, so that each one walks the (projection, generation, kind, scope) index.
        query = select(documents.c.key, documents.c.scope, documents.c.body).where(
            documents.c.projection == projection, documents.c.generation == generation, documents.c.kind == kind
        )
        if scope is not None:
            query = query.where(documents.c.scope == scope)
        cut = slim.get(kind)
        rows = await session.stream(query.execution_options(yield_per=PAGE))
        async for page in rows.partitions():
            for row in page:
                body = loads(row.body)
                docs.put(kind, row.key, cut(body) if cut else body, scope=row.scope)
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

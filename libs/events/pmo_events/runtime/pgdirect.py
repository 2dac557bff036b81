"""Statements on the command path straight through asyncpg (PostgreSQL): fixed text, so each is
prepared once per connection and then costs one round trip and no SQLAlchemy compile or result work.

A unit of work that needs no transaction (a read, then one last write) runs its statements on a
`Direct`: a pooled connection borrowed from a `Lender` without an `AsyncSession` (whose begin, commit
and close are some hundreds of µs of CPU per command through SQLAlchemy's greenlet bridge).

A batch of rows goes as one array per column and comes back out of `unnest(...)`, so the text does not
change with the number of rows. The statement runs on the session's own connection, inside its
transaction (begun here when nothing else has begun it yet); an asyncpg error is raised as the same
SQLAlchemy `DBAPIError` a session statement would raise (a unique violation is an `IntegrityError`,
a lost connection invalidates it), so callers and the HTTP problem handlers see no difference.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Enum, String, Table
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

#: For type names and value conversions only (the statements run on the session's own dialect).
DIALECT = _DIALECT = asyncpg_dialect()


class Lender:
    """Lends the engine's pooled asyncpg connections without a session or an `AsyncConnection`.

    A connection given back idle (no transaction, no statement in flight) is kept for the next
    borrower, at most `keep` of them: they stay checked out of the engine's pool, so they count in its
    size (`Database` keeps half of it here at most). A connection from before the pool was invalidated
    (a lost server) is closed instead of lent."""

    def __init__(self, engine: AsyncEngine, *, keep: int) -> None:
        self.engine = engine
        self.keep = keep
        self._free: list[Any] = []
        self._surplus: list[Any] = []
        self._trimming: asyncio.Task[None] | None = None

    async def borrow(self) -> Any:
        """A pooled connection (SQLAlchemy's `PoolProxiedConnection`) outside any transaction."""
        pool: Any = self.engine.sync_engine.pool
        while self._free:
            fairy = self._free.pop()
            record = fairy._connection_record
            if fairy.is_valid and record is not None and record.starttime > pool._invalidate_time:
                return fairy
            await greenlet_spawn(fairy.close)
        return await greenlet_spawn(pool.connect)

    def give_back(self, fairy: Any, *, clean: bool, keep: bool = True) -> None:
        """`clean`: its last statement ended (no statement in flight) and it began no transaction. Anything
        else is closed for good (`invalidate`: a cancelled statement may still be running on it).

        `keep=False` (a unit of work going on with a session): straight back to the engine's pool, where
        that session (or another unit of work's) may be waiting for a connection; kept by the lender, it would
        be idle until a unit of work ended, and units of work waiting for sessions end none (review 1 of
        session 7: racing submissions waited out the pool's 30 s). Beyond `keep`, likewise."""
        if not fairy.is_valid:
            return
        if not clean or fairy.dbapi_connection._started or fairy.driver_connection.is_in_transaction():
            fairy.invalidate()
            return
        if keep:
            self._free.append(fairy)
            if len(self._free) > self.keep:
                self._surplus.append(self._free.pop(0))
        else:
            self._surplus.append(fairy)
        if self._surplus:
            self._trim_soon()

    def _trim_soon(self) -> None:
        """`trim` on the event loop's next turn (giving a connection back to the pool awaits its reset)."""
        if self._trimming is None or self._trimming.done():
            self._trimming = asyncio.get_running_loop().create_task(self.trim())

    async def trim(self) -> None:
        """Give the connections beyond `keep` back to the engine's pool."""
        while self._surplus:
            await greenlet_spawn(self._surplus.pop().close)

    async def close(self) -> None:
        """Give every kept connection back to the engine's pool (before the engine is disposed)."""
        self._surplus.extend(self._free)
        self._free.clear()
        await self.trim()


class Direct:
    """Statements without a transaction on a connection borrowed when the first one is sent (each
    commits alone): a unit of work's reads before it writes, and its last and only write."""

    __slots__ = ("_clean", "fairy", "lender")

    def __init__(self, lender: Lender) -> None:
        self.lender = lender
        self.fairy: Any = None
        self._clean = True

    async def fetch(self, statement: str, *args: Any) -> list[Any]:
        if self.fairy is None:
            self.fairy = await self.lender.borrow()
        fairy = self.fairy
        self._clean = False
        try:
            rows = list(await fairy.driver_connection.fetch(statement, *args))
        except Exception as error:
            raise await self._translated(error, fairy, statement, args) from error
        self._clean = True
        return rows

    def give_back(self, *, keep: bool = True) -> None:
        """Back to the lender (kept for the next borrower when its last statement ended; `keep=False`: back to
        the engine's pool, see `Lender.give_back`)."""
        fairy, self.fairy = self.fairy, None
        if fairy is not None:
            self.lender.give_back(fairy, clean=self._clean, keep=keep)
        self._clean = True

    async def _translated(self, error: Exception, fairy: Any, statement: str, args: Sequence[Any]) -> BaseException:
        """As `_translated`; a lost connection invalidates the pool (and this one is not given back)."""
        engine = self.lender.engine.sync_engine
        dialect: Any = engine.dialect
        try:
            fairy.dbapi_connection._handle_exception(error)  # raises asyncpg's error as the DBAPI's class
        except Exception as dbapi_error:
            disconnected = bool(dialect.is_disconnect(dbapi_error, fairy.dbapi_connection, None))
            if disconnected:
                self.fairy = None
                await greenlet_spawn(engine.pool._invalidate, fairy, dbapi_error)
            else:
                self._clean = not fairy.driver_connection.is_in_transaction()
            return DBAPIError.instance(
                statement,
                list(args),
                dbapi_error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=disconnected,
                dialect=dialect,
            )
        return error  # pragma: no cover (_handle_exception always raises)


def on_asyncpg(session: AsyncSession | Direct) -> bool:
    """Whether this session's statements go to PostgreSQL through asyncpg (else: the SQLAlchemy path)."""
    if isinstance(session, Direct):
        return True
    bind = session.bind
    return bind is not None and bind.dialect.driver == "asyncpg"


async def fetch(session: AsyncSession | Direct, statement: str, *args: Any, begin: bool = True) -> list[Any]:
    """`statement` with positional `args` ($1, $2…) on the session's connection, in its transaction.

    `begin=False`: when the session has not begun its transaction yet, the statement runs on its own
    (autocommit, no `BEGIN` round trip). Right for a read (READ COMMITTED takes a new snapshot per
    statement anyway, and every write sent before it would have begun the transaction) and for a
    unit of work's last and only write (one statement is atomic by itself). A `Direct` has no
    transaction: only `begin=False` statements go to it."""
    if isinstance(session, Direct):
        if begin:
            raise ValueError("a Direct connection runs each statement alone: begin=False only")
        return await session.fetch(statement, *args)
    connection, fairy = await _connection_of(session)
    adapter: Any = fairy.dbapi_connection
    async with adapter._execute_mutex:  # one statement at a time on a connection, as the session keeps it
        try:
            if begin and not adapter._started:
                await adapter._start_transaction()
            return list(await adapter._connection.fetch(statement, *args))
        except Exception as error:
            raise _translated(error, connection, fairy, statement, args) from error


async def copy_rows(session: AsyncSession, table: str, names: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """`records` (values in `names` order, converted for the driver) into `table` by binary `COPY`, on the
    session's connection in its transaction (begun here if it was not)."""
    connection, fairy = await _connection_of(session)
    adapter: Any = fairy.dbapi_connection
    async with adapter._execute_mutex:
        try:
            if not adapter._started:
                await adapter._start_transaction()
            await adapter._connection.copy_records_to_table(table, records=records, columns=list(names))
        except Exception as error:
            raise _translated(error, connection, fairy, f"COPY {table}", ()) from error


_CONNECTION = "pmo_pgdirect_connection"


async def _connection_of(session: AsyncSession) -> tuple[Any, Any]:
    """The session's connection and pooled driver connection in its current transaction, asked of
    SQLAlchemy once per transaction (each ask is a trip through its greenlet bridge)."""
    transaction = session.sync_session.get_transaction()
    found = session.info.get(_CONNECTION)
    if transaction is not None and found is not None and found[0] is transaction and not found[1].invalidated:
        return found[1], found[2]
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), connection, fairy)
    return connection, fairy


def _translated(error: Exception, connection: Any, fairy: Any, statement: str, args: Sequence[Any]) -> BaseException:
    """The DBAPIError SQLAlchemy raises for `error`; a lost connection invalidates the pool, as there."""
    adapter = fairy.dbapi_connection
    try:
        adapter._handle_exception(error)  # raises asyncpg's error as the DBAPI's class, sqlstate kept
    except Exception as dbapi_error:
        dialect = connection.dialect
        disconnected = bool(dialect.is_disconnect(dbapi_error, adapter, None))
        if disconnected:
            connection.sync_engine.pool._invalidate(fairy, dbapi_error)
            connection.sync_connection.invalidate(dbapi_error)
        return DBAPIError.instance(
            statement,
            list(args),
            dbapi_error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=disconnected,
            dialect=dialect,
        )
    return error  # pragma: no cover (_handle_exception always raises)


@dataclass(frozen=True)
class ArrayColumns:
    """Columns of `table` fed as one array each: `$n::type[]` casts and the value conversions the
    column types do on the SQLAlchemy path (a timezone-aware UTC datetime, for instance)."""

    table: Table
    names: tuple[str, ...]

    @property
    def columns(self) -> list[Column[Any]]:
        return [self.table.c[name] for name in self.names]

    def casts(self, first: int) -> str:
        """`$first::t1[], $first+1::t2[], …`, one per column."""
        return ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(self.types))

    @property
    def types(self) -> list[str]:
        """Each column's type for a parameter's cast, a character column's without its length (`VARCHAR`, not
        `VARCHAR(200)`): an explicit cast to `VARCHAR(200)` cuts a longer value without a word, where the column's
        own assignment refuses it (`value too long`), as COPY and the SQLAlchemy path do. Nothing is ever cut:
        what the edge bounds fits, and anything else fails where every path fails (a command's 5xx would show a
        missing bound; a consumed event is dead-lettered, whatever the size of its poll)."""
        return [parameter_type(column) for column in self.columns]

    def arrays(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """One list per column (in `names` order) of the rows' values, converted for the driver."""
        converters = _converters(self)
        return [
            [value if convert is None else convert(value) for value in (row[name] for row in rows)]
            for name, convert in zip(self.names, converters, strict=True)
        ]

    def records(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's values as one tuple (in `names` order), converted for the driver: `COPY`'s records, the
        same as `zip(*arrays(rows))`, read with one `itemgetter` call per row and converted only where a
        column converts (a quarter of the CPU per row of a rebuild's allocations, 2026-11-30)."""
        names = self.names
        take = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        converting = [(i, convert) for i, convert in enumerate(_converters(self)) if convert is not None]
        if not converting:
            return [take(row) for row in rows]
        records = []
        for row in rows:
            values = list(take(row))
            for i, convert in converting:
                values[i] = convert(values[i])
            records.append(tuple(values))
        return records

    def scalars(self, first: int) -> list[str]:
        """`[$first::t1, $first+1::t2, …]`: one row's columns as scalar parameters."""
        return [f"${first + i}::{t}" for i, t in enumerate(self.types)]

    def row(self, row: dict[str, Any]) -> list[Any]:
        """One row's values (in `names` order), converted for the driver: the parameters of `scalars`. Cheaper
        to send than `arrays` of one row each (asyncpg checks every array and its elements in Python)."""
        return [
            value if convert is None else convert(value)
            for value, convert in zip((row[name] for name in self.names), _converters(self), strict=True)
        ]


def parameter_type(column: Column[Any]) -> str:
    """`column`'s type for a parameter's cast: a character column's without its length (`VARCHAR`), since an
    explicit cast to `VARCHAR(n)` cuts a longer value (a key looked up would match another row's; a value
    written would be stored cut); any other type as the column has it."""
    column_type = column.type
    if isinstance(column_type, String) and not isinstance(column_type, Enum) and column_type.length is not None:
        column_type = String()
    return str(column_type.compile(dialect=_DIALECT))


_CONVERTERS: dict[tuple[str, tuple[str, ...]], list[Callable[[Any], Any] | None]] = {}


def _converters(columns: ArrayColumns) -> list[Callable[[Any], Any] | None]:
    key = (columns.table.name, columns.names)
    found = _CONVERTERS.get(key)
    if found is None:
        found = _CONVERTERS[key] = [c.type._cached_bind_processor(_DIALECT) for c in columns.columns]
    return found


def quoted(names: Sequence[str]) -> str:
    """Column names for a statement's text, each quoted only where it needs it (a reserved word such as `end`)."""
    return ", ".join(_DIALECT.identifier_preparer.quote(name) for name in names)


def unnest_insert(table: Table, names: Sequence[str], *, first: int = 1, returning: str = "", where: str = "") -> str:
    """`INSERT INTO table (names) SELECT … FROM unnest($first…) WITH ORDINALITY … ORDER BY ordinality`:
    rows go in in the order given (identity values follow it). `where`: a condition without which no row goes in."""
    feed = ArrayColumns(table, tuple(names))
    aliases = [f"c{i}" for i in range(len(names))]
    return (
        f"INSERT INTO {table.name} ({quoted(names)}) "
        f"SELECT {', '.join(aliases)} FROM unnest({feed.casts(first)}) WITH ORDINALITY "
        f"AS u({', '.join(aliases)}, n){f' WHERE {where}' if where else ''} ORDER BY n"
        + (f" RETURNING {returning}" if returning else "")
    )


def values_insert(table: Table, names: Sequence[str], *, first: int = 1, returning: str = "", where: str = "") -> str:
    """`INSERT INTO table (names) VALUES ($first…)`: one row as scalar parameters (`ArrayColumns.row`).
    `where`: a condition without which the row does not go in (`SELECT $first… WHERE …` then)."""
    feed = ArrayColumns(table, tuple(names))
    row = ", ".join(feed.scalars(first))
    source = f"SELECT {row} WHERE {where}" if where else f"VALUES ({row})"
    return f"INSERT INTO {table.name} ({quoted(names)}) {source}" + (f" RETURNING {returning}" if returning else "")


def values_update(table: Table, key: str, names: Sequence[str], *, first: int = 1, where: str = "") -> str:
    """`UPDATE table SET names WHERE key matches` for one row as scalar parameters: $first holds the key,
    then one parameter per name (`ArrayColumns(table, (key, *names)).row`). `where`: a further condition."""
    feed = ArrayColumns(table, (key, *names))
    casts = feed.scalars(first)
    quote = _DIALECT.identifier_preparer.quote
    sets = ", ".join(f"{quote(name)} = {cast}" for name, cast in zip(names, casts[1:], strict=True))
    return f"UPDATE {table.name} SET {sets} WHERE {table.name}.{quote(key)} = {casts[0]}" + (
        f" AND {where}" if where else ""
    )


def unnest_update(table: Table, key: str, names: Sequence[str], *, first: int = 1, where: str = "") -> str:
    """`UPDATE table SET names FROM unnest($first…) WHERE key matches`: $first holds the keys, then one
    array per name. `where`: a further condition."""
    feed = ArrayColumns(table, (key, *names))
    aliases = ["k", *(f"c{i}" for i in range(len(names)))]
    quote = _DIALECT.identifier_preparer.quote  # as `values_update`
    sets = ", ".join(f"{quote(name)} = u.{alias}" for name, alias in zip(names, aliases[1:], strict=True))
    return (
        f"UPDATE {table.name} SET {sets} FROM unnest({feed.casts(first)}) AS u({', '.join(aliases)}) "
        f"WHERE {table.name}.{quote(key)} = u.k" + (f" AND {where}" if where else "")
    )

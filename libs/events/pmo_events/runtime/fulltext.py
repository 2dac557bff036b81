"""Full-text search over short documents, one adapter for both engines.

PostgreSQL: a `tsvector` column (English configuration) under a GIN index, ranked by `ts_rank`.
SQLite: an FTS5 table with the Porter stemmer, ranked by `bm25` (negated, so higher is closer on both).
A search is any of the given words (OR); the two engines stem alike enough that the same words find the
same documents, while their ranks are on different scales (callers compare ranks within one search).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, MetaData, String, Table, Text, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import pgdirect
from pmo_events.runtime.store import Premise

_TERM = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
#: How many terms that found documents an index remembers per database (`TextIndex.premise_none_found`).
FOUND_REMEMBERED = 4096


class TextIndex:
    """One named index of documents keyed by id; `table` lets a subscription reset empty it."""

    def __init__(self, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"not a table name: {name!r}")
        self.name = name
        # Not in the service's metadata: the DDL differs per engine (`create_statements`, run by a migration).
        self.table = Table(name, MetaData(), Column("doc_id", String(64), primary_key=True), Column("document", Text))
        #: Per database (its engine): terms that found documents in this process, most recent last. A hint
        #: only (`premise_none_found` makes no premise on them); whether a premise holds is asked of the database.
        self._found: WeakKeyDictionary[Any, OrderedDict[str, None]] = WeakKeyDictionary()

    def create_statements(self, dialect: str) -> list[str]:
        """The DDL a migration runs for this index on `dialect` (`postgresql` or `sqlite`)."""
        if dialect == "postgresql":
            return [
                f"CREATE TABLE {self.name} (doc_id VARCHAR(64) PRIMARY KEY, document tsvector NOT NULL)",
                f"CREATE INDEX ix_{self.name}_document ON {self.name} USING GIN (document)",
            ]
        return [f"CREATE VIRTUAL TABLE {self.name} USING fts5(doc_id UNINDEXED, document, tokenize='porter unicode61')"]

    def drop_statements(self, dialect: str) -> list[str]:
        return [f"DROP TABLE {self.name}"]

    def insert_statement(self, dialect: str) -> str:
        """The statement that indexes `:doc` under `:id` (on SQLite, after removing what `:id` held)."""
        if dialect == "postgresql":
            return (
                f"INSERT INTO {self.name} (doc_id, document) VALUES (:id, to_tsvector('english', :doc)) "
                "ON CONFLICT (doc_id) DO UPDATE SET document = EXCLUDED.document"
            )
        return f"INSERT INTO {self.name} (doc_id, document) VALUES (:id, :doc)"

    async def put(self, session: AsyncSession, doc_id: str, document: str) -> None:
        """Index `document` under `doc_id`, replacing what was indexed there."""
        dialect = _dialect(session)
        if dialect != "postgresql":
            await self.remove(session, doc_id)
        await session.execute(text(self.insert_statement(dialect)), {"id": doc_id, "doc": document})

    async def remove(self, session: AsyncSession, doc_id: str) -> None:
        await session.execute(delete(self.table).where(self.table.c.doc_id == doc_id))

    @property
    def _ranked(self) -> str:
        return (
            f"SELECT doc_id, ts_rank(document, q) AS rank FROM {self.name}, to_tsquery('english', $1) AS q "
            "WHERE document @@ q ORDER BY rank DESC, doc_id LIMIT $2"
        )

    def premise_none_found(self, reads: AsyncSession | pgdirect.Direct, words: Sequence[str]) -> Premise | None:
        """The premise that `search(reads, words)` finds nothing, for a command that then decides without
        searching (`UnitOfWork.assume`); the database checks it in the command's one statement. None (search
        then) unless `reads` is a connection lent on PostgreSQL (elsewhere the check would be a query of its
        own, no cheaper than the search), when there is nothing to search for, or when one of these words
        found documents before in this process (the premise would likely fail and the command be decided twice)."""
        terms = _terms(words)
        if not isinstance(reads, pgdirect.Direct) or not terms:
            return None
        found = self._found.get(reads.lender.engine.sync_engine)
        if found is not None and any(term in found for term in terms):
            return None

        async def holds(session: Any) -> bool:
            return not await self.search(session, terms, limit=1)

        return Premise(
            f"SELECT 1 FROM {self.name} WHERE document @@ to_tsquery('english', {{0}}::text)",
            (" | ".join(terms),),
            holds,
            lambda: self._note(reads, terms, found=True),
        )

    def _note(self, session: AsyncSession | pgdirect.Direct, terms: tuple[str, ...], *, found: bool) -> None:
        """Remember whether a search for `terms` found documents in this database (which of the terms did is
        not known: all of them are taken as found; none when nothing was)."""
        engine = session.lender.engine if isinstance(session, pgdirect.Direct) else session.bind
        if engine is None:
            return
        known = self._found.setdefault(getattr(engine, "sync_engine", engine), OrderedDict())
        for term in terms:
            if found:
                known[term] = None
                known.move_to_end(term)
            else:
                known.pop(term, None)
        while len(known) > FOUND_REMEMBERED:
            known.popitem(last=False)

    async def search(
        self, session: AsyncSession | pgdirect.Direct, words: Sequence[str], *, limit: int = 200
    ) -> dict[str, float]:
        """The ids of documents holding any of `words`, with their rank (higher: closer), the best `limit`
        (on a unit of work's `reads`: a session, or a connection borrowed without one on PostgreSQL)."""
        terms = _terms(words)
        if not terms:
            return {}
        if pgdirect.on_asyncpg(session):
            # Straight through asyncpg (prepared once per connection): every draft and submission asks.
            # A read: before the transaction's first write it needs no BEGIN of its own.
            found = await pgdirect.fetch(session, self._ranked, " | ".join(terms), limit, begin=False)
            self._note(session, terms, found=bool(found))
            return {doc_id: float(rank) for doc_id, rank in found}
        assert isinstance(session, AsyncSession)
        if _dialect(session) == "postgresql":
            query = text(
                f"SELECT doc_id, ts_rank(document, q) AS rank FROM {self.name}, to_tsquery('english', :q) AS q "
                "WHERE document @@ q ORDER BY rank DESC, doc_id LIMIT :limit"
            )
            params: dict[str, object] = {"q": " | ".join(terms), "limit": limit}
        else:
            query = text(
                f"SELECT doc_id, -bm25({self.name}) AS rank FROM {self.name} WHERE {self.name} MATCH :q "
                "ORDER BY rank DESC, doc_id LIMIT :limit"
            )
            params = {"q": " OR ".join(f'"{t}"' for t in terms), "limit": limit}
        rows = await session.execute(query, params)
        return {row.doc_id: float(row.rank) for row in rows}


def _terms(words: Sequence[str]) -> tuple[str, ...]:
    """The distinct search terms of `words`, in order (lower-case letters and digits)."""
    return tuple(dict.fromkeys(t for w in words for t in _TERM.findall(w.lower())))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name

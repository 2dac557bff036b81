"""A small poll's writes in one statement (PostgreSQL): the log's rows, their entity index, every read model's
changed documents and, when the subscription offers it (`CarriedProgress`), the poll's offsets and streams' last
sequences.

On the live path a poll of one or two events is the common case (100 commands/s), and each of its statements is
a round trip the poll waits for: the log's and the index's COPYs (two round trips each: the COPY, then its data)
and each read model's document COPY or UPDATE. Here they are one statement of data-modifying CTEs, in the poll's
transaction; a larger poll (a catch-up) keeps COPY, which is cheaper per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import pgdirect
from pmo_events.runtime.consumed import CARRIED_PROGRESS, CarriedProgress
from pmo_events.runtime.pgdirect import ArrayColumns, unnest_insert
from pmo_reporting.adapters.db.documents import SessionDocuments
from pmo_reporting.adapters.db.tables import documents, event_entities, event_log

#: Polls of at most this many events are written with `write_poll` (one statement); larger ones with COPY.
ONE_STATEMENT_EVENTS = 64

_LOG = ArrayColumns(
    event_log,
    ("event_id", "source", "type", "subject", "sequence", "occurred_at", "actor", "correlation_id", "causation_id",
     "data", "topic", "partition", "offset", "received_at"),
)  # fmt: skip
_INDEX = ArrayColumns(event_entities, ("entity_id", "event_id", "occurred_at"))
_DOCS = ArrayColumns(documents, ("projection", "generation", "kind", "key", "scope", "body"))


#: The statement's own parameters ($1 to this); the subscription's bookkeeping, when carried, follows them.
_PARAMETERS = len(_LOG.names) + len(_INDEX.names) + 2 * len(_DOCS.names)


def _statement(progress: CarriedProgress | None = None) -> str:
    first_index = 1 + len(_LOG.names)
    first_insert = first_index + len(_INDEX.names)
    first_update = first_insert + len(_DOCS.names)
    assert first_update + len(_DOCS.names) - 1 == _PARAMETERS
    carried = f",\n{progress.ctes(_PARAMETERS + 1)}" if progress is not None else ""
    answer = progress.RETURNED if progress is not None else "SELECT 1"
    return f"""
WITH log AS ({unnest_insert(event_log, _LOG.names, first=1)}),
index AS ({unnest_insert(event_entities, _INDEX.names, first=first_index)}),
inserted AS ({unnest_insert(documents, _DOCS.names, first=first_insert)}),
updated AS (
    UPDATE {documents.name} AS d SET scope = u.scope, body = u.body
    FROM unnest({_DOCS.casts(first_update)}) AS u(projection, generation, kind, key, scope, body)
    WHERE d.projection = u.projection AND d.generation = u.generation AND d.kind = u.kind AND d.key = u.key
){carried}
{answer}
"""


_STATEMENT = _statement()
#: With the subscription's bookkeeping (`CarriedProgress`), by its own statement text (durable or not).
_CARRYING: dict[str, str] = {}


async def write_poll(
    session: AsyncSession,
    log: Sequence[dict[str, object]],
    index: Sequence[tuple[str, str, datetime]],
    changed: Sequence[SessionDocuments],
) -> None:
    """The log's rows (in log order: their `seq` follows it), the index's (entity id, event id, time) and every
    document the read models accepted (`SessionDocuments.take_writes`), in the session's transaction, as one
    statement."""
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for docs in changed:
        new, moved = docs.take_writes()
        inserts += new
        updates += [
            {"projection": docs.projection, "generation": docs.generation, "kind": u["b_kind"], "key": u["b_key"],
             "scope": u["b_scope"], "body": u["b_body"]}
            for u in moved
        ]  # fmt: skip
    indexed = [{"entity_id": e, "event_id": i, "occurred_at": t} for e, i, t in index]
    own = (*_LOG.arrays(log), *_INDEX.arrays(indexed), *_DOCS.arrays(inserts), *_DOCS.arrays(updates))
    progress: CarriedProgress | None = session.info.get(CARRIED_PROGRESS)
    if progress is None or progress.written is not None:
        await pgdirect.fetch(session, _STATEMENT, *own)
        return
    # The poll's offsets and streams' last sequences go in this statement too: a round trip fewer per poll.
    ctes = progress.ctes(_PARAMETERS + 1)
    statement = _CARRYING.get(ctes)
    if statement is None:
        statement = _CARRYING[ctes] = _statement(progress)
    progress.carried(await pgdirect.fetch(session, statement, *own, *progress.args))

"""Report state: the live read model's documents, or the log folded up to `as_of`, for the same pure reports."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TypeVar
from weakref import WeakKeyDictionary

from pmo_events.runtime import Database
from pmo_reporting.adapters.db.documents import Slim, load_documents
from pmo_reporting.application.live import answering_generation
from pmo_reporting.application.time_travel import Checkpoints, fold_as_of
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.documents import InMemoryDocuments

T = TypeVar("T")

#: Reports already computed from a set of documents, while that set lives (an `as_of` answer's documents
#: never change, and the same instant asked again comes back as the same set: see `fold_as_of`).
_COMPUTED: WeakKeyDictionary[InMemoryDocuments, dict[Hashable, object]] = WeakKeyDictionary()


def computed(docs: InMemoryDocuments, key: Hashable, report: Callable[[], T]) -> T:
    """`report()` over `docs`, computed once per set of documents; each caller gets its own copy."""
    of_docs = _COMPUTED.setdefault(docs, {})
    if key not in of_docs:
        of_docs[key] = report()
    return copy.deepcopy(of_docs[key])  # type: ignore[return-value]


async def live_documents(
    db: Database, projection: Projection, wanted: dict[str, str | None], slim: Slim | None = None
) -> InMemoryDocuments:
    """The answering generation's documents (cut down by `slim`, see `load_documents`); read again if a swap
    happened while reading."""
    for _ in range(3):
        async with db.sessions() as session:
            generation = await answering_generation(session, projection.name)
            docs = await load_documents(session, projection.name, generation, wanted, slim)
            again = await answering_generation(session, projection.name)
        if again == generation:
            return docs
    return docs


async def report_state(
    db: Database,
    projection: Projection,
    wanted: dict[str, str | None],
    as_of: datetime | None,
    checkpoints: Checkpoints | None = None,
    slim: Slim | None = None,
) -> InMemoryDocuments:
    """`slim` cuts the live documents down as they are read (an `as_of` answer's folded documents are whole)."""
    if as_of is None:
        return await live_documents(db, projection, wanted, slim)
    return await fold_as_of(db, projection, as_of, checkpoints)

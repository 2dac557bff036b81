"""Online rebuild: fold the whole log into a new generation while the old one answers, then swap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import Database
from pmo_reporting.adapters.db.documents import drop_generation, drop_other_generations, write_documents
from pmo_reporting.adapters.db.tables import projections
from pmo_reporting.application.live import fold_live, projection_row
from pmo_reporting.application.log_reader import count_log, read_log
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.documents import InMemoryDocuments

log = logging.getLogger(__name__)


class RebuildRefused(Exception):
    """A rebuild of this read model is already running (here, or in another process such as the CLI)."""


@dataclass
class RebuildProgress:
    projection: str
    generation: int
    phase: str = "folding"
    total: int = 0
    folded: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "phase": self.phase,
            "folded": self.folded,
            "total": self.total,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
        }


Advance = Callable[[RebuildProgress], None]


async def begin_rebuild(db: Database, projection: Projection, *, force: bool = False) -> RebuildProgress:
    """Claim the next generation and clear any leftovers of an abandoned attempt.

    A rebuild marked as running is refused unless `force` says it was abandoned (its process died).
    """
    async with db.transaction() as session:
        row = await projection_row(session, projection.name)
        if row["state"] == "rebuilding" and not force:
            raise RebuildRefused(projection.name)
        generation = max(row["generation"], row["rebuild_generation"] or 0) + 1
        await drop_generation(session, projection.name, generation)
        await _set(
            session,
            projection.name,
            state="rebuilding",
            rebuild_generation=generation,
            rebuild_position=0,
            rebuild_started_at=datetime.now(UTC),
            last_error=None,
        )
    return RebuildProgress(projection.name, generation)


async def run_rebuild(
    db: Database, projection: Projection, progress: RebuildProgress, advance: Advance | None = None
) -> None:
    """Fold, write, catch up and swap; on failure the answering generation stays and the error is kept."""
    try:
        position = await _fold_into_generation(db, projection, progress, advance)
        progress.phase = "swapping"
        await _swap(db, projection, progress.generation, position)
        async with db.transaction() as session:
            await drop_other_generations(session, projection.name, keep=progress.generation)
        progress.phase = "done"
    except Exception as exc:
        log.exception("rebuild of %s failed", projection.name)
        progress.phase, progress.error = "failed", f"{type(exc).__name__}: {exc}"
        async with db.transaction() as session:
            await drop_generation(session, projection.name, progress.generation)
            await _set(session, projection.name, state="live", rebuild_generation=None, last_error=progress.error)
    finally:
        progress.finished_at = datetime.now(UTC)
        if advance is not None:
            advance(progress)


async def _fold_into_generation(
    db: Database, projection: Projection, progress: RebuildProgress, advance: Advance | None
) -> int:
    docs, position = InMemoryDocuments(), 0
    async with db.sessions() as session:
        progress.total = await count_log(session, types=projection.handles)
        async for page in read_log(session, types=projection.handles):
            for event in page:
                projection.apply(docs, event)
            position = page[-1].position or position
            progress.folded += len(page)
            if advance is not None:
                advance(progress)
            await asyncio.sleep(0)  # let the live subscription and HTTP handlers run between pages
    progress.phase = "writing"
    async with db.transaction() as session:
        await write_documents(session, projection.name, progress.generation, docs.rows())
        await _set(session, projection.name, rebuild_position=position)
    return position


async def _swap(db: Database, projection: Projection, generation: int, position: int) -> None:
    """Under the read model's row lock: fold what arrived meanwhile, then make the new generation answer."""
    async with db.transaction() as session:
        await projection_row(session, projection.name)
        async for page in read_log(session, after=position, types=projection.handles):
            for event in page:
                await fold_live(session, projection, generation, event)
        await _set(
            session,
            projection.name,
            generation=generation,
            state="live",
            rebuild_generation=None,
            rebuild_position=None,
            rebuilt_at=datetime.now(UTC),
        )


async def _set(session: AsyncSession, name: str, **values: object) -> None:
    await session.execute(update(projections).where(projections.c.name == name).values(**values))


class Rebuilds:
    """The rebuilds this process runs in the background (what `POST .../rebuild` starts)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.progress: dict[str, RebuildProgress] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def start(self, projection: Projection, *, force: bool = False) -> RebuildProgress:
        if self.running(projection.name):
            raise RebuildRefused(projection.name)
        progress = await begin_rebuild(self.db, projection, force=force)
        self.progress[projection.name] = progress
        self._tasks[projection.name] = asyncio.create_task(
            run_rebuild(self.db, projection, progress), name=f"rebuild-{projection.name}"
        )
        return progress

    async def wait(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is not None:
            await task

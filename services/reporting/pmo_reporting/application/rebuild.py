"""Online rebuild: fold the whole log into a new generation while the old one answers, then swap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import Database
from pmo_events.runtime.heap import growing_heap
from pmo_events.runtime.rebuild_workers import ForkedWorker, export_snapshot, import_snapshot
from pmo_reporting.adapters.db.checkpoints import drop_checkpoints
from pmo_reporting.adapters.db.documents import drop_generation, drop_other_generations, write_documents
from pmo_reporting.adapters.db.tables import documents, projections
from pmo_reporting.application.live import fold_live, projection_row
from pmo_reporting.application.log_reader import count_by_type, log_head, read_log, stream_types
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
#: One read model to rebuild and its progress (several are rebuilt from one read of the log).
Job = tuple[Projection, RebuildProgress]


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
    await run_rebuilds(db, [(projection, progress)], advance)


async def run_rebuilds(db: Database, jobs: Sequence[Job], advance: Advance | None = None, *, workers: int = 1) -> None:
    """Several read models from ONE read of the log: fold each, then write, catch up and swap each.

    With `workers` > 1 on PostgreSQL the read models are shared out among that many processes (this one and
    forked workers: `_fold_in_workers`), each reading the log under one exported snapshot; a read model is
    the unit, as no two share a document. Elsewhere, or for one read model, one process folds them all."""
    groups = _groups(jobs, workers) if db.is_postgres else [list(jobs)]
    if len(groups) > 1:
        written, position = await _fold_in_workers(db, groups, advance)
    else:
        written, position = await _fold_and_write(db, jobs, advance)
    if written:
        # Statistics that know the new generations (one ANALYZE for all of them): planned without them, the
        # live path's batched lookups and updates of a generation would hash all of it (see `Database.analyze`).
        try:
            await db.analyze(documents)
        except Exception as exc:
            for projection, progress in written:
                await _failed(db, projection, progress, exc, advance)
            return
    for projection, progress in written:
        try:
            progress.phase = "swapping"
            await _swap(db, projection, progress.generation, position)
            async with db.transaction() as session:
                await drop_other_generations(session, projection.name, keep=progress.generation)
                await drop_checkpoints(session, projection.name, keep_generation=progress.generation)
            progress.phase = "done"
        except Exception as exc:
            await _failed(db, projection, progress, exc, advance)
        else:
            _finish(progress, advance)


async def _fold_and_write(db: Database, jobs: Sequence[Job], advance: Advance | None) -> tuple[list[Job], int]:
    """In this process: one read of the log folded into every job's documents, each then written."""
    try:
        folded, position = await _fold_into_generations(db, jobs, advance)
    except Exception as exc:
        for projection, progress in jobs:
            await _failed(db, projection, progress, exc, advance)
        return [], 0
    return await _write(db, jobs, folded, position, advance), position


async def _write(
    db: Database, jobs: Sequence[Job], folded: dict[str, InMemoryDocuments], position: int, advance: Advance | None
) -> list[Job]:
    written: list[Job] = []
    for projection, progress in jobs:
        try:
            progress.phase = "writing"
            async with db.transaction() as session:
                await write_documents(session, projection.name, progress.generation, folded.pop(projection.name).rows())
                await _set(session, projection.name, rebuild_position=position)
        except Exception as exc:
            await _failed(db, projection, progress, exc, advance)
        else:
            written.append((projection, progress))
    return written


def _groups(jobs: Sequence[Job], workers: int) -> list[list[Job]]:
    """The jobs shared out among at most `workers` processes, the read models taking most events first."""
    groups: list[list[Job]] = [[] for _ in range(max(1, min(workers, len(jobs))))]
    for job in sorted(jobs, key=lambda job: -len(job[0].handles)):
        min(groups, key=lambda group: sum(len(p.handles) for p, _ in group)).append(job)
    return groups


async def _fold_in_workers(db: Database, groups: list[list[Job]], advance: Advance | None) -> tuple[list[Job], int]:
    """The first group folded here, each other one by a forked worker, all under this transaction's snapshot.

    This process's REPEATABLE READ transaction exports its snapshot and reads the head; each worker imports
    the snapshot, folds its read models and writes their generations in ONE transaction of its own (a worker
    killed mid-write leaves nothing: the server rolls it back), then reports `done`. The exporting transaction
    stays open until every worker has imported the snapshot. A worker's read models fail with it (their
    generations dropped, the answering ones kept); the others go on to their swap.
    """
    own, *others = groups
    jobs = [job for group in groups for job in group]
    by_name = {projection.name: progress for projection, progress in jobs}
    imported: set[ForkedWorker] = set()

    def listener(worker: ForkedWorker) -> Callable[[object], None]:
        def heard(message: object) -> None:
            if message == "imported":
                imported.add(worker)
                return
            _, name, folded = message  # type: ignore[misc]
            by_name[name].folded = folded
            if advance is not None:
                advance(by_name[name])

        return heard

    started: list[ForkedWorker] = []
    try:
        async with db.sessions() as session:
            snapshot = await export_snapshot(session)
            head = await log_head(session)
            counts = await count_by_type(session, upto=head)
            for projection, progress in jobs:
                progress.total = sum(counts.get(t, 0) for t in projection.handles)
            for number, group in enumerate(others, start=1):
                share = _Share(db.url, snapshot, head, tuple((p.name, progress.generation) for p, progress in group))
                started.append(ForkedWorker(share, name=f"rebuild-{number}"))

            def between_pages() -> None:
                for worker in started:
                    worker.drain(listener(worker))

            docs = await _fold_pages(session, own, head, advance, between_pages)
            for worker in started:  # the snapshot is needed until each worker has imported it
                await worker.until(lambda worker=worker: worker in imported, listener(worker))
    except Exception as exc:
        for worker in started:
            worker.stop()
        for projection, progress in jobs:
            await _failed(db, projection, progress, exc, advance)
        return [], 0
    written = await _write(db, own, docs, head, advance)
    for worker, group in zip(started, others, strict=True):
        try:
            await worker.wait(listener(worker))
            async with db.transaction() as session:
                for projection, _ in group:
                    await _set(session, projection.name, rebuild_position=head)
        except Exception as exc:
            worker.stop()
            for projection, progress in group:
                await _failed(db, projection, progress, exc, advance)
        else:
            written += group
    return written, head


@dataclass(frozen=True)
class _Share:
    """A forked worker's share of a rebuild: its read models' generations, folded and written under `snapshot`."""

    url: str
    snapshot: str
    head: int
    generations: tuple[tuple[str, int], ...]

    async def __call__(self, send: Callable[[object], None]) -> None:
        from pmo_reporting.projections.catalogue import PROJECTIONS

        jobs = [(PROJECTIONS[name], RebuildProgress(name, generation)) for name, generation in self.generations]
        db = Database(self.url, pool_size=1)
        try:
            async with db.transaction() as session:
                await import_snapshot(session, self.snapshot)
                send("imported")
                docs = await _fold_pages(
                    session, jobs, self.head, lambda progress: send(("folded", progress.projection, progress.folded))
                )
                for projection, progress in jobs:
                    await write_documents(
                        session, projection.name, progress.generation, docs.pop(projection.name).rows()
                    )
        finally:
            await db.dispose()


def _finish(progress: RebuildProgress, advance: Advance | None) -> None:
    progress.finished_at = datetime.now(UTC)
    if advance is not None:
        advance(progress)


async def _failed(
    db: Database, projection: Projection, progress: RebuildProgress, exc: Exception, advance: Advance | None
) -> None:
    log.error("rebuild of %s failed", projection.name, exc_info=exc)
    progress.phase, progress.error = "failed", f"{type(exc).__name__}: {exc}"
    await _release(db, projection, progress, error=progress.error)
    _finish(progress, advance)


async def release(db: Database, projection: Projection, progress: RebuildProgress) -> None:
    """Give back a claimed generation that will not be rebuilt: the answering one stays."""
    await _release(db, projection, progress, error=None)


async def _release(db: Database, projection: Projection, progress: RebuildProgress, *, error: str | None) -> None:
    """The new generation goes; the answering one stays."""
    async with db.transaction() as session:
        await drop_generation(session, projection.name, progress.generation)
        await _set(session, projection.name, state="live", rebuild_generation=None, last_error=error)


async def _fold_into_generations(
    db: Database, jobs: Sequence[Job], advance: Advance | None
) -> tuple[dict[str, InMemoryDocuments], int]:
    """One streamed read of the log up to its head, each event folded into the read models taking it."""
    async with db.sessions() as session:
        head = await log_head(session)
        counts = await count_by_type(session, upto=head)
        for projection, progress in jobs:
            progress.total = sum(counts.get(t, 0) for t in projection.handles)
        return await _fold_pages(session, jobs, head, advance), head


async def _fold_pages(
    session: AsyncSession,
    jobs: Sequence[Job],
    head: int,
    advance: Advance | None,
    between_pages: Callable[[], None] | None = None,
) -> dict[str, InMemoryDocuments]:
    """The log's events of the jobs' types up to `head`, read on `session`, folded into new documents."""
    docs = {projection.name: InMemoryDocuments() for projection, _ in jobs}
    takers: dict[str, list[Job]] = {}
    for job in jobs:
        for type_name in job[0].handles:
            takers.setdefault(type_name, []).append(job)
    folding = {type_name: [(p.apply, docs[p.name]) for p, _ in taking] for type_name, taking in takers.items()}
    with growing_heap() as settle:
        async with contextlib.aclosing(stream_types(session, takers, upto=head)) as pages:
            async for page in pages:
                for event in page:
                    for apply, into in folding[event.type]:
                        apply(into, event)
                taken = Counter(event.type for event in page)
                for projection, progress in jobs:
                    progress.folded += sum(taken[t] for t in projection.handles if t in taken)
                settle()
                if advance is not None:
                    for _, progress in jobs:
                        advance(progress)
                if between_pages is not None:
                    between_pages()
    return docs


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

    def __init__(self, db: Database, *, workers: int = 1) -> None:
        self.db = db
        #: Processes a rebuild of several read models may fold in (`PMO_REBUILD_WORKERS`).
        self.workers = workers
        self.progress: dict[str, RebuildProgress] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def start(self, *chosen: Projection, force: bool = False) -> list[RebuildProgress]:
        """Rebuild the chosen read models in the background, from one read of the log."""
        if busy := [p.name for p in chosen if self.running(p.name)]:
            raise RebuildRefused(", ".join(busy))
        jobs: list[Job] = []
        try:
            for projection in chosen:
                jobs.append((projection, await begin_rebuild(self.db, projection, force=force)))
        except RebuildRefused:
            for projection, progress in jobs:  # release the ones already claimed
                await _release(self.db, projection, progress, error=None)
            raise
        task = asyncio.create_task(
            run_rebuilds(self.db, jobs, workers=self.workers), name=f"rebuild-{'+'.join(p.name for p in chosen)}"
        )
        for projection, progress in jobs:
            self.progress[projection.name] = progress
            self._tasks[projection.name] = task
        return [progress for _, progress in jobs]

    async def wait(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is not None:
            await task

"""Online rebuild: fold the whole log into a new generation while the old one answers, then swap."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import Database
from pmo_events.runtime.heap import growing_heap
from pmo_events.runtime.rebuild_workers import ForkedWorker, WorkerFailed, export_snapshot, import_snapshot
from pmo_reporting.adapters.db.checkpoints import drop_checkpoints
from pmo_reporting.adapters.db.documents import drop_generation, drop_other_generations, write_documents
from pmo_reporting.adapters.db.tables import documents, projections
from pmo_reporting.application.live import fold_live, projection_row
from pmo_reporting.application.log_reader import count_by_type, log_head, read_log, stream_types, weigh_by_type
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.catalogue import PARTS, PROJECTIONS
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
    """Several read models in one rebuild: fold each, then write, catch up and swap each.

    With `workers` > 1 on PostgreSQL and more than one part, the read models' parts (`PARTS`) are shared out
    among at most that many processes (this one and forked workers: `_fold_in_workers`), each reading its
    parts' events under one exported snapshot; a part is the unit, as no two parts share a document.
    Elsewhere, or for one part, one process folds them all from ONE read of the log."""
    if db.is_postgres and workers > 1 and sum(len(PARTS[projection.name]) for projection, _ in jobs) > 1:
        written, position = await _fold_in_workers(db, jobs, workers, advance)
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


#: A share of a rebuild: (read model, which of its `PARTS`).
Share = tuple[str, int]


def _groups(jobs: Sequence[Job], weights: dict[str, int], workers: int) -> list[list[Share]]:
    """The jobs' parts shared out among at most `workers` processes, heaviest first to the lightest group.

    A part weighs the stored JSON of the events it takes (what decoding and folding them roughly costs)."""
    shares = [(projection.name, index) for projection, _ in jobs for index in range(len(PARTS[projection.name]))]

    def weight(share: Share) -> int:
        return sum(weights.get(t, 0) for t in PARTS[share[0]][share[1]].handles)

    groups: list[list[Share]] = [[] for _ in range(max(1, min(workers, len(shares))))]
    loads = [0] * len(groups)
    for share in sorted(shares, key=weight, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(share)
        loads[lightest] += weight(share)
    return [group for group in groups if group]


def _merged(shares: Sequence[Share]) -> list[tuple[Projection, frozenset[str]]]:
    """Per read model, its parts among `shares` as one projection (each type's effects in the read model's
    order), with the types whose events it counts as folded (a type two parts take counts in the first)."""
    merged = []
    for name in dict.fromkeys(name for name, _ in shares):
        indexes = sorted(index for of, index in shares if of == name)
        parts = PARTS[name]
        handlers: dict[str, tuple] = {}
        for index in indexes:
            for type_name, effects in parts[index].handlers.items():
                handlers[type_name] = (*handlers.get(type_name, ()), *effects)
        counted = frozenset().union(
            *(parts[i].handles - frozenset().union(*(part.handles for part in parts[:i])) for i in indexes)
        )
        merged.append((Projection(name, PROJECTIONS[name].description, handlers), counted))
    return merged


async def _fold_in_workers(
    db: Database, jobs: Sequence[Job], workers: int, advance: Advance | None
) -> tuple[list[Job], int]:
    """`_fold_shared_out`, whose forked workers end with it when it is cancelled (a shutdown, the CLI's ^C): they
    went on folding and writing a generation nobody would swap in, the CPU and a connection each held until done
    (a daemon process ends with its parent's exit only). Killed, their transactions are rolled back."""
    started: list[ForkedWorker] = []
    try:
        return await _fold_shared_out(db, jobs, workers, advance, started)
    except BaseException:
        for worker in started:
            worker.stop()
        raise


async def _fold_shared_out(
    db: Database, jobs: Sequence[Job], workers: int, advance: Advance | None, started: list[ForkedWorker]
) -> tuple[list[Job], int]:
    """Parts of the read models folded here and by forked workers, all under this transaction's snapshot.

    This process's REPEATABLE READ transaction exports its snapshot, reads the head and weighs the log's
    types; the read models' parts (`PARTS`) are shared out among `workers` processes (this one folds the
    first group). Each worker imports the snapshot, folds its parts and writes their documents into their
    read models' new generations in ONE transaction of its own (a worker killed mid-write leaves nothing: the
    server rolls it back), then reports `done`. The exporting transaction stays open until every worker has
    imported the snapshot. A read model is written only when every process holding one of its parts has
    written; otherwise (that process's fold or write raised, or it died) it fails (its new generation dropped,
    the answering one kept) and the others go on. Only a failure before the parts are folded (exporting the
    snapshot, reading the head, forking) fails them all.
    """
    by_name = {projection.name: (projection, progress) for projection, progress in jobs}
    folded: dict[tuple[int, str], int] = {}
    imported: set[ForkedWorker] = set()

    def listener(number: int, worker: ForkedWorker | None) -> Callable[[object], None]:
        def heard(message: object) -> None:
            if message == "imported" and worker is not None:
                imported.add(worker)
                return
            if not isinstance(message, tuple):
                return
            name, count = str(message[1]), int(message[2])
            folded[number, name] = count
            progress = by_name[name][1]
            progress.folded = sum(n for (_, of), n in folded.items() if of == name)
            if advance is not None:
                advance(progress)

        return heard

    #: The first failure of each read model that fails: any process holding one of its parts failed.
    failures: dict[str, Exception] = {}
    ended: set[ForkedWorker] = set()

    def failed(worker: ForkedWorker, group: list[Share], exc: Exception) -> None:
        """A worker that reported a failure or died: it ends, and fails the read models it held a part of."""
        worker.stop()
        ended.add(worker)
        for name, _ in group:
            failures.setdefault(name, exc)

    try:
        async with db.sessions() as session:
            snapshot = await export_snapshot(session)
            head = await log_head(session)
            weights = await weigh_by_type(session, upto=head)
            for projection, progress in jobs:
                progress.total = sum(weights.get(t, (0, 0))[0] for t in projection.handles)
            own, *others = _groups(jobs, {t: size for t, (_, size) in weights.items()}, workers)
            log.info("rebuild shared out: here %s, forked workers %s", own, others)
            for number, group in enumerate(others, start=1):
                share = _Share(db.url, snapshot, head, tuple((n, i, by_name[n][1].generation) for n, i in group))
                started.append(ForkedWorker(share, name=f"rebuild-{number}"))
            listeners = [listener(number, worker) for number, worker in enumerate(started, start=1)]
            heard_here = listener(0, None)

            def between_pages(part: RebuildProgress) -> None:
                heard_here(("folded", part.projection, part.folded))
                for worker, heard in zip(started, listeners, strict=True):
                    worker.drain(heard)

            try:
                docs = await _fold_shares(session, _merged(own), head, between_pages)
            except Exception as exc:  # this process's parts fail their read models; the workers' go on
                docs = {}
                for name, _ in own:
                    failures.setdefault(name, exc)
            for worker, heard, group in zip(started, listeners, others, strict=True):
                try:  # the snapshot is needed until imported
                    await worker.until(functools.partial(imported.__contains__, worker), heard)
                except WorkerFailed as exc:
                    failed(worker, group, exc)
    except Exception as exc:  # before the parts were folded (the snapshot, the head, the forks)
        for worker in started:
            worker.stop()
        for projection, progress in jobs:
            await _failed(db, projection, progress, exc, advance)
        return [], 0
    for name, of_name in docs.items():
        if name in failures:
            continue
        projection, progress = by_name[name]
        try:
            progress.phase = "writing"
            async with db.transaction() as session:
                await write_documents(session, name, progress.generation, of_name.rows())
        except Exception as exc:
            failures[name] = exc
    for worker, heard, group in zip(started, listeners, others, strict=True):
        if worker in ended:
            continue
        try:
            await worker.wait(heard)
        except Exception as exc:
            failed(worker, group, exc)
    written: list[Job] = []
    for projection, progress in jobs:
        if projection.name in failures:
            await _failed(db, projection, progress, failures[projection.name], advance)
            continue
        async with db.transaction() as session:
            await _set(session, projection.name, rebuild_position=head)
        written.append((projection, progress))
    return written, head


@dataclass(frozen=True)
class _Share:
    """A forked worker's share of a rebuild: parts of read models (name, part, generation), folded and written
    under `snapshot`."""

    url: str
    snapshot: str
    head: int
    parts: tuple[tuple[str, int, int], ...]

    async def __call__(self, send: Callable[[object], None]) -> None:
        generations = {name: generation for name, _, generation in self.parts}
        db = Database(self.url, pool_size=1)
        try:
            async with db.transaction() as session:
                await import_snapshot(session, self.snapshot)
                send("imported")
                docs = await _fold_shares(
                    session,
                    _merged([(name, index) for name, index, _ in self.parts]),
                    self.head,
                    lambda progress: send(("folded", progress.projection, progress.folded)),
                )
                for name, of_name in docs.items():
                    await write_documents(session, name, generations[name], of_name.rows())
        finally:
            await db.dispose()


async def _fold_shares(
    session: AsyncSession,
    shares: list[tuple[Projection, frozenset[str]]],
    head: int,
    each_page: Callable[[RebuildProgress], None],
) -> dict[str, InMemoryDocuments]:
    """`_fold_pages` of merged parts, each counting the events of its counted types as folded."""
    counting = [(projection, RebuildProgress(projection.name, 0)) for projection, _ in shares]
    counted = {projection.name: types for projection, types in shares}
    return await _fold_pages(session, counting, head, each_page, counted=counted)


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
    *,
    counted: dict[str, frozenset[str]] | None = None,
) -> dict[str, InMemoryDocuments]:
    """The log's events of the jobs' types up to `head`, read on `session`, folded into new documents; each
    job's `folded` counts the events of its types (of `counted[name]`'s when given)."""
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
                    types = projection.handles if counted is None else counted[projection.name]
                    progress.folded += sum(taken[t] for t in types if t in taken)
                settle()
                if advance is not None:
                    for _, progress in jobs:
                        advance(progress)
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
        """Rebuild the chosen read models in the background, together (`run_rebuilds`)."""
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

    async def stop(self) -> None:
        """Cancel the rebuilds still running and wait for them (the service shutting down): a cancelled rebuild
        kills and reaps its forked workers, and its claimed generation stays `rebuilding` for the next `--force`."""
        running = {task for task in self._tasks.values() if not task.done()}
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

"""`as_of` folds of the event log, sped up by checkpoints: folds at past instants, in memory and in the database.

A checkpoint is the fold of every event with `seq <= upto` that happened by `at`. An `as_of` question
starts from the latest one at or before its instant (this process's, else the database's) and folds the
rest: events after the instant with `seq <= upto`, and events logged after `upto` whatever their time
(late arrivals). Checkpoints hold only events whose log position is at most `upto`, and the live path
commits log positions in order (it takes the read models' row locks before it writes), so no event at
or below `upto` can appear after a checkpoint was read: a checkpoint taken while a batch is being
written simply does not cover that batch, and the batch is folded as part of the tail.

A checkpoint belongs to the read model's answering generation: a rebuild (after a change to a fold)
makes the older ones stale, and they are ignored, then dropped at its swap.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement

from pmo_events.runtime import Database
from pmo_reporting.adapters.db.checkpoints import (
    checkpoint_documents,
    checkpoint_marks,
    nearest_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from pmo_reporting.adapters.db.tables import event_log
from pmo_reporting.application.live import answering_generation
from pmo_reporting.application.log_reader import log_head, stream_log
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.documents import InMemoryDocuments, LayeredDocuments
from pmo_servicekit.memory import give_back_memory

log = logging.getLogger(__name__)

#: A fold that had to read at least this many events leaves a checkpoint behind (in this process); the
#: others are remembered among the `recent` answers, so asking the same instant again folds nothing.
CHECKPOINT_AFTER = 2000
#: The background sweep leaves a checkpoint after at most this many of a read model's events (and at
#: each month start), so an `as_of` answer folds at most this many events on top of its checkpoint.
EVENTS_PER_CHECKPOINT = 1000
#: The checkpoints and recent answers a process keeps in memory for one read model take at most about this
#: much (their documents' JSON; an answer counts as its whole set, though it shares most documents with the
#: checkpoint it started from). The newest answer is always kept (the same instant asked again folds nothing);
#: checkpoints go first: the sweep's are in the database (`prune_checkpoints` keeps the fold bound), so one dropped here
#: costs a read of tens of ms.
#: At 200,000 events a portfolio checkpoint is some 15 MB of JSON: one answer is kept, and little else.
MEMORY_BUDGET = 24_000_000
#: Seconds after the last `as_of` question before every checkpoint and answer held in memory is let go (and the
#: memory given back): a page's questions about one instant, or the same instant asked again, find them held,
#: and an idle process holds none (at 200,000 events an answer kept about 30 MB of RSS).
HOLD_SECONDS = 30.0


@dataclass(frozen=True)
class Checkpoint:
    """The fold of every event with `seq <= upto` that happened by `at`; its documents never change."""

    at: datetime
    upto: int
    docs: InMemoryDocuments = field(repr=False)
    generation: int = 1


class Checkpoints:
    """Checkpoints per read model, in this process, backed by the ones kept in the database.

    With `sweep_every`, an `as_of` question about a read model whose newest kept checkpoint is more than
    `per` events behind the log starts a background sweep of the log in event-time order that leaves a
    checkpoint at each interval and after every `per` events, in memory and (with `persist`) in the database.
    """

    def __init__(
        self,
        keep: int = 12,
        recent: int = 8,
        sweep_every: timedelta | None = timedelta(days=30),
        *,
        per: int | None = None,
        persist: bool = True,
        budget: int = MEMORY_BUDGET,
        hold_seconds: float | None = HOLD_SECONDS,
    ) -> None:
        self.keep = keep
        self.hold_seconds = hold_seconds
        self._release: asyncio.TimerHandle | None = None
        self.recent = recent
        self.budget = budget
        #: Set when a checkpoint or an answer was let go: the memory it held is given back to the system.
        self.dropped = False
        self.sweep_every = sweep_every
        self.per = per
        self.persist = persist
        self._points: dict[str, list[Checkpoint]] = {}
        self._recent: dict[str, list[Checkpoint]] = {}
        self._sweeps: dict[str, asyncio.Task[None]] = {}
        #: The log's head when each read model's last sweep began.
        self._swept_at: dict[str, int] = {}

    def nearest(self, name: str, as_of: datetime, head: int, generation: int = 1) -> Checkpoint | None:
        for kept in (self._points, self._recent):
            points = kept.get(name, [])
            if points and (max(p.upto for p in points) > head or points[0].generation != generation):
                # The log is shorter than a checkpoint remembers (it was emptied and is being re-read), or a
                # rebuild made another generation answer: these folds answer nothing any more.
                kept[name] = []
        points = self._points.get(name, [])
        index = bisect.bisect_right([p.at for p in points], as_of)
        found = points[index - 1] if index else None
        for answer in self._recent.get(name, []):
            if answer.at <= as_of and (found is None or (answer.at, answer.upto) > (found.at, found.upto)):
                found = answer
        return found

    def remember_answer(self, name: str, point: Checkpoint) -> None:
        """One of the last few answers (the oldest one goes)."""
        answers = [p for p in self._recent.get(name, []) if p.at != point.at and p.generation == point.generation]
        self._recent[name] = [*answers, point][-self.recent :]
        self._within_budget(name)

    def remember(self, name: str, point: Checkpoint) -> None:
        points = [p for p in self._points.get(name, []) if p.at != point.at and p.generation == point.generation]
        points.append(point)
        points.sort(key=lambda p: p.at)
        while len(points) > self.keep:
            # Keep the spread: drop the checkpoint closest to its earlier neighbour.
            gaps = [(points[i].at - points[i - 1].at, i) for i in range(1, len(points))]
            points.pop(min(gaps)[1])
        self._points[name] = points
        self._within_budget(name)

    def held_bytes(self, name: str) -> int:
        """About how much the read model's checkpoints and answers in memory take (`MEMORY_BUDGET`)."""
        held = {id(p.docs): p.docs for p in (*self._points.get(name, []), *self._recent.get(name, []))}
        return sum(docs.approx_bytes() for docs in held.values())

    def _within_budget(self, name: str) -> None:
        """Checkpoints go first (the newest last), then the oldest answers; the newest answer stays."""
        points, answers = self._points.get(name, []), self._recent.get(name, [])
        while self.held_bytes(name) > self.budget and (points or len(answers) > 1):
            if points:
                points.pop(0)  # by instant: the newest goes last
            else:
                answers.pop(0)
            self.dropped = True

    def hold_for_a_while(self) -> None:
        """Let what is held in memory go `hold_seconds` after now, unless asked again meanwhile."""
        if self.hold_seconds is None:
            return
        if self._release is not None:
            self._release.cancel()
        self._release = asyncio.get_running_loop().call_later(self.hold_seconds, self.release)

    def release(self) -> None:
        """Let every checkpoint and answer held in memory go and give the memory back (after any sweep under way:
        its checkpoints are kept in memory as it takes them)."""
        if any(self.sweeping(name) for name in self._sweeps):
            self.hold_for_a_while()
            return
        self._release = None
        if self._points or self._recent:
            self._points.clear()
            self._recent.clear()
            asyncio.get_running_loop().run_in_executor(None, give_back_memory)

    def sweeping(self, name: str) -> bool:
        task = self._sweeps.get(name)
        return task is not None and not task.done()

    def start_sweep(self, db: Database, projection: Projection, head: int | None = None) -> None:
        """Start a (lazy) sweep, unless one runs or the log grew by fewer than `per` since the last one began."""
        if self.sweep_every is None or self.sweeping(projection.name):
            return
        last = self._swept_at.get(projection.name)
        if head is not None and last is not None and 0 <= head - last < (self.per or EVENTS_PER_CHECKPOINT):
            return
        self._swept_at[projection.name] = head or 0
        every = self.sweep_every
        self._sweeps[projection.name] = asyncio.create_task(
            sweep(db, projection, self, every, per=self.per or EVENTS_PER_CHECKPOINT, persist=self.persist, lazy=True)
        )

    async def wait_for_sweeps(self) -> None:
        await asyncio.gather(*self._sweeps.values())


def _passes(start: Checkpoint | None, as_of: datetime, head: int) -> list[tuple[list[ColumnElement[bool]], bool]]:
    """What to fold on top of a checkpoint: events after its instant (by the time index) and those
    logged after it whatever their time (late arrivals); a pass that cannot find anything is left out.
    Folds do not depend on order, so the result is the full fold's."""
    by_time = event_log.c.occurred_at <= as_of
    if start is None:
        return [([by_time, event_log.c.seq <= head], False)]
    passes: list[tuple[list[ColumnElement[bool]], bool]] = []
    if start.at < as_of:
        passes.append(([event_log.c.occurred_at > start.at, by_time, event_log.c.seq <= start.upto], True))
    if start.upto < head:
        passes.append(([event_log.c.seq > start.upto, event_log.c.seq <= head, by_time], False))
    return passes


async def fold_as_of(
    db: Database, projection: Projection, as_of: datetime, checkpoints: Checkpoints | None = None
) -> InMemoryDocuments:
    """The read model as it stood at `as_of` (event time), folded in memory; the live one is untouched."""
    types = event_log.c.type.in_(sorted(projection.handles))
    async with db.sessions() as session:
        head = await log_head(session)
        start = None
        if checkpoints is not None:
            generation = await answering_generation(session, projection.name)
            start = checkpoints.nearest(projection.name, as_of, head, generation)
            kept = await nearest_checkpoint(session, projection.name, generation, as_of, head)
            if kept is not None and (start is None or kept[0] > start.at):
                at, upto = kept
                stored = await checkpoint_documents(session, projection.name, generation, at)
                if stored is not None:  # else pruned meanwhile: fold from the start found before
                    start = Checkpoint(at, upto, stored, generation)
                    checkpoints.remember(projection.name, start)
        docs = LayeredDocuments(start.docs) if start else InMemoryDocuments()
        folded = 0
        for where, by_time in _passes(start, as_of, head):
            async for page in stream_log(session, types, *where, by_time=by_time):
                for event in page:
                    projection.apply(docs, event)
                folded += len(page)
    if start is not None and folded == 0:
        result = start.docs  # nothing happened between the checkpoint and the answer: it is the answer
    else:
        result = docs.flatten() if isinstance(docs, LayeredDocuments) else docs
    if checkpoints is not None:
        answer = Checkpoint(as_of, head, result, generation)
        if folded >= CHECKPOINT_AFTER:
            checkpoints.remember(projection.name, answer)
        else:
            checkpoints.remember_answer(projection.name, answer)
        checkpoints.start_sweep(db, projection, head)
        checkpoints.hold_for_a_while()
        loop = asyncio.get_running_loop()
        # Kept for later questions, the answer holds what the report read as text again once it is made (the
        # caller makes it before it next waits): see `InMemoryDocuments.forget_decoded`.
        loop.call_soon(result.forget_decoded)
        if checkpoints.dropped:
            checkpoints.dropped = False
            # Once this answer is sent and what was let go is freed: C's allocator keeps freed memory for
            # the process unless asked to give it back.
            loop.call_soon(loop.run_in_executor, None, give_back_memory)
    return result


def next_boundary(instant: datetime, every: timedelta) -> datetime:
    """The next month start (for a monthly interval), else the next day start plus `every`."""
    if every >= timedelta(days=28):
        first = datetime(instant.year, instant.month, 1, tzinfo=UTC)
        return (first + timedelta(days=32)).replace(day=1)
    return datetime(instant.year, instant.month, instant.day, tzinfo=UTC) + every


async def sweep(
    db: Database,
    projection: Projection,
    checkpoints: Checkpoints,
    every: timedelta,
    *,
    per: int | None = None,
    persist: bool = False,
    lazy: bool = False,
    thin: bool = True,
) -> None:
    """One pass over the log in event-time order, leaving a checkpoint at each month start (or `every`)
    and, with `per`, after every `per` events of the read model.

    With `persist`, the checkpoints are also kept in the database and the pass starts from the newest
    one kept there (only the log past it is read); with `lazy`, it does nothing unless the log has grown
    by at least `per` events since that checkpoint. After a pass that kept checkpoints, those it no longer
    needs are dropped (`prune_checkpoints`: an answer still folds at most `per` events; with `thin` off all stay)."""
    types = event_log.c.type.in_(sorted(projection.handles))
    name = projection.name
    try:
        async with db.sessions() as session:
            head = await log_head(session)
            generation = await answering_generation(session, name)
            newest = None
            if persist:
                marks = await checkpoint_marks(session, name, generation)
                if marks and lazy and head - max(upto for _, upto in marks) < (per or 1):
                    return
                if marks and marks[-1][1] <= head:
                    at, upto = marks[-1]
                    stored = await checkpoint_documents(session, name, generation, at)
                    newest = None if stored is None else Checkpoint(at, upto, stored, generation)
            docs: InMemoryDocuments = LayeredDocuments(newest.docs) if newest else InMemoryDocuments()
            since = 0
            last: datetime | None = newest.at if newest else None
            if newest is not None:
                # Late arrivals before the newest checkpoint's instant, then the log after it in time order.
                late = [event_log.c.seq > newest.upto, event_log.c.seq <= head, event_log.c.occurred_at <= newest.at]
                async for page in stream_log(session, types, *late):
                    for event in page:
                        projection.apply(docs, event)
                    since += len(page)  # with no newer event, the newest checkpoint is taken again, covering them
            after = [event_log.c.seq <= head] + ([event_log.c.occurred_at > newest.at] if newest else [])
            boundary: datetime | None = next_boundary(newest.at, every) if newest else None

            async def take(at: datetime) -> None:
                nonlocal docs, since
                flat = docs.flatten() if isinstance(docs, LayeredDocuments) else docs
                point = Checkpoint(at, head, flat, generation)
                checkpoints.remember(name, point)
                if persist:
                    async with db.transaction() as writing:
                        await save_checkpoint(writing, name, generation, at, head, flat)
                docs, since = LayeredDocuments(flat), 0

            async for page in stream_log(session, types, *after, by_time=True):
                for event in page:
                    boundary = boundary or next_boundary(event.time, every)
                    if last is not None and event.time > last and per is not None and since >= per:
                        await take(last)  # every event up to `last` is folded (the pass is in time order)
                    while event.time > boundary:
                        await take(boundary)
                        boundary = next_boundary(boundary, every)
                    projection.apply(docs, event)
                    since += 1
                    last = event.time
            if persist and last is not None and since > 0:
                await take(last)  # the newest instant of the log, so the next sweep starts from here
            if persist and thin and per is not None:
                async with db.transaction() as writing:
                    await prune_checkpoints(writing, name, generation, types, per, newest.at if newest else None)
    except Exception:
        log.exception("checkpoint sweep of %s failed; as_of questions fold from the nearest checkpoint", name)

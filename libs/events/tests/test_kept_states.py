"""`KeptStates`: a `keep` aggregate's state as a committed unit of work left it serves the process's next command on
the stream, which reads the stream from that version on (no snapshot) and folds only the events after it. Another
process's events are not lost, a rolled-back unit of work is not believed, a stream whose event at the kept version
changed (a database restored) is loaded again, and a unit of work's own append is not read back."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, text

from pmo_events.runtime import AggregateType, CommandRuntime, EventStore, Metadata, UnitOfWork, pgdirect
from pmo_events.runtime.schema import events, snapshots

from .support import COUNTER, Counter, Incremented, migrated
from .test_poll_unit_of_work import db_url  # noqa: F401 (a fixture)
from .test_rebuild import counter_rows, counter_view

pytestmark = pytest.mark.integration

KEPT: AggregateType[Counter] = dataclasses.replace(COUNTER, keep=True)


class Refused(Exception):
    pass


async def increment(uow: UnitOfWork, counter: str, by: int, aggregate: AggregateType[Counter] = KEPT) -> int:
    """Load, decide, append with the state after (as a command does); the total it decided on."""
    loaded = await uow.load(aggregate, counter)
    after = loaded.state.model_copy(update={"total": loaded.state.total + by})
    await uow.append(aggregate, counter, loaded.version, [Incremented(counter_id=counter, by=by)], after)
    return loaded.state.total


def _runtime(db: Any, store: EventStore) -> CommandRuntime:
    return CommandRuntime(db, store, projectors=[counter_view])


def _counting(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counted = {"snapshot": 0, "load": 0}
    load_snapshot, load = store.load_snapshot, store.load

    async def counted_snapshot(session: Any, stream_id: str) -> Any:
        counted["snapshot"] += 1
        return await load_snapshot(session, stream_id)

    async def counted_load(session: Any, stream_id: str, **kwargs: Any) -> Any:
        counted["load"] += 1
        return await load(session, stream_id, **kwargs)

    monkeypatch.setattr(store, "load_snapshot", counted_snapshot)
    monkeypatch.setattr(store, "load", counted_load)
    return counted


async def _total(runtime: CommandRuntime, counter: str, aggregate: AggregateType[Counter] = KEPT) -> tuple[int, int]:
    async with runtime.unit_of_work(Metadata()) as uow:
        loaded = await uow.load(aggregate, counter)
    return loaded.state.total, loaded.version


async def test_a_kept_state_is_read_on_from_its_version_and_another_process_events_are_not_lost(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here, there = _runtime(db, store), _runtime(db, store)  # two worker processes on one database
    counter = str(uuid.uuid4())
    for by in range(1, 8):  # seven events: a snapshot at 5
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, by)
    counted = _counting(store, monkeypatch)
    async with here.unit_of_work(Metadata(actor="a")) as uow:
        assert await increment(uow, counter, 100) == 28
    assert counted == {"snapshot": 0, "load": 1}  # one read from the kept version on
    for by in (1000, 10000):  # the other process appends twice; this one's kept state is behind
        async with there.unit_of_work(Metadata(actor="b")) as uow:
            await increment(uow, counter, by)
    counted.update(snapshot=0, load=0)
    async with here.unit_of_work(Metadata(actor="a")) as uow:
        assert await increment(uow, counter, 5) == 11128
    assert counted == {"snapshot": 0, "load": 1}
    assert await _total(here, counter) == (11133, 11)
    assert await _total(there, counter) == (11133, 11)
    assert await _total(here, counter, COUNTER) == (11133, 11)  # the same as a fold from the snapshot
    await db.dispose()


async def test_a_rolled_back_unit_of_work_is_not_kept(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Its state (at a version the other process then takes with a different event) is not believed: the next
    command decides on the committed events (it is never kept, and the event-id check would refuse it too)."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here, there = _runtime(db, store), _runtime(db, store)
    counter = str(uuid.uuid4())
    async with here.unit_of_work(Metadata(actor="a")) as uow:
        await increment(uow, counter, 1)
    with pytest.raises(Refused):
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, 50)
            assert (await uow.load(KEPT, counter)).state.total == 51  # its own append, in its transaction
            raise Refused
    async with there.unit_of_work(Metadata(actor="b")) as uow:
        await increment(uow, counter, 7)
    assert await _total(here, counter) == (8, 2)
    await db.dispose()


async def test_a_stream_whose_event_at_the_kept_version_changed_is_loaded_again(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The stream's events replaced under the process (a database restored from another copy) with as many
    events: the kept state is not believed, whatever the versions say."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here, there = _runtime(db, store), _runtime(db, store)
    counter = str(uuid.uuid4())
    for by in (1, 2, 3):
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, by)
    assert await _total(here, counter) == (6, 3)
    async with db.transaction() as session:
        await session.execute(delete(snapshots).where(snapshots.c.stream_id == counter))
        await session.execute(delete(events).where(events.c.stream_id == counter))
        await session.execute(delete(counter_rows).where(counter_rows.c.counter_id == counter))
    for by in (10, 20, 30, 40):
        async with there.unit_of_work(Metadata(actor="b")) as uow:
            await increment(uow, counter, by, COUNTER)
    assert await _total(here, counter) == (100, 4)
    await db.dispose()


async def test_a_load_after_the_unit_of_work_appended_reads_nothing_and_sees_the_append(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A policy loading the stream its command just appended to (the project, for its dependencies) is given
    the state after the append; an append without the state after drops it (the next load reads)."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    runtime = _runtime(db, store)
    counter = str(uuid.uuid4())
    async with runtime.unit_of_work(Metadata(actor="a")) as uow:
        await increment(uow, counter, 2)
        counted = _counting(store, monkeypatch)
        assert (await uow.load(KEPT, counter)).state.total == 2
        assert counted == {"snapshot": 0, "load": 0}
        await uow.append(KEPT, counter, 1, [Incremented(counter_id=counter, by=3)])
        assert (await uow.load(KEPT, counter)).state.total == 5
        assert counted["load"] == 1
    monkeypatch.undo()
    assert await _total(runtime, counter) == (5, 2)
    assert await _total(runtime, counter, COUNTER) == (5, 2)
    await db.dispose()


async def test_states_let_go_by_forget_held_are_folded_again_by_the_next_command(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`CommandRuntime.forget_held` (the memory part, once a burst is over) empties the kept states as well as
    the polls' held ones: a portfolio kept after a command is ~5.7 MB. The next command folds the stream from its
    snapshot and events, decides on the same total, and is kept again."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    runtime = _runtime(db, store)
    counter = str(uuid.uuid4())
    for by in range(1, 8):  # seven events: a snapshot at 5
        async with runtime.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, by)
    assert len(runtime.kept) == 1
    runtime.forget_held()
    assert len(runtime.kept) == 0
    counted = _counting(store, monkeypatch)
    async with runtime.unit_of_work(Metadata(actor="a")) as uow:
        assert await increment(uow, counter, 100) == 28
    assert counted == {"snapshot": 1, "load": 1}  # folded again from the snapshot, not read on from a kept state
    assert len(runtime.kept) == 1
    counted.update(snapshot=0, load=0)
    assert await _total(runtime, counter) == (128, 8)
    assert counted == {"snapshot": 0, "load": 1}  # kept again
    await db.dispose()


async def test_a_kept_state_far_behind_its_stream_gives_way_to_the_newest_snapshot(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Review 2 of session 9 (F4): a kept state more than `snapshot_every` events behind (another worker's
    commands, a live catch-up) was folded event by event with the pure `evolve`, where a load from the newest
    snapshot folds fewer. The same state either way; no more folds than the snapshot's load."""
    folds = {"n": 0}

    def counting(state: Counter, event: Any) -> Counter:
        folds["n"] += 1
        return COUNTER.evolve(state, event)

    kept: AggregateType[Counter] = dataclasses.replace(KEPT, evolve=counting)
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here, there = _runtime(db, store), _runtime(db, store)
    counter = str(uuid.uuid4())
    async with here.unit_of_work(Metadata(actor="a")) as uow:
        await increment(uow, counter, 1, kept)  # kept here at version 1
    for _ in range(3 * kept.snapshot_every):  # the other worker appends, snapshots among them
        async with there.unit_of_work(Metadata(actor="b")) as uow:
            await increment(uow, counter, 1, kept)
    folds["n"] = 0
    async with there.unit_of_work(Metadata()) as uow:
        fresh = await uow.load(dataclasses.replace(kept, keep=False), counter)
    by_snapshot, folds["n"] = folds["n"], 0
    async with here.unit_of_work(Metadata()) as uow:
        via_kept = await uow.load(kept, counter)
    assert via_kept == fresh
    assert folds["n"] <= by_snapshot
    await db.dispose()


async def test_streams_loaded_together_are_read_in_one_statement_and_nothing_another_process_did_is_lost(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`load_together` (a project, its portfolio and the fiscal calendar) reads the kept streams' later events in
    one statement; each `load` after it answers as a load one by one would (another process's events folded in),
    with no statement, after an append to another stream too. A stream not kept, or one the unit of work appended
    to since, is read by its `load`."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here, there = _runtime(db, store), _runtime(db, store)
    a, b, c, d = (str(uuid.uuid4()) for _ in range(4))
    for counter in (a, b, c):
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, 1)
    for counter, by in ((a, 10), (c, 100), (c, 1000), (d, 7)):  # here is behind on a and c, and keeps no d
        async with there.unit_of_work(Metadata(actor="b")) as uow:
            await increment(uow, counter, by)
    counted = _counting(store, monkeypatch)
    together = {"statements": 0}
    load_after_each = store.load_after_each

    async def counted_together(session: Any, after: dict[str, int]) -> Any:
        together["statements"] += 1
        return await load_after_each(session, after)

    monkeypatch.setattr(store, "load_after_each", counted_together)
    async with here.unit_of_work(Metadata(actor="a")) as uow:
        await uow.load_together([(KEPT, a), (KEPT, b), (KEPT, c), (KEPT, d)])
        assert together == {"statements": 1} and counted == {"snapshot": 0, "load": 0}
        loaded = [await uow.load(KEPT, counter) for counter in (a, b)]
        assert [(x.state.total, x.version) for x in loaded] == [(11, 2), (1, 1)]
        assert counted == {"snapshot": 0, "load": 0}  # read ahead: no statement
        assert (await uow.load(KEPT, d)).state.total == 7 and counted["load"] == 1  # not kept here: loaded
        assert await increment(uow, a, 5) == 11  # a second load of a reads (the first was the one read ahead)
        assert counted["load"] == 2
        # an append drops its own stream's read-ahead only: c's still answers (as a read now would), no statement
        assert (await uow.load(KEPT, c)).state.total == 1101
        assert counted["load"] == 2
    async with here.unit_of_work(Metadata(actor="a")) as uow:  # one kept stream alone: no statement of its own
        await uow.load_together([(KEPT, a), (KEPT, d + "-none")])
        assert together == {"statements": 1}
    monkeypatch.undo()
    assert [await _total(here, counter) for counter in (a, b, c)] == [(16, 3), (1, 1), (1101, 3)]
    assert [await _total(there, counter, COUNTER) for counter in (a, b, c)] == [(16, 3), (1, 1), (1101, 3)]
    await db.dispose()


#: 20,000 events of 5,000 other streams, four each.
_OTHER_STREAMS = f"""
INSERT INTO {events.name} (event_id, stream_id, stream_type, version, type, data, occurred_at)
SELECT gen_random_uuid()::text, 'other-' || s, 'Counter', v, 'Incremented', '{{}}', now()
FROM generate_series(1, 5000) s, generate_series(1, 4) v
"""


async def test_streams_loaded_together_are_read_by_a_generic_plan_once_prepared(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """PostgreSQL keeps a generic plan of `load_together`'s statement (from the sixth execution on a connection)
    instead of planning it afresh on every command: `unnest` of a parameter array, estimated at 10 rows, made the
    planner judge the generic plan dearer each time (`pg_prepared_statements` counted custom plans only)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements' plans are PostgreSQL's")
    db = await migrated(db_url, tmp_path)
    async with db.engine.begin() as conn:  # a store of some size: on a few pages any plan is as cheap
        await conn.execute(text(_OTHER_STREAMS))
    await db.analyze(events)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    here = _runtime(db, store)
    streams = [str(uuid.uuid4()) for _ in range(3)]
    for counter in streams:
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await increment(uow, counter, 1)
    for turn in range(12):  # one command after another: the lender lends the same connection each time
        together = streams[: 2 + turn % 2]  # two streams, then three: one statement each
        async with here.unit_of_work(Metadata(actor="a")) as uow:
            await uow.load_together([(KEPT, counter) for counter in together])
            await increment(uow, together[0], 1)
    assert db.lender is not None
    direct = pgdirect.Direct(db.lender)
    try:
        plans = await direct.fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    finally:
        direct.give_back()
    together_plans = [(generic, custom) for text, generic, custom in plans if f"FROM {events.name} e JOIN" in text]
    assert sum(generic + custom for generic, custom in together_plans) == 12  # every read on the one connection
    assert all(generic >= 1 and custom <= 5 for generic, custom in together_plans), together_plans
    assert [await _total(here, counter) for counter in streams] == [(13, 13), (1, 1), (1, 1)]
    await db.dispose()

"""`HeldStates`: a subscription's polls keep the aggregates the last poll appended to, and use one again only
while its stream's last event is still the one the poll left. A command between two polls is not lost, a poll
rolled back after its end is not believed, and a state still current is not loaded again."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from pmo_events.runtime import CommandRuntime, EventStore, Metadata
from pmo_events.runtime.unit_of_work import HeldStates

from .support import COUNTER, migrated
from .test_poll_unit_of_work import _rows, db_url, increment  # noqa: F401 (db_url is a fixture)
from .test_rebuild import counter_view

pytestmark = pytest.mark.integration


async def _poll(runtime: CommandRuntime, held: HeldStates, increments: list[tuple[str, int]]) -> None:
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session, held)
        await poll.prefetch(COUNTER, [counter for counter, _ in increments])
        for counter, by in increments:
            poll.meta = Metadata(actor="subscription", causation_id=str(uuid.uuid4()))
            await increment(poll, counter, by)
        await poll.end()


def _counting_loads(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The streams the store loads from then on (one poll's prefetch or a load)."""
    loaded: list[str] = []
    load_many, load = store.load_many, store.load

    async def counted_many(session: Any, stream_ids: Any) -> Any:
        loaded.extend(stream_ids)
        return await load_many(session, stream_ids)

    async def counted(session: Any, stream_id: str, **kwargs: Any) -> Any:
        loaded.append(stream_id)
        return await load(session, stream_id, **kwargs)

    monkeypatch.setattr(store, "load_many", counted_many)
    monkeypatch.setattr(store, "load", counted)
    return loaded


async def test_a_command_between_two_polls_is_not_lost_and_an_untouched_state_is_not_loaded_again(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    runtime = CommandRuntime(db, store, projectors=[counter_view])
    moved, quiet = str(uuid.uuid4()), str(uuid.uuid4())
    held = HeldStates()
    await _poll(runtime, held, [(moved, 1), (quiet, 10), (moved, 2)])
    # A command (as over HTTP, its own unit of work and transaction) appends to one of the held streams.
    async with runtime.unit_of_work(Metadata(actor="someone")) as uow:
        await increment(uow, moved, 100)
    loaded = _counting_loads(store, monkeypatch)
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session, held)
        await poll.prefetch(COUNTER, [moved, quiet])
        assert sorted(loaded) == [moved]  # the stream the command moved is loaded again; the other one is held
        assert [(await poll.load(COUNTER, i)).state.total for i in (moved, quiet)] == [103, 10]
        await increment(poll, moved, 4)
        await increment(poll, quiet, 20)
        await poll.end()
    rows = await _rows(runtime)
    assert sorted(rows["view"]) == sorted([(moved, 107, 4), (quiet, 30, 2)])
    async with runtime.unit_of_work(Metadata()) as uow:
        assert (await uow.load(COUNTER, moved)).state.total == 107
        assert (await uow.load(COUNTER, quiet)).state.total == 30
    await db.dispose()


async def test_a_poll_rolled_back_after_its_end_is_not_believed(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Its states were held at its end; its transaction then failed (as when the offsets' statement fails):
    the next poll finds other last events and loads the streams again, even after a command made the stream
    as long again as the rolled-back poll had."""
    db = await migrated(db_url, tmp_path)
    runtime = CommandRuntime(db, EventStore(source="/pmo/test", topic="pmo.test.events"), projectors=[counter_view])
    counter = str(uuid.uuid4())
    held = HeldStates()
    await _poll(runtime, held, [(counter, 1)])
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            poll = runtime.for_poll(session, held)
            await increment(poll, counter, 50)
            await poll.end()
            raise RuntimeError("the offsets' statement failed")
    async with runtime.unit_of_work(Metadata(actor="someone")) as uow:  # version 2, as the rolled-back poll's
        await increment(uow, counter, 7)
    async with runtime.db.transaction() as session:
        poll = runtime.for_poll(session, held)
        loaded = await poll.load(COUNTER, counter)
        assert (loaded.version, loaded.state.total) == (2, 8)  # the command's, not the rolled-back poll's 51
        await increment(poll, counter, 3)
        await poll.end()
    assert (await _rows(runtime))["view"] == [(counter, 11, 3)]
    await db.dispose()


async def test_states_let_go_by_forget_held_are_loaded_again_by_the_next_poll(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`CommandRuntime.forget_held` (the memory part, once a burst is over) empties every `held_states` it
    handed out: the next poll loads the streams from the store and folds as before."""
    db = await migrated(db_url, tmp_path)
    store = EventStore(source="/pmo/test", topic="pmo.test.events")
    runtime = CommandRuntime(db, store, projectors=[counter_view])
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    held = runtime.held_states()
    await _poll(runtime, held, [(first, 1), (second, 10)])
    runtime.forget_held()
    loaded = _counting_loads(store, monkeypatch)
    await _poll(runtime, held, [(first, 2), (second, 20)])
    assert sorted(loaded) == sorted([first, second])
    loaded.clear()
    await _poll(runtime, held, [(first, 3)])
    assert loaded == []  # held again after the poll that loaded it
    assert sorted((await _rows(runtime))["view"]) == sorted([(first, 6, 3), (second, 30, 2)])
    await db.dispose()

"""The supervisor restarts whatever ends (an error, a return, a stray CancelledError), and says when it is stuck."""

from __future__ import annotations

import asyncio

from pmo_devstack.polling import eventually
from pmo_events.runtime.supervisor import LinkStatus, Supervisor, really_cancelled


async def test_every_kind_of_ending_is_restarted_and_counted() -> None:
    runs = {"raises": 0, "returns": 0, "cancelled": 0}

    async def raises() -> None:
        runs["raises"] += 1
        raise RuntimeError("boom")

    async def returns() -> None:
        runs["returns"] += 1

    async def cancelled_inside() -> None:  # how an aiokafka task ends when the broker dies under it
        runs["cancelled"] += 1
        raise asyncio.CancelledError

    supervisor = Supervisor(name="test", tick=0.05, max_backoff=0.1)
    for name, part in (("raises", raises), ("returns", returns), ("cancelled", cancelled_inside)):
        supervisor.add(name, part)
    await supervisor.start()
    await eventually(lambda: all(count >= 3 for count in supervisor.restarts().values()), timeout=10)
    for name, restarts in supervisor.restarts().items():
        assert runs[name] - restarts in (0, 1)  # the first run, plus each restart (the last may not have begun)
    assert supervisor.stuck() is None
    await supervisor.stop(grace=1)
    settled = dict(runs)
    await asyncio.sleep(0.3)
    assert runs == settled  # no restart after stop


async def test_stop_cancels_a_part_that_does_not_end_by_itself() -> None:
    seen: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append(really_cancelled())
            raise

    supervisor = Supervisor(name="test", tick=0.05)
    supervisor.add("forever", forever)
    await supervisor.start()
    await asyncio.sleep(0.1)
    await supervisor.stop(grace=0.1)
    assert seen == [True]  # a real cancellation is told apart from a stray CancelledError
    assert supervisor.restarts() == {"forever": 0}


async def test_a_supervisor_that_stops_turning_is_stuck() -> None:
    async def idle() -> None:
        await asyncio.sleep(3600)

    supervisor = Supervisor(name="test", tick=0.05)
    supervisor.add("idle", idle)
    await supervisor.start()
    assert supervisor.stuck() is None
    supervisor.heartbeat -= 60  # as if the watcher had not run for a minute
    assert "has not run for 6" in str(supervisor.stuck(after=30))  # no await since: the watcher could not tick
    assert supervisor._watcher is not None
    supervisor._watcher.cancel()  # the watcher itself died
    await asyncio.sleep(0.05)
    assert "ended" in str(supervisor.stuck())
    await supervisor.stop(grace=0.1)


def test_a_link_counts_how_long_it_has_been_down() -> None:
    link = LinkStatus()
    link.link_up()
    assert link.down_for() == 0
    link.link_down("broker gone")
    link.changed_at -= 20
    assert link.down_for() >= 20 and link.last_error == "broker gone"
    link.link_up()
    assert (link.down_for(), link.last_error) == (0, None)


async def test_a_part_without_a_stop_of_its_own_is_cancelled_at_once_not_after_the_grace() -> None:
    async def forever() -> None:
        await asyncio.sleep(3600)

    supervisor = Supervisor(name="test", tick=0.05)
    supervisor.add("loop", forever, cancel_at_stop=True)
    await supervisor.start()
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    await supervisor.stop(grace=10)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert supervisor.restarts() == {"loop": 0}

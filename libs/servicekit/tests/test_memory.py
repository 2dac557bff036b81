"""Memory a burst used is given back once the burst is over (pmo_servicekit.memory, issue 17)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import weakref

from pmo_servicekit.memory import give_back_after_bursts, give_back_memory


class _Done(Exception):
    pass


async def _run(counts: list[int], after: int = 100) -> list[int]:
    """`moved()` answers the next count after each check's wait; answers the counts at which memory was given back."""
    seen = iter(counts)
    current = [next(seen)]
    given: list[int] = []

    async def sleep(_seconds: float) -> None:
        try:
            current[0] = next(seen)
        except StopIteration:
            raise _Done from None

    with contextlib.suppress(_Done):
        await give_back_after_bursts(
            lambda: current[0], after=after, give_back=lambda: given.append(current[0]), sleep=sleep
        )
    return given


async def test_a_catch_up_is_given_back_once_at_its_end() -> None:
    # 1,000 events per check while catching up, then quiet: one trim, once the counts stop growing.
    assert await _run([0, 1000, 2000, 3000, 3000, 3000, 3000]) == [3000]
    assert await _run([0, 1000, 2000, 2050, 4000, 4000]) == [2050, 4000]


async def test_a_steady_trickle_is_given_back_every_so_many_events_and_a_quiet_process_never() -> None:
    assert await _run([0, 30, 60, 90, 120, 150, 180, 210, 240]) == [120, 240]
    assert await _run([0, 0, 0, 0, 10, 10]) == []


async def test_a_load_that_never_pauses_is_given_back_every_ten_checks() -> None:
    # 150 events per check, never fewer than `after` (100), so never "over": trimmed every 10 checks all the same.
    assert await _run([150 * i for i in range(25)]) == [1500, 3000]


def test_give_back_memory_calls_the_allocator_where_it_has_one() -> None:
    try:
        ctypes.CDLL(None).malloc_trim  # noqa: B018 (glibc's; absent elsewhere)
    except AttributeError:
        assert give_back_memory() is False
    else:
        assert give_back_memory() is True


class _Held:
    pass


async def test_the_bursts_cyclic_garbage_is_collected_before_the_memory_is_given_back() -> None:
    """A cycle left by the burst (no collection would come once it is over: collections off here) is freed by
    the time the allocator is asked to give memory back."""
    left: list[bool] = []
    counts = iter([0, 1000, 1000])
    current = [next(counts)]

    async def sleep(_seconds: float) -> None:
        try:
            current[0] = next(counts)
        except StopIteration:
            raise _Done from None

    gc.disable()
    try:
        cycle = _Held()
        cycle.itself = cycle  # type: ignore[attr-defined]
        alive = weakref.ref(cycle)
        del cycle
        assert alive() is not None
        with contextlib.suppress(_Done):
            await give_back_after_bursts(
                lambda: current[0], after=100, give_back=lambda: left.append(alive() is not None), sleep=sleep
            )
    finally:
        gc.enable()
    assert left == [False]


async def test_what_the_polls_held_is_let_go_before_the_collection_and_the_give_back() -> None:
    """`forget` (the runtime's `forget_held`: states a subscription's polls keep for the next one) runs first,
    so the collection and the allocator's give-back find them freed."""
    steps: list[str] = []
    counts = iter([0, 1000, 1000])
    current = [next(counts)]

    async def sleep(_seconds: float) -> None:
        try:
            current[0] = next(counts)
        except StopIteration:
            raise _Done from None

    with contextlib.suppress(_Done):
        await give_back_after_bursts(
            lambda: current[0],
            after=100,
            forget=lambda: steps.append("forget"),
            collect=lambda: steps.append("collect"),
            give_back=lambda: steps.append("give back"),
            sleep=sleep,
        )
    assert steps == ["forget", "collect", "give back"]

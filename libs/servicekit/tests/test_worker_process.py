"""A worker process runs calls away from the service process, is replaced when it died, and leaves when idle."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pmo_servicekit import worker_process
from pmo_servicekit.worker_process import WorkerProcess, WorkerTimeout


def _pid(worker: WorkerProcess) -> int:
    (pid,) = [process.pid for process in worker.pool()._processes.values()]  # the pool's one process
    assert pid is not None
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child that exited but was not yet reaped is a zombie
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_call_runs_in_another_process_and_a_killed_one_is_replaced() -> None:
    worker = WorkerProcess("test", warm_up=("os", "getpid"), idle_seconds=0)
    try:
        first = worker.call("os", "getpid")
        assert first != os.getpid() and first == _pid(worker)
        os.kill(first, signal.SIGKILL)
        again = worker.call("os", "getpid")
        assert again not in (first, os.getpid())
    finally:
        worker.close()


def test_an_idle_worker_process_exits_and_the_next_call_starts_another() -> None:
    worker = WorkerProcess("test", idle_seconds=1.0)
    try:
        first = worker.call("os", "getpid")
        deadline = time.monotonic() + 30
        while _alive(first) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(first)
        again = worker.call("os", "getpid")
        assert again != first and _alive(again)
    finally:
        worker.close()


async def test_run_waits_in_a_thread_for_the_call() -> None:
    worker = WorkerProcess("test", idle_seconds=0)
    try:
        assert await worker.run("math", "factorial", 5) == 120
    finally:
        worker.close()


def test_a_hung_call_ends_its_process_answers_503_and_the_next_call_runs_in_a_new_one() -> None:
    worker = WorkerProcess("test", idle_seconds=0, timeout_seconds=5.0)
    try:
        hung = worker.call("os", "getpid")
        started = time.monotonic()
        with pytest.raises(WorkerTimeout) as raised:
            worker.call("time", "sleep", 60)  # stands for a drawing or a solve that never ends
        assert time.monotonic() - started < 20
        assert raised.value.status == 503 and raised.value.headers["Retry-After"]
        deadline = time.monotonic() + 10
        while _alive(hung) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(hung)  # ended, not left running beside the next one
        again = worker.call("os", "getpid")
        assert again not in (hung, os.getpid()) and _alive(again)
    finally:
        worker.close()


def test_the_time_limit_counts_a_call_s_own_run_not_the_calls_queued_before_it() -> None:
    worker = WorkerProcess("test", idle_seconds=0, timeout_seconds=3.0)
    try:
        worker.call("os", "getpid")  # started and warm
        with ThreadPoolExecutor(max_workers=3) as callers:
            # three calls of 1.2 s each at once: the last waits about 2.4 s, then runs its own 1.2 s
            outcomes = list(callers.map(lambda _: worker.call("time", "sleep", 1.2), range(3)))
        assert outcomes == [None, None, None]
    finally:
        worker.close()


def test_a_call_queued_behind_a_hung_one_runs_in_the_next_process() -> None:
    worker = WorkerProcess("test", idle_seconds=0, timeout_seconds=5.0)
    try:
        worker.call("os", "getpid")
        with ThreadPoolExecutor(max_workers=2) as callers:
            hung = callers.submit(worker.call, "time", "sleep", 60)
            time.sleep(0.3)
            queued = callers.submit(worker.call, "os", "getpid")
            with pytest.raises(WorkerTimeout):
                hung.result(timeout=30)
            assert queued.result(timeout=30) != os.getpid()  # not cancelled with the hung call's process
    finally:
        worker.close()


def test_the_time_limit_does_not_count_starting_and_warming_up_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded machine spawning a process and its warm-up imports can take longer than a call may: the first
    call waits for them and then gets its whole limit (it timed out before, behind a 2 s warm-up)."""
    (tmp_path / "slow_start.py").write_text("import time\n\n\ndef warm_up() -> None:\n    time.sleep(2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # a spawned process gets this process's sys.path
    worker = WorkerProcess("test", warm_up=("slow_start", "warm_up"), idle_seconds=0, timeout_seconds=1.0)
    try:
        assert worker.call("os", "getpid") != os.getpid()
        with pytest.raises(WorkerTimeout):  # the call's own run is still limited
            worker.call("time", "sleep", 5)
    finally:
        worker.close()


def test_a_process_that_cannot_start_is_ended_after_the_start_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hung_start.py").write_text("import time\n\n\ndef warm_up() -> None:\n    time.sleep(60)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(worker_process, "START_SECONDS", 2.0)
    worker = WorkerProcess("test", warm_up=("hung_start", "warm_up"), idle_seconds=0, timeout_seconds=1.0)
    try:
        hung = _pid(worker)  # spawned with the pool, warming up for a minute
        started = time.monotonic()
        with pytest.raises(WorkerTimeout) as raised:
            worker.call("os", "getpid")
        assert time.monotonic() - started < 20 and raised.value.status == 503
        deadline = time.monotonic() + 10
        while _alive(hung) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(hung)  # ended, not left warming up beside the next one
    finally:
        worker.close()

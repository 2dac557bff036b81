"""Forked rebuild workers: a worker whose parent has gone ends at its next message instead of working on; the
CPUs a pod may use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pmo_events.runtime import rebuild_workers

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from pmo_events.runtime.rebuild_workers import ForkedWorker

    async def work(send):
        with open(sys.argv[1], "w") as out:
            out.write(str(os.getpid()))
        while True:  # a fold that reports each page
            send(("folded", "portfolio", 1))
            await asyncio.sleep(0.05)

    async def main():
        worker = ForkedWorker(work, name="rebuild-1")
        while True:
            worker.drain(lambda message: None)
            await asyncio.sleep(0.05)

    asyncio.run(main())
    """
)


def test_a_worker_ends_once_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT, str(pid_file)])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        time.sleep(0.3)
        assert _alive(worker)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(worker):
            assert time.monotonic() < deadline, "the orphaned worker kept working"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


MANY = textwrap.dedent(
    """
    import asyncio, os, sys
    from pmo_events.runtime.rebuild_workers import ForkedWorker

    def paging(number, pause):
        async def work(send):
            with open(f"{sys.argv[1]}.{number}", "w") as out:
                out.write(str(os.getpid()))
            while True:  # a fold that reports each page (every `pause` seconds)
                send(("folded", "portfolio", 1))
                await asyncio.sleep(pause)

        return work

    async def main():
        # the first pages often; the last ones write for a long time without a message
        workers = [ForkedWorker(paging(n, 0.05 if n == 0 else 600), name=f"rebuild-{n}") for n in range(3)]
        while True:
            for worker in workers:
                worker.drain(lambda message: None)
            await asyncio.sleep(0.05)

    asyncio.run(main())
    """
)


def test_a_worker_ends_once_its_starting_process_is_killed_whatever_workers_were_forked_after_it(
    tmp_path: Path,
) -> None:
    """Workers forked later inherit the starting process's reading ends of the earlier workers' pipes: each closes
    every one it does not own, so the first worker's next message still finds its pipe broken (s14-review R2)."""
    base = tmp_path / "worker"
    files = [Path(f"{base}.{n}") for n in range(3)]
    parent = subprocess.Popen([sys.executable, "-c", MANY, str(base)])
    try:
        deadline = time.monotonic() + 30
        while not all(f.exists() and f.read_text() for f in files):
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        first = int(files[0].read_text())
        time.sleep(0.3)
        assert _alive(first)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(first):
            assert time.monotonic() < deadline, "the orphaned worker kept working while a later one lived"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
        for f in files:
            if f.exists() and f.read_text() and _alive(int(f.read_text())):
                os.kill(int(f.read_text()), signal.SIGKILL)


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "100000 100000\n"}, 1),  # cgroup v2: one CPU
        ({"cpu.max": "150000 100000\n"}, 2),  # rounded up
        ({"cpu.max": "max 100000\n"}, 32),  # unlimited: the affinity
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
        ({"cpu/cpu.cfs_quota_us": "250000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 32),  # v1 unlimited
        ({"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "6400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 32),  # above the affinity
        ({}, 32),  # no cgroup files: the affinity
    ],
)
def test_pod_cpus_reads_the_cgroup_v2_or_v1_quota_else_the_affinity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], cpus: int
) -> None:
    """A pod limited to some CPUs of a 32-CPU node, its quota in cgroup v2's cpu.max or v1's cpu.cfs_quota_us /
    cpu.cfs_period_us (-1: unlimited), simulated (s14-review R3)."""
    root = _cgroup(tmp_path, files)

    def beneath_root(*parts: str) -> Path:  # /sys/fs/cgroup/... read from the simulated files
        path = Path(*parts)
        return root / path.relative_to("/sys/fs/cgroup") if path.is_relative_to("/sys/fs/cgroup") else path

    monkeypatch.setattr(rebuild_workers, "Path", beneath_root)
    monkeypatch.setattr(rebuild_workers.os, "sched_getaffinity", lambda pid: set(range(32)), raising=False)
    assert rebuild_workers.pod_cpus() == cpus

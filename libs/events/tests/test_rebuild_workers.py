"""Forked rebuild workers: a worker whose parent has gone ends at its next message instead of working on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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

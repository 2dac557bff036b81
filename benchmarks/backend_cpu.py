"""The CPU of one database's PostgreSQL backends between `start()` and `stop()`, counting the backends that exit
meanwhile too (a pool that closes and opens connections during the run: `load.ServerCpu` reads only the backends
alive at its end, so what an exited one spent is lost and a new one's startup is counted). A sampler in a child
process (its reads are not the measured process's CPU) reads /proc every `every` seconds: each backend's CPU as last
seen, less what it had at the start (0 for one that started after it); up to one interval of a backend that exits is
missed. The local server only (its backends are this machine's processes)."""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ms(pid: str) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS


def _backend_of(pid: str, database: str) -> bool | None:
    """Whether the process is one of the database's backends; None: not known yet (a backend just forked, its
    title not set: looked at again)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    if not title.startswith("postgres"):
        return False
    if not title.startswith("postgres: "):
        return None
    return f" {database} " in title


def _sample(database: str, every: float, pipe: Connection) -> None:
    known: dict[str, bool] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    started = True
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            mine = known.get(pid)
            if mine is None:
                mine = _backend_of(pid, database)
                if mine is not None:
                    known[pid] = mine
            if not mine:
                continue
            spent = _cpu_ms(pid)
            if spent is None:
                continue
            first.setdefault(pid, spent if started else 0.0)
            last[pid] = spent
        started = False
        if pipe.poll(every):
            pipe.recv()
            pipe.send((sum(last[p] - first[p] for p in last), len(last)))
            return


class BackendCpu:
    """`start()` before the measured work, `stop()` after it: (ms of CPU, backends seen)."""

    def __init__(self, database: str, every: float = 0.01) -> None:
        self.database, self.every = database, every
        self._pipe: Connection | None = None
        self._child: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        mine, theirs = multiprocessing.get_context("fork").Pipe()
        self._pipe = mine
        self._child = multiprocessing.get_context("fork").Process(
            target=_sample, args=(self.database, self.every, theirs), daemon=True
        )
        self._child.start()
        time.sleep(5 * self.every)  # its first look is the start

    def stop(self) -> tuple[float, int]:
        assert self._pipe is not None and self._child is not None
        self._pipe.send("stop")
        spent, seen = self._pipe.recv()
        self._child.join()
        return spent, seen

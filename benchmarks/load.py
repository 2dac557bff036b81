"""What every benchmark shares: wrk runs and their figures, a process tree's CPU time and RSS, peers."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
PEER_PYTHON = HERE / ".venv-peers" / "bin" / "python"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
#: wrk's --timeout: far above any latency a run should see, so that a slow answer still counts in the p99.
WRK_TIMEOUT_S = 30


@dataclass(frozen=True)
class Figures:
    """One target under one load: throughput, latency (ms) and server CPU per request (ms)."""

    name: str
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    cpu_ms: float
    #: wrk's own CPU over the run (user + system, ms): the load generator shares the cores with the server.
    client_cpu_ms: float = 0.0
    #: cores busy on the whole machine over the run (/proc/stat; anything else running counts too).
    machine_busy: float = float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_ms / max(self.requests, 1)

    @property
    def client_cpu_per_request(self) -> float:
        return self.client_cpu_ms / max(self.requests, 1)

    def line(self) -> str:
        return (
            f"{self.name:<56} {self.rate:8.0f}/s   p50 {self.p50:6.1f} ms   p99 {self.p99:6.1f} ms"
            f"   CPU {self.cpu_per_request:5.2f} ms/req   errors {self.errors}"
            f"   (wrk {self.client_cpu_per_request:4.2f} ms/req; machine busy {self.machine_busy:4.2f} cores)"
        )


def require_tools() -> None:
    missing = [tool for tool in ("wrk",) if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install -y wrk")
    if not PEER_PYTHON.exists():
        sys.exit("the peers' environment is missing: make bench-env")


def tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn workers, the broker's children...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_ms(pid: int) -> float:
    """User + system CPU time of the process tree, in milliseconds."""
    total = 0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total * 1000 / TICKS


def process_cpu_ms(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) of each given process, in milliseconds (gone ones are left out)."""
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) * 1000 / TICKS
    return spent


def backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving one database (the local server, read with psql)."""
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-At",
            "-c",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [int(line) for line in out.split()]


class ServerCpu:
    """CPU the database server spent for one database between `start()` and `stop()` (its backends')."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._before: dict[int, float] = {}

    def start(self) -> None:
        self._before = process_cpu_ms(backends(self.database))

    def stop(self) -> float:
        after = process_cpu_ms(backends(self.database))
        return sum(spent - self._before.get(pid, 0.0) for pid, spent in after.items())


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree, in MB."""
    total = 0
    for member in tree(pid):
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1])
        except OSError:
            continue
    return total * PAGE_SIZE / 1e6


class RssSampler:
    """Samples a process tree's RSS in a thread; `peak` and `samples` once stopped."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mb(self.pid))
            self._stop.wait(self.every)

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of every CPU since boot, from /proc/stat (idle counts iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, idle


def children_cpu_ms() -> float:
    """CPU of this process's children that have ended and been waited for (user + system, ms)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def _ms(text: str) -> float:
    if text == "nan":
        return float("nan")
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(
    name: str, url: str, pid: int, *, seconds: int, connections: int, token: str = "", request_file: Path | None = None
) -> Figures:
    """Drive `POST url` with wrk (two threads) and read the server's CPU time around the run; with `request_file`
    (path and body lines, `requests.lua`) the requests go to `url`'s host in turn."""
    script = HERE / ("requests.lua" if request_file else "post.lua")
    before, client_before, (busy_before, _idle) = cpu_ms(pid), children_cpu_ms(), machine_ticks()
    started = time.monotonic()
    out = subprocess.run(
        # wrk leaves a request unanswered after --timeout (2 s by default) out of its percentiles, counted only as
        # a socket timeout: a generous timeout keeps slow answers in the p99, and any timeout still counts as an error.
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={WRK_TIMEOUT_S}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_TOKEN": token, "BENCH_REQUESTS": str(request_file or "")},
    ).stdout
    spent = cpu_ms(pid) - before
    # wrk is the only child waited for in between: RUSAGE_CHILDREN's growth is its CPU.
    client, elapsed = children_cpu_ms() - client_before, time.monotonic() - started
    busy = (machine_ticks()[0] - busy_before) / TICKS / elapsed
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M))  # wrk pads "1.25s "
    if "99" not in percentiles:
        print(f"  {name}: wrk printed no latency percentiles:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    timeouts = re.search(r"timeout (\d+)", socket_errors.group(1)) if socket_errors else None
    if socket_errors:
        print(f"  {name}: socket errors {socket_errors.group(1)}")
    return Figures(
        name=name,
        requests=requests,
        seconds=float(seconds),
        p50=_ms(percentiles.get("50", "nan")),
        p99=_ms(percentiles.get("99", "nan")),
        errors=(int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0),
        cpu_ms=spent,
        client_cpu_ms=client,
        machine_busy=busy,
    )


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def start_peer(app: str, port: int, env: dict[str, str], workers: int = 1) -> subprocess.Popen[bytes]:
    """One peer app under uvicorn (one worker unless asked, uvloop and httptools as the services get them).

    With several workers, one worker is started and stopped first so that the peer's tables exist before they
    start: workers racing each other's CREATE TABLE lose one (pyeventsourcing's died so once, session 9).
    """
    if workers > 1:
        first = start_peer(app, port, env)
        first.terminate()
        first.wait(10)
    process = subprocess.Popen(
        [str(PEER_PYTHON), "-m", "uvicorn", f"{app}:app", "--port", str(port), "--log-level", "warning"]
        + (["--workers", str(workers)] if workers > 1 else []),
        cwd=PEERS,
        env={**os.environ, **env},
    )
    wait_http(f"http://127.0.0.1:{port}/docs")
    return process


def es_env(database: str) -> dict[str, str]:
    """pyeventsourcing's PostgreSQL settings for a database on the local server."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "POSTGRES_POOL_SIZE": "10",
        "CREATE_TABLE": "y",
    }

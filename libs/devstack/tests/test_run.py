"""The `run` loop in a real supervisor process: banner, SIGTERM/SIGINT stop all, SIGKILL leaves no orphans."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pmo_devstack.broker import HOST, free_port, port_is_open
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")
# The stack with the fake services of test_stack.py, driven by the very `run` that `make run` uses.
SUPERVISOR = r"""
import json, sys
from pathlib import Path
from pmo_devstack.__main__ import run
from pmo_devstack.stack import Stack
config = json.loads(sys.argv[1])
def command(service, action):
    return [sys.executable, config["fake"], action, service]
stack = Stack(Path(config["data_dir"]), ports=config["ports"], command_for=command)
raise SystemExit(run(stack, poll_interval=0.1))
"""


@dataclass
class Supervisor:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if match := re.search(pattern, line):
                    return match
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                output = "\n".join(self.seen)
                raise AssertionError(f"no line matching {pattern!r}; output:\n{output}") from None

    def service_pids(self) -> list[int]:
        return [int(self.wait_for(rf"serving {name} pid=(\d+)").group(1)) for name in SERVICES]


def _read(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Supervisor]]:
    """Start a supervisor process; keyword arguments go into its environment (and its children's)."""
    started: list[Supervisor] = []

    def start(**extra_env: str) -> Supervisor:
        ports = _free_ports()
        config = {"data_dir": str(tmp_path / "var"), "ports": ports, "fake": str(FAKE_SERVICE)}
        env = {**os.environ, "NO_COLOR": "1", **extra_env}
        env.pop("PMO_KAFKA_BOOTSTRAP_SERVERS", None)
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        sup = Supervisor(process, ports)
        threading.Thread(target=_read, args=(process, sup.lines), daemon=True).start()
        started.append(sup)
        return sup

    yield start
    for sup in started:
        if sup.process.poll() is None:
            sup.process.kill()
            sup.process.wait()


@pytest.fixture
def supervisor(launch: Callable[..., Supervisor]) -> Supervisor:
    return launch()


def _free_ports() -> dict[str, int]:
    ports: set[int] = set()
    while len(ports) < len(SERVICES):
        ports.add(free_port())
    return dict(zip(SERVICES, sorted(ports), strict=True))


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_child_and_exits_zero(supervisor: Supervisor, sig: signal.Signals) -> None:
    supervisor.wait_for("PMO embedded stack is up")
    broker_port = int(supervisor.wait_for(r"broker\s+127\.0\.0\.1:(\d+) \(embedded").group(1))
    supervisor.wait_for(r"make token ROLES=board_member SUB=alice")
    supervisor.wait_for(r"Authorization: Bearer \$\(make -s token ")
    supervisor.wait_for(r"intake\s+http://127\.0\.0\.1:\d+/docs")
    pids = supervisor.service_pids()
    supervisor.process.send_signal(sig)
    assert supervisor.process.wait(20) == 0
    wait_until(lambda: all(_gone(pid) for pid in pids), "every child gone", timeout=2)
    for port in [*supervisor.ports.values(), broker_port]:
        assert not port_is_open(HOST, port)
    supervisor.wait_for(r"^\[devstack\]\s+stopped$", timeout=5)


@pytest.mark.integration
def test_a_dead_service_is_reported_and_the_others_keep_running(supervisor: Supervisor) -> None:
    supervisor.wait_for("PMO embedded stack is up")
    pids = supervisor.service_pids()
    os.kill(pids[1], signal.SIGKILL)
    supervisor.wait_for(r"portfolio exited unexpectedly \(code -9\)")
    assert supervisor.process.poll() is None
    assert all(not _gone(pid) for pid in pids[:1] + pids[2:])
    supervisor.process.terminate()
    assert supervisor.process.wait(20) == 0
    wait_until(lambda: all(_gone(pid) for pid in pids), "every child gone", timeout=10)


@pytest.mark.integration
def test_a_killed_supervisor_leaves_no_orphans(supervisor: Supervisor) -> None:
    supervisor.wait_for("PMO embedded stack is up")
    broker_port = int(supervisor.wait_for(r"broker\s+127\.0\.0\.1:(\d+) \(embedded").group(1))
    pids = supervisor.service_pids()
    supervisor.process.kill()
    supervisor.process.wait()
    wait_until(lambda: all(_gone(pid) for pid in pids), "every child gone", timeout=10)
    wait_until(lambda: not port_is_open(HOST, broker_port), "the broker's port to close", timeout=10)


@pytest.mark.integration
def test_a_signal_during_start_up_stops_what_was_started(launch: Callable[..., Supervisor]) -> None:
    supervisor = launch(FAKE_MODE_REPORTING="unready")  # start() keeps waiting for reporting
    pids = supervisor.service_pids()
    supervisor.process.terminate()
    assert supervisor.process.wait(20) == 0
    wait_until(lambda: all(_gone(pid) for pid in pids), "every child gone", timeout=2)
    assert not any(port_is_open(HOST, port) for port in supervisor.ports.values())
    supervisor.wait_for(r"^\[devstack\]\s+stopped$", timeout=5)
    assert not any("PMO embedded stack is up" in line for line in supervisor.seen)

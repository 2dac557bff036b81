"""Stack supervision with real child processes: fake services that serve /health/ready."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pmo_devstack.broker import HOST, free_port, port_is_open
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack, StackError

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")


def fake_command(service: str, action: str) -> list[str]:
    return [sys.executable, str(FAKE_SERVICE), action, service]


def free_ports() -> dict[str, int]:
    ports: set[int] = set()
    while len(ports) < len(SERVICES):
        ports.add(free_port())
    return dict(zip(SERVICES, sorted(ports), strict=True))


def gone(pid: int) -> bool:
    """No such process, or only a zombie left of it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def ready(stack: Stack, name: str) -> bool:
    try:
        return httpx.get(stack.url(name) + "/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class LoggedStack(Stack):
    """A stack whose log lines the test reads back."""

    lines: list[str]


def process_of(stack: Stack, name: str) -> subprocess.Popen[bytes]:
    """The service's process, which the test has started."""
    process = stack.process(name)
    assert process is not None, f"{name} was never started"
    return process


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., LoggedStack]]:
    made: list[Stack] = []

    def make(**kwargs: Any) -> LoggedStack:
        lines: list[str] = []
        kwargs.setdefault("ports", free_ports())
        kwargs.setdefault("bootstrap_servers", "127.0.0.1:1")
        kwargs.setdefault("log", lines.append)
        stack = LoggedStack(tmp_path / "var", command_for=fake_command, **kwargs)
        stack.lines = lines
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.stop(timeout=2)


# -- without processes -------------------------------------------------------------------------


def test_env_for_a_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMO_AUTH_ISSUER", "someone-else")
    monkeypatch.setenv("PMO_HTTP_PORT", "1")
    monkeypatch.setenv("PMO_DATABASE_URL", "postgresql+asyncpg://elsewhere/db")
    stack = Stack(tmp_path, bootstrap_servers="kafka:9092", extra_env={"PMO_EXTRA": "x"})
    env = stack.env_for("portfolio")
    assert env["PMO_ENV"] == "development"
    assert env["PMO_DATA_DIR"] == str(tmp_path.resolve())
    assert env["PMO_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path.resolve()}/portfolio.db"
    assert env["PMO_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert (env["PMO_HTTP_HOST"], env["PMO_HTTP_PORT"]) == ("127.0.0.1", "8002")
    assert env["PMO_AUTH_PUBLIC_KEY_FILE"] == f"{tmp_path.resolve()}/dev-keys/public.pem"
    assert env["PMO_AUTH_ISSUER"] == "someone-else"  # the caller's PMO_* wins over a default
    assert env["PMO_AUTH_AUDIENCE"] == "pmo"
    assert env["PYTHONUNBUFFERED"] == "1" and env["PMO_EXTRA"] == "x"
    assert env["PATH"] == os.environ["PATH"]


def test_defaults_and_from_env(tmp_path: Path) -> None:
    stack = Stack.from_env({"PMO_DATA_DIR": str(tmp_path), "PMO_KAFKA_BOOTSTRAP_SERVERS": "k:9092"})
    assert stack.data_dir == tmp_path.resolve() and stack.bootstrap_servers == "k:9092"
    assert [stack.url(name) for name in SERVICES] == [f"http://127.0.0.1:{p}" for p in range(8001, 8005)]
    assert stack.command("intake", "migrate") == [sys.executable, "-m", "pmo_intake", "migrate"]
    assert Stack.from_env({}).data_dir == Path("var").resolve()
    assert Stack.from_env({}).bootstrap_servers is None  # embedded broker, started by start()
    with pytest.raises(ValueError, match="no port"):
        Stack(tmp_path, services=["intake", "billing"])


# -- with processes ----------------------------------------------------------------------------


@pytest.mark.integration
def test_start_serves_every_service_and_stop_leaves_nothing(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack(bootstrap_servers=None)  # the embedded broker too
    stack.start()
    broker = stack.broker
    assert broker is not None and port_is_open(HOST, broker.port)
    pids = {name: process_of(stack, name).pid for name in SERVICES}
    for name in SERVICES:
        assert ready(stack, name)
        env = httpx.get(stack.url(name) + "/env").json()
        assert env["PMO_KAFKA_BOOTSTRAP_SERVERS"] == broker.bootstrap_servers
        assert env["PMO_HTTP_PORT"] == str(stack.ports[name])
    assert (stack.data_dir / "dev-keys" / "public.pem").exists()
    assert "[intake]     migrating intake" in stack.lines
    assert any(line.startswith("[resourcing] serving") for line in stack.lines)

    stack.stop()
    assert all(gone(pid) for pid in pids.values())
    assert broker.process.returncode is not None and stack.broker is None
    for port in [*stack.ports.values(), broker.port]:
        assert not port_is_open(HOST, port) and bindable(port)
    assert stack.exited() == []


@pytest.mark.integration
def test_kill_then_start_service(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack()
    with stack:
        old = process_of(stack, "intake").pid
        stack.kill_service("intake")
        assert gone(old) and not stack.running("intake")
        assert not port_is_open(HOST, stack.ports["intake"])
        assert all(ready(stack, name) for name in SERVICES[1:])
        stack.start_service("intake")
        assert ready(stack, "intake") and process_of(stack, "intake").pid != old
        assert stack.exited() == []  # deliberate, so not reported
        stack.stop_service("portfolio")
        assert not stack.running("portfolio") and not port_is_open(HOST, stack.ports["portfolio"])
        with pytest.raises(StackError, match="already running"):
            stack.start_service("intake")


@pytest.mark.integration
def test_kill_broker_then_restart_it_on_the_same_port_empty(make_stack: Callable[..., LoggedStack]) -> None:
    with make_stack(bootstrap_servers=None) as stack:
        broker = stack.broker
        assert broker is not None
        port = stack.kill_broker()
        assert port == broker.port and broker.process.returncode == -signal.SIGKILL
        assert not port_is_open(HOST, port)
        stack.restart_broker()
        assert stack.broker is not None and stack.broker.port == port and stack.broker is not broker
        assert port_is_open(HOST, port) and stack.bootstrap_servers == f"{HOST}:{port}"
        assert stack.exited() == []  # deliberate, so not reported
        with pytest.raises(StackError, match="kill_broker"):
            stack.restart_broker()  # it runs
    assert stack.broker is None and not port_is_open(HOST, port)


@pytest.mark.integration
def test_an_unexpected_death_is_reported_once(make_stack: Callable[..., LoggedStack]) -> None:
    with make_stack() as stack:
        os.kill(process_of(stack, "reporting").pid, signal.SIGKILL)
        wait_until(lambda: not stack.running("reporting"), "reporting to stop", timeout=10)
        assert stack.exited() == [("reporting", -9)]
        assert stack.exited() == []
        assert all(ready(stack, name) for name in SERVICES[:3])


@pytest.mark.integration
def test_stop_kills_a_service_that_ignores_sigterm(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack(extra_env={"FAKE_MODE_PORTFOLIO": "stubborn"})
    stack.start()
    pid = process_of(stack, "portfolio").pid
    started = time.monotonic()
    stack.stop(timeout=1.0)
    assert time.monotonic() - started < 5
    assert gone(pid) and process_of(stack, "portfolio").returncode == -9


@pytest.mark.integration
def test_failed_migration_stops_loudly(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack(bootstrap_servers=None, extra_env={"FAKE_MIGRATE_FAIL": "resourcing"})
    with pytest.raises(StackError, match="exit code 2") as failure:
        stack.start()
    assert "alembic: table already exists" in str(failure.value)
    assert stack.broker is None
    assert all(stack.process(name) is None for name in SERVICES)  # no service was started


@pytest.mark.integration
def test_a_service_that_dies_at_start_fails_with_its_output(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack(extra_env={"FAKE_MODE_PORTFOLIO": "crash"})
    with pytest.raises(StackError, match="portfolio exited with code 3") as failure:
        stack.start()
    assert "boom: cannot start" in str(failure.value)
    for name in SERVICES:
        assert not stack.running(name) and not port_is_open(HOST, stack.ports[name])


@pytest.mark.integration
def test_a_service_never_ready_times_out_with_the_reason(make_stack: Callable[..., LoggedStack]) -> None:
    stack = make_stack(extra_env={"FAKE_MODE_INTAKE": "unready"}, ready_timeout=1.0)
    with pytest.raises(StackError, match="intake was not ready") as failure:
        stack.start()
    assert "HTTP 503: broker: not reachable" in str(failure.value)
    assert "serving intake" in str(failure.value)
    assert not any(stack.running(name) for name in SERVICES)


@pytest.mark.integration
def test_a_taken_port_fails_before_anything_starts(make_stack: Callable[..., LoggedStack]) -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen()
        stack = make_stack(ports={**free_ports(), "reporting": sock.getsockname()[1]})
        with pytest.raises(StackError, match="already in use for reporting"):
            stack.start()
    assert not (stack.data_dir / "dev-keys").exists()

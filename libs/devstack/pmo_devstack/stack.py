"""The embedded stack: broker plus the four services as supervised processes on one machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from pmo_devstack import keys, procs
from pmo_devstack.broker import HOST, EmbeddedBroker, port_is_open, start_broker

SERVICES: tuple[str, ...] = ("intake", "portfolio", "resourcing", "reporting")
DEFAULT_PORTS: dict[str, int] = {"intake": 8001, "portfolio": 8002, "resourcing": 8003, "reporting": 8004}
READY_PATH = "/health/ready"
SELF = "devstack"

CommandFor = Callable[[str, str], Sequence[str]]
"""`command_for(service, action)` → argv; action is "migrate" or "serve"."""


class StackError(RuntimeError):
    """A piece of the stack failed to start; the message carries the process's last output."""


class Stack:
    """Starts, watches and stops the broker and the services; usable from tests and the CLI.

    Start it from the main thread (or another thread that outlives it): children are bound to
    the starting thread by PR_SET_PDEATHSIG so that a killed supervisor leaves no orphans.
    """

    def __init__(
        self,
        data_dir: Path,
        ports: Mapping[str, int] | None = None,
        bootstrap_servers: str | None = None,
        python: str = sys.executable,
        extra_env: Mapping[str, str] | None = None,
        log: procs.LogSink | None = None,
        *,
        services: Sequence[str] = SERVICES,
        command_for: CommandFor | None = None,
        ready_timeout: float = 60.0,
        migrate_timeout: float = 120.0,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.services = tuple(services)
        self.ports = {**DEFAULT_PORTS, **(ports or {})}
        missing = [name for name in self.services if name not in self.ports]
        if missing:
            raise ValueError(f"no port for {', '.join(missing)}")
        self.python = python
        self.extra_env = dict(extra_env or {})
        #: Per-service overrides that win over everything (e.g. one service on PostgreSQL).
        self.service_env = {name: dict(env) for name, env in (service_env or {}).items()}
        self.ready_timeout = ready_timeout
        self.migrate_timeout = migrate_timeout
        self._external_bootstrap = bootstrap_servers
        self._command_for = command_for or self._default_command
        width = max(len(name) for name in (*self.services, "broker", SELF)) + 2
        self._console = procs.Console(log, width)
        self._broker: EmbeddedBroker | None = None
        self._broker_child: procs.Child | None = None
        self._children: dict[str, procs.Child] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: object) -> Stack:
        """A stack configured like `make run`: PMO_DATA_DIR (default ./var) and, when set,
        PMO_KAFKA_BOOTSTRAP_SERVERS (then no embedded broker); keyword arguments win."""
        environ = os.environ if environ is None else environ
        kwargs.setdefault("data_dir", Path(environ.get("PMO_DATA_DIR") or "var"))
        kwargs.setdefault("bootstrap_servers", environ.get("PMO_KAFKA_BOOTSTRAP_SERVERS") or None)
        return cls(**kwargs)  # type: ignore[arg-type]

    # -- what the stack looks like ------------------------------------------------------------

    @property
    def broker(self) -> EmbeddedBroker | None:
        """The embedded broker while it runs; None with an external Kafka or before start()."""
        return self._broker

    @property
    def bootstrap_servers(self) -> str | None:
        if self._external_bootstrap:
            return self._external_bootstrap
        return self._broker.bootstrap_servers if self._broker else None

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.ports[name]}"

    def process(self, name: str) -> subprocess.Popen[bytes] | None:
        """The service's current (or last) process; None when it was never started."""
        child = self._children.get(name)
        return child.process if child else None

    def running(self, name: str) -> bool:
        child = self._children.get(name)
        return child is not None and child.running()

    def command(self, name: str, action: str) -> list[str]:
        return list(self._command_for(name, action))

    def env_for(self, name: str) -> dict[str, str]:
        """The child's environment: defaults < os.environ < the stack's per-service values < extra_env."""
        _, public_key = keys.dev_key_paths(self.data_dir)
        signing_key, _ = keys.event_key_paths(self.data_dir, name)
        defaults = {
            "PMO_ENV": "development",
            "PMO_AUTH_PUBLIC_KEY_FILE": str(public_key),
            "PMO_AUTH_ISSUER": keys.ISSUER,
            "PMO_AUTH_AUDIENCE": keys.AUDIENCE,
            "PMO_EVENT_VERIFY_KEYS_DIR": str(keys.event_keys_dir(self.data_dir) / "public"),
            "PYTHONUNBUFFERED": "1",
        }
        if name in keys.PUBLISHERS:
            defaults["PMO_EVENT_SIGNING_KEY_FILE"] = str(signing_key)
        per_service = {
            "PMO_DATA_DIR": str(self.data_dir),
            "PMO_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}",
            "PMO_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers or "",
            "PMO_HTTP_HOST": HOST,
            "PMO_HTTP_PORT": str(self.ports[name]),
        }
        return {**defaults, **os.environ, **per_service, **self.extra_env, **self.service_env.get(name, {})}

    def log(self, text: str) -> None:
        """A line from the supervisor itself, prefixed `[devstack]`."""
        self._console.emit(SELF, text)

    # -- starting -------------------------------------------------------------------------------

    def start(self) -> None:
        """Keys, broker, migrations one service at a time, then every service until it is ready."""
        try:
            self._check_ports_free(self.services)
            self._prepare()
            for name in self.services:
                self.migrate(name)
            for name in self.services:
                self._spawn(name)
            self.wait_ready(*self.services)
        except BaseException:
            self.stop()
            raise

    def migrate(self, name: str) -> None:
        """Run the service's `migrate` command to completion; StackError with its output on failure."""
        self._prepare()
        argv = self.command(name, "migrate")
        child = procs.spawn(name, argv, self.env_for(name), self._console)
        child.expected_exit = True
        try:
            code = child.process.wait(self.migrate_timeout)
        except subprocess.TimeoutExpired:
            procs.terminate([child], timeout=5.0)
            raise StackError(
                f"{name}: `{' '.join(argv)}` did not finish within {self.migrate_timeout:.0f}s:\n{child.last_lines()}"
            ) from None
        except BaseException:
            procs.terminate([child], timeout=5.0)
            raise
        finally:
            child.close()
        if code != 0:
            raise StackError(f"{name}: `{' '.join(argv)}` failed with exit code {code}:\n{child.last_lines()}")

    def start_service(self, name: str, *, wait_ready: bool = True) -> None:
        """Start one service (no migration) and, by default, wait until it answers ready."""
        if self.running(name):
            raise StackError(f"{name} is already running (pid {self._children[name].pid})")
        self._check_ports_free([name])
        self._prepare()
        self._spawn(name)
        if wait_ready:
            try:
                self.wait_ready(name)
            except BaseException:
                self.stop_service(name)
                raise

    def wait_ready(self, *names: str, timeout: float | None = None) -> None:
        """Wait until each service answers 200 on /health/ready; StackError with its last output."""
        pending = list(names or self._children)
        deadline = time.monotonic() + (self.ready_timeout if timeout is None else timeout)
        reasons: dict[str, str] = {}
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while pending:
                for name in list(pending):
                    reason = self._probe(client, name)
                    if reason is None:
                        pending.remove(name)
                        self.log(f"{name} is ready on {self.url(name)}")
                    else:
                        reasons[name] = reason
                if pending and time.monotonic() > deadline:
                    name = pending[0]
                    raise StackError(
                        f"{name} was not ready after {timeout or self.ready_timeout:.0f}s "
                        f"({reasons[name]}); last output:\n{self._children[name].last_lines()}"
                    )
                if pending:
                    time.sleep(0.2)

    def _probe(self, client: httpx.Client, name: str) -> str | None:
        child = self._children[name]
        if not child.running():
            child.reported = True
            child.close()
            raise StackError(
                f"{name} exited with code {child.process.returncode} before it was ready; "
                f"last output:\n{child.last_lines()}"
            )
        try:
            response = client.get(self.url(name) + READY_PATH)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if response.status_code == 200:
            return None
        return f"HTTP {response.status_code}: {response.text[:300]}"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        keys.ensure_dev_keys(self.data_dir)
        keys.ensure_event_keys(self.data_dir)
        if self._external_bootstrap or self._broker is not None:
            return
        self._broker = start_broker(stdout=subprocess.PIPE)
        self._broker_child = procs.attach("broker", self._broker.process, self._console)
        self.log(f"embedded broker (Tansu, memory only) on {self._broker.bootstrap_servers}")

    def _spawn(self, name: str) -> None:
        argv = self.command(name, "serve")
        self._children[name] = procs.spawn(name, argv, self.env_for(name), self._console)

    def _check_ports_free(self, names: Sequence[str]) -> None:
        taken = [f"{name} ({self.ports[name]})" for name in names if port_is_open(HOST, self.ports[name])]
        if taken:
            raise StackError(f"port already in use for {', '.join(taken)}: is another `make run` still running?")

    def _default_command(self, name: str, action: str) -> list[str]:
        return [self.python, "-m", f"pmo_{name}", action]

    # -- stopping -------------------------------------------------------------------------------

    def stop_service(self, name: str, timeout: float = 10.0) -> None:
        """SIGTERM the service, wait up to `timeout` seconds, then SIGKILL it."""
        child = self._children.get(name)
        if child is not None:
            procs.terminate([child], timeout)

    def kill_service(self, name: str, sig: int = signal.SIGKILL, *, wait: bool = True) -> None:
        """Send `sig` to a running service (a crash on purpose); with `wait`, until it has exited."""
        child = self._children.get(name)
        if child is None or not child.running():
            raise StackError(f"{name} is not running")
        child.expected_exit = True
        child.signal(sig)
        if wait:
            child.process.wait(10.0)
            child.close()

    def kill_broker(self, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the embedded broker (a crash on purpose), wait until it has exited; answers its port."""
        broker, child = self._broker, self._broker_child
        if broker is None or child is None:
            raise StackError("no embedded broker is running")
        child.expected_exit = True
        broker.process.send_signal(sig)
        broker.process.wait(10.0)
        child.close()
        return broker.port

    def restart_broker(self) -> None:
        """A fresh embedded broker on the same port as the last one (memory only: it starts empty)."""
        broker = self._broker
        if broker is None:
            raise StackError("no embedded broker was started")
        if broker.process.poll() is None:
            raise StackError(f"the broker still runs (pid {broker.process.pid}); kill_broker() first")
        self._broker = start_broker(broker.port, stdout=subprocess.PIPE)
        self._broker_child = procs.attach("broker", self._broker.process, self._console)
        self.log(f"embedded broker restarted on {self._broker.bootstrap_servers} (empty)")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every child: services first (SIGTERM, then SIGKILL after `timeout`), the broker last."""
        alive = [child for child in self._children.values() if child.running()]
        names = [child.name for child in alive] + (["broker"] if self._broker else [])
        if names:
            self.log(f"stopping {', '.join(names)}")
        procs.terminate(alive, timeout)
        for child in self._children.values():
            child.close()
        if self._broker is not None and self._broker_child is not None:
            self._broker_child.expected_exit = True
            self._broker.stop()
            self._broker_child.close()
            self._broker = None
        if names:
            self.log("stopped")

    def exited(self) -> list[tuple[str, int]]:
        """Children that died on their own since the last call, as (name, exit code); each once."""
        found = []
        for child in [*self._children.values(), self._broker_child]:
            if child is None or child.expected_exit or child.reported or child.running():
                continue
            child.reported = True
            child.close()
            found.append((child.name, int(child.process.returncode or 0)))
        return found

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

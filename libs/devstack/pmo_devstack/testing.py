"""Test support: one real service on a real port (uvicorn in the test's loop) with real tokens."""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvicorn
from pydantic import BaseModel
from sqlalchemy import MetaData

from pmo_devstack.broker import free_port
from pmo_devstack.keys import (
    AUDIENCE,
    ISSUER,
    PUBLISHERS,
    dev_key_paths,
    ensure_dev_keys,
    ensure_event_keys,
    event_key_paths,
    event_signer,
    mint_token,
)
from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, KafkaSettings, fold
from pmo_events.runtime.migrate import upgrade
from pmo_events.runtime.store import kafka_record
from pmo_servicekit.app import create_app
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime
from pmo_servicekit.settings import ServiceSettings

S = TypeVar("S", bound=BaseModel)
E = TypeVar("E", bound=Event)
T = TypeVar("T")


def given(aggregate: AggregateType[S], *events: Event, stream_id: str = "s-1") -> S:
    """The aggregate after `events`, folded as the unit of work folds it: the "given" of given/when/then."""
    return fold(aggregate, aggregate.initial(stream_id), events)


def only(kind: type[E], events: Sequence[Event]) -> E:
    """The one event a decision made, checked to be a `kind`: the "then" of given/when/then, typed."""
    assert len(events) == 1, f"expected one {kind.__name__}, got {[type(event).__name__ for event in events]}"
    [event] = events
    assert isinstance(event, kind), f"expected a {kind.__name__}, got a {type(event).__name__}"
    return event


#: How long a test's client waits for an answer: as long as the service waits for its worker process
#: (`pmo_servicekit.worker_process.TIMEOUT_SECONDS`). At 30 s, the first scenario under load (two copies of a test
#: at load 12, nice'd: the solver process's spawn imports scipy, 34-40 s wall for 3 s of CPU) timed out in the
#: client while the service was still answering (`httpx.ReadTimeout`); pytest's own timeout still ends a hang.
CLIENT_TIMEOUT_SECONDS = 120.0
#: How long the test server keeps an idle connection open (uvicorn's `timeout_keep_alive`; its default is 5 s).
KEEP_ALIVE_SECONDS = 60


@dataclass
class RunningService:
    base_url: str
    runtime: ServiceRuntime
    private_key: bytes

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.private_key, subject=subject, roles=list(roles))

    def client(self, subject: str | None = None, *roles: str) -> httpx.AsyncClient:
        """An HTTP client for this service, authenticated as `subject` with `roles` when given."""
        headers = {"Authorization": f"Bearer {self.token(subject, *roles)}"} if subject else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=CLIENT_TIMEOUT_SECONDS)


def dev_settings(
    definition: ServiceDefinition, data_dir: Path, database_url: str, **settings_overrides: object
) -> ServiceSettings:
    """The settings the embedded stack gives `definition` on `database_url`: development keys under `data_dir`
    (made once) for tokens, for verifying every publisher's events and for signing the service's own."""
    _, public_path = _dev_keys(data_dir)
    publishers = (*PUBLISHERS, definition.name) if definition.topic else PUBLISHERS
    return ServiceSettings(
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        auth_public_key_file=public_path,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        event_verify_keys_dir=ensure_event_keys(data_dir, tuple(dict.fromkeys(publishers))),
        event_signing_key_file=event_key_paths(data_dir, definition.name)[0] if definition.topic else None,
        **settings_overrides,  # type: ignore[arg-type]
    )


#: The development RSA pair this process made first (2048 bits: 50-250 ms of CPU each), for `_dev_keys`.
_FIRST_DEV_KEYS: list[tuple[bytes, bytes]] = []


def _dev_keys(data_dir: Path) -> tuple[Path, Path]:
    """`ensure_dev_keys(data_dir)`, a test process's first pair copied into a `data_dir` that has none, instead
    of a new RSA key for every service a test starts (each still verifies tokens with the key under its own
    `data_dir`; tests that need two different keys call `ensure_dev_keys` themselves)."""
    private_path, public_path = dev_key_paths(data_dir)
    if _FIRST_DEV_KEYS and not private_path.exists() and not public_path.exists():
        private_path.parent.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem = _FIRST_DEV_KEYS[0]
        with os.fdopen(os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    private_path, public_path = ensure_dev_keys(data_dir)
    if not _FIRST_DEV_KEYS:
        _FIRST_DEV_KEYS.append((private_path.read_bytes(), public_path.read_bytes()))
    return private_path, public_path


@asynccontextmanager
async def running_service(
    definition: ServiceDefinition,
    *,
    database_url: str,
    kafka_bootstrap: str,
    data_dir: Path,
    **settings_overrides: object,
) -> AsyncIterator[RunningService]:
    """Migrate the database, then serve the app over HTTP on a free port until the block ends."""
    settings = dev_settings(definition, data_dir, database_url, **settings_overrides)
    private_path, _ = ensure_dev_keys(data_dir)
    await asyncio.to_thread(migrated, database_url, definition.migrations, definition.metadata)
    app = create_app(definition, settings, KafkaSettings(bootstrap_servers=kafka_bootstrap))
    port = free_port()
    # Idle connections kept longer than a client keeps them (httpx: 5 s): with uvicorn's 5 s, the server's timer
    # could close a connection in the very turn of a stalled loop that the test reused it in (`test_keep_alive`).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_keep_alive=KEEP_ALIVE_SECONDS
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", app.state.runtime, private_path.read_bytes())
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def as_published(event: RecordedEvent, data_dir: Path) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of `event` signed as its producer (from `event.source`) signs it in the embedded
    stack whose keys live in `data_dir`: for tests that publish on a service's behalf with a plain producer."""
    record = kafka_record(event, event_signer(data_dir, event.source.rsplit("/", 1)[-1]))
    return record.key.encode(), record.value, list(record.headers.items())


class ServedInThread:
    """A service served in its own thread and event loop, so synchronous tests (Hypothesis,
    Schemathesis) can call it. `prepare` runs once the service is up (e.g. to create fixtures)."""

    def __init__(
        self,
        definition: ServiceDefinition,
        *,
        database_url: str,
        kafka_bootstrap: str,
        data_dir: Path,
        prepare: Callable[[RunningService], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self._definition = definition
        self._database_url, self._kafka_bootstrap, self._data_dir = database_url, kafka_bootstrap, data_dir
        self._prepare = prepare
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.service: RunningService | None = None
        self.prepared: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with running_service(
                self._definition,
                database_url=self._database_url,
                kafka_bootstrap=self._kafka_bootstrap,
                data_dir=self._data_dir,
            ) as service:
                if self._prepare is not None:
                    self.prepared = await self._prepare(service)
                self.service = service
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def __enter__(self) -> ServedInThread:
        self._thread.start()
        self._ready.wait(120)
        if self.service is None:
            raise RuntimeError(f"{self._definition.name} did not start") from self.error
        return self

    def call(self, make: Callable[[RunningService], Coroutine[Any, Any, T]], timeout: float = 120) -> T:
        """`make(service)` run on the service's own event loop (its database pool), its answer awaited here."""
        assert self._loop is not None and self.service is not None
        return asyncio.run_coroutine_threadsafe(make(self.service), self._loop).result(timeout)

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


async def create_database(admin_url: str, prefix: str = "pmo_test") -> str:
    """Create an empty PostgreSQL database next to `admin_url`'s and answer its asyncpg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin_url.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_database(admin_url: str, url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


#: Guards the spares and the background thread's start (not `_TEMPLATES_LOCK`: a first SQLite template's
#: migrations hold that one, and `take_database` runs on an event loop).
_SPARES_LOCK = threading.Lock()
#: Work for the background thread: ("drop", admin URL, database URL) or ("spare", admin URL, "").
_JOBS: queue.Queue[tuple[str, str, str]] = queue.Queue()
_WORKER: list[threading.Thread] = []
_DROP_FAILURES: list[str] = []
#: Empty databases made ahead by the background thread, by admin URL (`take_database`).
_SPARES: dict[str, list[str]] = {}


def drop_database_later(admin_url: str, url: str) -> None:
    """`drop_database` in a background thread, so that the next test need not wait for PostgreSQL to remove the
    database's files (0.1-0.5 s of a test's teardown, more under load). Nothing uses the database any more:
    the test that made it has ended (`WITH (FORCE)` ends any connection it left). `dropped_all` waits."""
    _background("drop", admin_url, url)


async def take_database(admin_url: str) -> str:
    """`create_database(admin_url)`, answered with one the background thread made ahead when there is one (it
    makes the next while the test runs): a brand-new, empty database nobody has used either way."""
    with _SPARES_LOCK:
        spares = _SPARES.setdefault(admin_url, [])
        url = spares.pop() if spares else None
    _background("spare", admin_url, "")
    return url or await create_database(admin_url)


def dropped_all() -> list[str]:
    """Waits until every database given to `drop_database_later`, and every spare not taken, is dropped; answers
    the drops that failed."""
    _JOBS.join()
    with _SPARES_LOCK:
        left = [(admin, url) for admin, urls in _SPARES.items() for url in urls]
        _SPARES.clear()
    for admin, url in left:
        _background("drop", admin, url)
    _JOBS.join()
    return list(_DROP_FAILURES)


def _background(job: str, admin_url: str, url: str) -> None:
    with _SPARES_LOCK:
        if not _WORKER:
            _WORKER.append(threading.Thread(target=_work, name="test-databases", daemon=True))
            _WORKER[0].start()
    _JOBS.put((job, admin_url, url))


def _work() -> None:
    while True:
        job, admin_url, url = _JOBS.get()
        try:
            if job == "drop":
                asyncio.run(drop_database(admin_url, url))
            else:
                with _SPARES_LOCK:
                    enough = len(_SPARES.get(admin_url, ())) >= 1
                if not enough:
                    made = asyncio.run(create_database(admin_url))
                    with _SPARES_LOCK:
                        _SPARES.setdefault(admin_url, []).append(made)
        except Exception as exc:  # kept for dropped_all: a failed drop leaves a database behind, not a wrong test
            _DROP_FAILURES.append(f"{job} {url or admin_url}: {exc!r}")
        finally:
            _JOBS.task_done()


#: A SQLite file migrated once per process and per (driver, migrations, metadata), copied into each fresh test
#: database instead of running every migration again.
_TEMPLATES: dict[tuple[str, str, int], str] = {}
_TEMPLATES_LOCK = threading.Lock()
_TEMPLATE_DIR: list[Path] = []


def migrated(database_url: str, migrations: Path, metadata: MetaData | None = None) -> None:
    """`upgrade(database_url, migrations, metadata)` for tests, synchronous (run it in a thread from a loop).
    A SQLite file not yet written becomes a copy of one this process migrated to every head once: the same
    tables, rows and alembic_version as the migrations would write, without running them for every test.
    Anything else (PostgreSQL, where `CREATE DATABASE ... TEMPLATE` measured slower than the migrations
    themselves; a file a test filled with an older layout; an in-memory database) is upgraded."""
    try:
        if database_url.startswith("sqlite") and _copy_sqlite(database_url, migrations, metadata):
            return
    except OSError:
        pass  # no copy: the migrations themselves (they check what is there)
    upgrade(database_url, migrations, metadata)


def _template(key: tuple[str, str, int], make: Callable[[], str]) -> str:
    with _TEMPLATES_LOCK:
        if key not in _TEMPLATES:
            _TEMPLATES[key] = make()
        return _TEMPLATES[key]


def _copy_sqlite(database_url: str, migrations: Path, metadata: MetaData | None) -> bool:
    prefix, _, path = database_url.partition(":///")
    if not path or "?" in path or path.startswith(":memory:"):
        return False
    target = Path(path)
    if (target.exists() and target.stat().st_size > 0) or Path(f"{path}-wal").exists():
        return False

    def make() -> str:
        if not _TEMPLATE_DIR:
            _TEMPLATE_DIR.append(Path(tempfile.mkdtemp(prefix="pmo-migrated-")))
            atexit.register(shutil.rmtree, _TEMPLATE_DIR[0], True)
        file = _TEMPLATE_DIR[0] / f"{uuid.uuid4().hex}.sqlite"
        upgrade(f"{prefix}:///{file}", migrations, metadata)
        if Path(f"{file}-wal").exists() or Path(f"{file}-journal").exists():
            raise OSError(f"{file} was left with a journal: not copied")
        return str(file)

    template = _template((prefix, str(migrations), id(metadata)), make)
    shutil.copyfile(template, target)
    return True


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """`create_database` for synchronous callers (module-scoped fixtures of Hypothesis tests), dropped when the
    block ends."""
    url = asyncio.run(take_database(admin_url))
    try:
        yield url
    finally:
        drop_database_later(admin_url, url)


def openapi_of(definition: ServiceDefinition) -> dict[str, Any]:
    """A service's own OpenAPI document (building the app does no I/O)."""
    settings = ServiceSettings(env="development", database_url="sqlite+aiosqlite:///:memory:")
    return create_app(definition, settings, KafkaSettings()).openapi()

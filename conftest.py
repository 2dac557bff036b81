"""Test harness shared by every package: real PostgreSQL and a real Kafka-protocol broker.

Order of preference (DESIGN §6): URLs from the environment, else testcontainers when a Docker
engine answers, else the local PostgreSQL server and the embedded Tansu broker.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.testing import drop_database_later, dropped_all, take_database

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _docker_container(kind: str):
    """A started testcontainers container, or None when no Docker engine answers."""
    try:
        from docker.errors import DockerException

        container: Any
        if kind == "postgres":
            from testcontainers.postgres import PostgresContainer

            container = PostgresContainer("postgres:16-alpine", driver=None)
        else:
            from testcontainers.kafka import KafkaContainer

            container = KafkaContainer()
    except ImportError:
        return None
    except DockerException:
        return None
    try:
        return container.start()
    except DockerException:
        return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The test databases dropped in the background (`drop_database_later`) are gone before the session ends. A
    pytest-xdist worker hands the ones that were not to the controller, which says so (a worker's prints are lost)."""
    failed = dropped_all()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["databases_not_dropped"] = failed
    elif failed:
        print(f"\n{len(failed)} test database(s) not dropped: {failed[:3]}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """A pytest-xdist worker ended: the test databases it could not drop, as `pytest_sessionfinish` says them."""
    failed = getattr(node, "workeroutput", {}).get("databases_not_dropped")
    if failed:
        print(f"\n{len(failed)} test database(s) not dropped by {node.gateway.id}: {failed[:3]}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test keeps an id of its own. Schemathesis names each operation's test `test_x[GET /path]`, but pytest
    9.2 builds an item's id from its original name and its parametrize ids only, so every operation of a fuzz module
    had the same id; pytest-xdist's scheduler keys the tests by id and ran one of them (135 fuzz tests unrun, rc 0).
    Such an item gets the name's suffix back on its id (`tests/test_collection_ids.py` checks every id is unique)."""
    for item in items:
        if isinstance(item, pytest.Function) and item.name != item.originalname and not item.nodeid.endswith("]"):
            suffix = item.name.removeprefix(item.originalname)
            if suffix.startswith("[") and suffix.endswith("]"):
                item._id = type(item.id).parse(item.nodeid + suffix)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    url = os.environ.get("PMO_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    container = None if os.environ.get("PMO_TEST_NO_DOCKER") else _docker_container("postgres")
    if container is not None:
        yield container.get_connection_url().replace("postgresql+psycopg2", "postgresql")
        container.stop()
        return
    yield LOCAL_POSTGRES


@pytest.fixture(scope="session")
def external_kafka() -> Iterator[str | None]:
    """A Kafka given by the environment or started by testcontainers, shared by the whole session."""
    url = os.environ.get("PMO_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if url:
        yield url
        return
    container = None if os.environ.get("PMO_TEST_NO_DOCKER") else _docker_container("kafka")
    if container is not None:
        yield container.get_bootstrap_server()
        container.stop()
        return
    yield None


@pytest.fixture(scope="module")
def kafka_bootstrap(external_kafka: str | None) -> Iterator[str]:
    """The broker for one test module. The embedded Tansu starts in milliseconds, so every module gets
    its own: services under test read their topics from offset 0, and must not see other modules'
    events. (An external Kafka is shared; point the tests at a fresh cluster.)"""
    if external_kafka:
        yield external_kafka
        return
    from pmo_devstack.broker import start_broker

    broker = start_broker()
    yield broker.bootstrap_servers
    broker.stop()


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    url = await take_database(postgres_admin_url)
    yield url
    drop_database_later(postgres_admin_url, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every backend in turn: the same test runs against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin = request.getfixturevalue("postgres_admin_url")
    url = await take_database(admin)
    yield url
    drop_database_later(admin, url)


@pytest.fixture
def topic_prefix() -> str:
    """Unique topic names per test, so tests sharing one broker never see each other's events."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def frozen_heap() -> None:
    """The test session's heap (modules, collected tests, fixtures' definitions: ~680,000 objects) is frozen, once
    and again after a test that thawed it: full collections, and a started service's (`pmo_servicekit.app`, which
    keeps a process's own freeze), skip it. Frozen objects are still freed by reference counting."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()

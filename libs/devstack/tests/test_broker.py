"""The embedded broker really starts Tansu, speaks Kafka, and frees its port when stopped."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pmo_devstack.broker import HOST, free_port, port_is_open, start_broker


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as any server binds
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@pytest.mark.integration
def test_broker_starts_answers_and_releases_its_port() -> None:
    port = free_port()
    broker = start_broker(port)
    try:
        assert broker.bootstrap_servers == f"{HOST}:{port}"
        socket.create_connection((HOST, port), 2).close()
        assert not _bindable(port)
    finally:
        broker.stop()
    assert broker.process.returncode is not None
    assert not port_is_open(HOST, port)
    assert _bindable(port)


@pytest.mark.integration
def test_broker_speaks_the_kafka_protocol() -> None:
    aiokafka = pytest.importorskip("aiokafka")
    broker = start_broker()

    async def cluster_metadata() -> set[int]:
        client = aiokafka.AIOKafkaClient(bootstrap_servers=broker.bootstrap_servers)
        await client.bootstrap()
        try:
            return {b.nodeId for b in client.cluster.brokers()}
        finally:
            await client.close()

    try:
        assert asyncio.run(cluster_metadata())
    finally:
        broker.stop()


@pytest.mark.integration
def test_broker_on_a_taken_port_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(RuntimeError):
            start_broker(port)

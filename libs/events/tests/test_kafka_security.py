"""Kafka TLS and SASL settings reach every client: events flow through a mutual-TLS endpoint, a client without
its certificate is refused, and SASL credentials are read from their file."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from pmo_devstack.broker import HOST, free_port, start_broker
from pmo_devstack.polling import eventually
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.kafka import ensure_topics, make_producer

from .support import migrated
from .test_relay_and_subscription import Pipeline, view_metadata

pytestmark = pytest.mark.integration


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(folder: Path, name: str, issuer: tuple[ec.EllipticCurvePrivateKey, x509.Name] | None, **kw: bool) -> None:
    """`<name>.key` and `<name>.pem`: a certificate signed by `issuer` (self-signed CA when None)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    signer_key, signer_name = issuer or (key, _name(name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if kw.get("server"):
        san = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _ca(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Name]:
    _issue(folder, "ca", None)
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, _name("ca")


class MutualTlsEndpoint:
    """What a TLS listener of a real cluster does: requires a client certificate signed by the CA, then talks
    Kafka. It forwards the decrypted bytes to the embedded broker, which advertises this endpoint."""

    def __init__(self, certs: Path, upstream_port: int, port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certs / "ca.pem")
        self.context.load_cert_chain(certs / "server.pem", certs / "server.key")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.upstream_port, self.port = upstream_port, port
        self.clients: list[str] = []

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, HOST, self.port, ssl=self.context)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        self.clients.extend(v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName")
        up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[tuple[Path, str, MutualTlsEndpoint]]:
    certs = tmp_path / "certs"
    certs.mkdir()
    ca = _ca(certs)
    _issue(certs, "server", ca, server=True)
    _issue(certs, "pmo-test-client", ca)
    endpoint = MutualTlsEndpoint(certs, upstream_port=free_port(), port=free_port())
    server = await endpoint.start()
    broker = await asyncio.to_thread(start_broker, endpoint.upstream_port, advertised_port=endpoint.port)
    try:
        yield certs, f"{HOST}:{endpoint.port}", endpoint
    finally:
        broker.stop()
        server.close()


async def test_relay_subscription_and_admin_work_over_mutual_tls(
    tls_broker: tuple[Path, str, MutualTlsEndpoint], tmp_path: Path, topic_prefix: str
) -> None:
    certs, bootstrap, endpoint = tls_broker
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap,
        security_protocol="SSL",
        ssl_ca_file=certs / "ca.pem",
        ssl_cert_file=certs / "pmo-test-client.pem",
        ssl_key_file=certs / "pmo-test-client.key",
    )
    producer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}", tmp_path)
    consumer_db = await migrated(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}", tmp_path)
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(view_metadata.create_all)
    pipeline = Pipeline(producer_db, consumer_db, kafka, topic_prefix, tmp_path)
    await pipeline.start()
    try:
        counter = str(uuid.uuid4())
        for by in (1, 2):
            await pipeline.increment(counter, by)
        await eventually(lambda: _totals_are(pipeline, {counter: (3, 2)}), timeout=30)
    finally:
        await pipeline.stop()
        await producer_db.dispose()
        await consumer_db.dispose()
    assert endpoint.clients and set(endpoint.clients) == {"pmo-test-client"}


async def test_a_client_without_its_certificate_is_refused(tls_broker: tuple[Path, str, MutualTlsEndpoint]) -> None:
    certs, bootstrap, _ = tls_broker
    anonymous = KafkaSettings(
        bootstrap_servers=bootstrap, security_protocol="SSL", ssl_ca_file=certs / "ca.pem", request_timeout_ms=2000
    )
    with pytest.raises(Exception):  # noqa: B017 - aiokafka says so in several ways; none may succeed
        await asyncio.wait_for(ensure_topics(anonymous, ["pmo.anonymous.events"]), 30)


async def test_sasl_credentials_come_from_their_file_and_reach_the_client(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret-from-a-secret\n")
    cases: tuple[tuple[Literal["SASL_SSL", "SASL_PLAINTEXT"], Literal["SCRAM-SHA-512", "PLAIN"]], ...] = (
        ("SASL_SSL", "SCRAM-SHA-512"),
        ("SASL_PLAINTEXT", "PLAIN"),
    )
    for protocol, mechanism in cases:
        kafka = KafkaSettings(
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username="pmo-intake",
            sasl_password_file=password,
        )
        client = make_producer(kafka, "pmo-intake-relay").client  # built, not started: no broker needed
        assert (client._security_protocol, client._sasl_mechanism) == (protocol, mechanism)
        assert (client._sasl_plain_username, client._sasl_plain_password) == ("pmo-intake", "s3cret-from-a-secret")
        assert (client._ssl_context is not None) == (protocol == "SASL_SSL")


def test_incomplete_security_settings_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SASL_USERNAME"):
        KafkaSettings(security_protocol="SASL_SSL")
    with pytest.raises(ValidationError, match="go together"):
        KafkaSettings(security_protocol="SSL", ssl_cert_file=tmp_path / "cert.pem")
    with pytest.raises(ValidationError):
        KafkaSettings(security_protocol="KERBEROS")  # type: ignore[arg-type]


async def _totals_are(pipeline: Pipeline, expected: dict[str, tuple[int, int]]) -> bool:
    return await pipeline.totals() == expected

"""Who may say what on a topic: ownership from the topic's name, Ed25519 signatures, key rotation."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pmo_events.envelope import RecordedEvent, header_map
from pmo_events.runtime.store import kafka_record
from pmo_events.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    EventSigner,
    PublicKeyDirectory,
    signing_input,
    write_key_pair,
)
from pmo_events.trust import EventTrust, topic_owner

from .support import Incremented

TOPIC = "pmo.test.events"


def make_keys(folder: Path, *names: str) -> dict[str, EventSigner]:
    """One pair per name (`test`, `test.next`, ...): private keys under `private/`, public under `public/`."""
    signers = {}
    for name in names:
        private, public = folder / "private" / f"{name}.pem", folder / "public" / f"{name}.pem"
        write_key_pair(private, public)
        signers[name] = EventSigner.from_file(private)
    return signers


def event(**changes: object) -> RecordedEvent:
    base = RecordedEvent(
        event_id="e-1",
        type=Incremented.type_name(),
        source="/pmo/test",
        stream_id="counter-1",
        sequence=3,
        time=datetime(2027, 1, 1, tzinfo=UTC),
        data={"counter_id": "counter-1", "by": 2},
        actor="alice",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def verdict(trust: EventTrust, recorded: RecordedEvent, signer: EventSigner | None, topic: str = TOPIC) -> str | None:
    record = kafka_record(recorded, signer)
    rejection = trust.rejection(topic, recorded, record.headers, record.value)
    return None if rejection is None else str(rejection)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[dict[str, EventSigner], EventTrust]:
    signers = make_keys(tmp_path, "test", "other")
    return signers, EventTrust(PublicKeyDirectory.load(tmp_path / "public"))


def test_the_owner_is_named_by_the_topic() -> None:
    assert topic_owner("pmo.portfolio.events") == "portfolio"
    assert topic_owner("t1234.intake.events") == "intake"
    for nameless in ("pmo.portfolio.deadletter", "events", "portfolio.events", "pmo..events"):
        with pytest.raises(ValueError, match="does not name its owner"):
            topic_owner(nameless)


def test_a_genuine_signed_event_is_accepted(keys: tuple[dict[str, EventSigner], EventTrust]) -> None:
    signers, trust = keys
    assert verdict(trust, event(), signers["test"]) is None


def test_a_forged_source_or_a_foreign_type_is_rejected_whatever_its_signature(
    keys: tuple[dict[str, EventSigner], EventTrust],
) -> None:
    signers, trust = keys
    assert "forged source" in str(verdict(trust, event(source="/pmo/test-forged"), signers["test"]))
    assert "forged type" in str(verdict(trust, event(type="pmo.portfolio.InvestmentDecided.v1"), signers["test"]))
    # A genuine event of `test` replayed onto another service's topic is that topic's forgery.
    assert "forged source" in str(verdict(trust, event(), signers["test"], topic="pmo.other.events"))


def test_unsigned_and_foreign_key_events_are_rejected(keys: tuple[dict[str, EventSigner], EventTrust]) -> None:
    signers, trust = keys
    assert "unsigned" in str(verdict(trust, event(), None))
    # Signed by a real key of the system, but not by the topic owner's: refused.
    assert "not a key of test" in str(verdict(trust, event(), signers["other"]))


@pytest.mark.parametrize(
    "header",
    ["ce_id", "ce_type", "ce_source", "ce_subject", "ce_sequence", "ce_time", "ce_actor", "ce_correlationid"],
)
def test_every_signed_attribute_is_covered(keys: tuple[dict[str, EventSigner], EventTrust], header: str) -> None:
    signers, trust = keys
    recorded = event()
    record = kafka_record(recorded, signers["test"])
    tampered = {**record.headers, header: b"something-else"}
    assert "does not match" in str(trust.keys.rejection("test", tampered, record.value))


def test_the_data_is_covered_by_its_digest(keys: tuple[dict[str, EventSigner], EventTrust]) -> None:
    signers, trust = keys
    record = kafka_record(event(), signers["test"])
    assert trust.keys.rejection("test", record.headers, record.value.replace(b"2", b"9")) is not None


def test_a_garbled_signature_is_rejected_not_raised(keys: tuple[dict[str, EventSigner], EventTrust]) -> None:
    signers, trust = keys
    record = kafka_record(event(), signers["test"])
    for garbage in (b"!!not base64!!", b"AAAA", b"\xff\xfe"):
        headers = {**record.headers, SIGNATURE_HEADER: garbage}
        assert "does not match" in str(trust.keys.rejection("test", headers, record.value))
    assert "not a key of test" in str(
        trust.keys.rejection("test", {**record.headers, KEY_ID_HEADER: b"\xff"}, record.value)
    )


def test_rotation_two_keys_of_one_producer_are_accepted_and_retiring_one_refuses_it(tmp_path: Path) -> None:
    """Rotation: add `<service>.next.pem` everywhere, switch the producer, then remove the old public key."""
    signers = make_keys(tmp_path, "test", "test.next")
    both = EventTrust(PublicKeyDirectory.load(tmp_path / "public"))
    assert verdict(both, event(), signers["test"]) is None
    assert verdict(both, event(), signers["test.next"]) is None
    (tmp_path / "public" / "test.pem").unlink()
    only_new = EventTrust(PublicKeyDirectory.load(tmp_path / "public"))
    assert verdict(only_new, event(), signers["test.next"]) is None
    assert "not a key of test" in str(verdict(only_new, event(), signers["test"]))


def test_the_signature_survives_the_outbox_and_the_wire(keys: tuple[dict[str, EventSigner], EventTrust]) -> None:
    """Headers go to the outbox as text and come back from Kafka as a list of pairs: still verifiable."""
    signers, trust = keys
    record = kafka_record(event(), signers["test"])
    as_text = {k: v.decode() for k, v in record.headers.items()}
    from_the_wire = header_map([(k, v.encode()) for k, v in as_text.items()])
    assert trust.keys.rejection("test", from_the_wire, record.value) is None


def test_a_key_directory_refuses_what_is_not_an_ed25519_public_key(tmp_path: Path) -> None:
    make_keys(tmp_path, "test")
    (tmp_path / "public" / "broken.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(ValueError):
        PublicKeyDirectory.load(tmp_path / "public")
    with pytest.raises(ValueError, match="does not exist"):
        PublicKeyDirectory.load(tmp_path / "missing")


def test_a_signature_is_the_one_openssl_makes_for_the_signed_bytes() -> None:
    """The signer signs with libsodium; Ed25519 is deterministic, so its signature is OpenSSL's (`cryptography`)
    for the same key and bytes, and OpenSSL verifies it."""
    private_key = Ed25519PrivateKey.generate()
    message = kafka_record(event(), None)
    signed = EventSigner(private_key).sign(message.headers, message.value)
    signature = base64.b64decode(signed[SIGNATURE_HEADER])
    assert signature == private_key.sign(signing_input(message.headers, message.value))
    private_key.public_key().verify(signature, signing_input(message.headers, message.value))


def test_the_signed_bytes_are_each_signed_header_then_the_data_digest_length_prefixed() -> None:
    """The format every producer and consumer shares (a change would refuse every event signed before it):
    the domain, each signed header in order (an absent one empty), the SHA-256 of the value, each with its
    length in 4 big-endian bytes. Written out here by hand, independently of `signing_input`."""
    import hashlib

    headers = {"ce_id": b"e-1", "ce_type": b"pmo.test.Incremented", "ce_source": b"/pmo/test", "ce_subject": b"s",
               "ce_sequence": b"12", "ce_time": b"2026-11-30T05:00:00Z", "ce_actor": b"\xc3\xa9mile",
               "ce_traceparent": b"not signed", "content-type": b"application/json"}  # fmt: skip
    value = b'{"n":1}'
    expected = b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (
            b"pmo-event-signature/v1", b"e-1", b"pmo.test.Incremented", b"/pmo/test", b"s", b"12",
            b"2026-11-30T05:00:00Z", b"\xc3\xa9mile", b"", b"", hashlib.sha256(value).digest(),
        )
    )  # fmt: skip
    assert signing_input(headers, value) == expected
    assert signing_input({}, b"") == b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (b"pmo-event-signature/v1", *([b""] * 9), hashlib.sha256(b"").digest())
    )

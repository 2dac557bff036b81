"""Ed25519 event signatures: each service signs what it publishes, consumers verify with its public key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

SIGNATURE_HEADER = "ce_signature"
KEY_ID_HEADER = "ce_signaturekeyid"
#: What a signature covers, in this order, then the SHA-256 digest of the record's value (the data).
SIGNED_HEADERS = (
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_subject",
    "ce_sequence",
    "ce_time",
    "ce_actor",
    "ce_correlationid",
    "ce_causationid",
)
_DOMAIN = b"pmo-event-signature/v1"
_LENGTH = struct.Struct(">I").pack
_DOMAIN_PART = _LENGTH(len(_DOMAIN)) + _DOMAIN
_DIGEST_PART = _LENGTH(hashlib.sha256().digest_size)

#: A relay batch (the records one round publishes to one partition, in order) is signed once, beside each
#: record's own signature: every record of it carries the batch's id, its index (0, 1, ...) and the count, and
#: the last one the batch signature and its key id. A consumer holding the whole batch, in order, verifies one
#: signature for all of them (the record signatures stay for everything else: `docs/subscribing.md`).
BATCH_ID_HEADER = "pmo_batchid"
BATCH_INDEX_HEADER = "pmo_batchindex"
BATCH_COUNT_HEADER = "pmo_batchcount"
BATCH_SIGNATURE_HEADER = "pmo_batchsignature"
BATCH_KEY_ID_HEADER = "pmo_batchsignaturekeyid"
#: Its own domain: a batch signature is over bytes no record's signed bytes can be (their first part is the
#: length of `_DOMAIN`, 22, where a batch's is 12), so neither can stand for the other.
_BATCH_DOMAIN = b"pmo-batch-v1"
_BATCH_DOMAIN_PART = _LENGTH(len(_BATCH_DOMAIN)) + _BATCH_DOMAIN

#: Why a record is not signed by the producer it claims (dead-letter reasons).
UNSIGNED = "unsigned"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"


@dataclass(frozen=True)
class Rejection:
    """Why a consumed record must not be applied: a stable `reason` (metric label) and a human `detail`."""

    reason: str
    detail: str


def signing_input(headers: Mapping[str, bytes], value: bytes) -> bytes:
    """The exact bytes signed: each signed header (absent = empty) and the data digest, length-prefixed."""
    get = headers.get
    parts = [_DOMAIN_PART]
    for name in SIGNED_HEADERS:
        part = get(name, b"")
        parts += (_LENGTH(len(part)), part)
    parts.append(_DIGEST_PART + hashlib.sha256(value).digest())
    return b"".join(parts)


def record_digest(headers: Mapping[str, bytes], value: bytes) -> bytes:
    """The SHA-256 of exactly the bytes the record's own signature covers (`signing_input`)."""
    return hashlib.sha256(signing_input(headers, value)).digest()


def batch_signing_input(batch_id: bytes, digests: Sequence[bytes]) -> bytes:
    """The exact bytes a batch signature covers: the text `pmo-batch-v1` and the batch id (each prefixed by its
    length, 4 bytes big-endian), then the number of records as 4 bytes big-endian (no prefix), then each record's
    `record_digest`, in the batch's order."""
    return b"".join((_BATCH_DOMAIN_PART, _LENGTH(len(batch_id)), batch_id, _LENGTH(len(digests)), *digests))


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class EventSigner:
    """This service's private key; adds `ce_signature` and `ce_signaturekeyid` to a record's headers.

    It signs with libsodium (PyNaCl), as consumers verify: Ed25519 signatures are deterministic, so the bytes
    are the ones OpenSSL (`cryptography`) makes, for 0.6-0.8x of its CPU per signature here (every recorded
    event is signed, on the command path and on a subscription's poll alike), and the GIL is released."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        raw = private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        self._signing = SigningKey(raw)
        self.key_id = key_id(private_key.public_key())

    @classmethod
    def from_file(cls, path: Path) -> EventSigner:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def sign(self, headers: Mapping[str, bytes], value: bytes) -> dict[str, bytes]:
        """`headers` plus the signature headers."""
        signature = self._signing.sign(signing_input(headers, value)).signature
        return {**headers, SIGNATURE_HEADER: base64.b64encode(signature), KEY_ID_HEADER: self.key_id.encode()}

    def sign_batch(self, batch_id: bytes, digests: Sequence[bytes]) -> bytes:
        """The batch signature (base64) over `batch_signing_input`."""
        return base64.b64encode(self._signing.sign(batch_signing_input(batch_id, digests)).signature)


@dataclass(frozen=True)
class PublicKeyDirectory:
    """Producers' public keys by service, then by key id: `<service>.pem`, and `<service>.<any>.pem` while
    a key is being rotated (every file of a service is accepted, so old and new keys overlap)."""

    keys: Mapping[str, Mapping[str, Ed25519PublicKey]] = field(default_factory=dict)
    #: The same keys for verification with libsodium (PyNaCl): it takes 0.6x of OpenSSL's CPU per signature
    #: here, and releases the GIL while it works (`EventSigner` signs with it too).
    _verifiers: Mapping[str, Mapping[str, VerifyKey]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        verifiers = {
            service: {kid: VerifyKey(_raw(public_key)) for kid, public_key in by_id.items()}
            for service, by_id in self.keys.items()
        }
        object.__setattr__(self, "_verifiers", verifiers)

    @classmethod
    def load(cls, folder: Path | None) -> PublicKeyDirectory:
        if folder is None:
            return cls()
        if not folder.is_dir():
            raise ValueError(f"the event verification key directory {folder} does not exist")
        return cls.of(_read_public_keys(sorted(folder.glob("*.pem"))))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Ed25519PublicKey]]) -> PublicKeyDirectory:
        by_service: dict[str, dict[str, Ed25519PublicKey]] = {}
        for service, public_key in pairs:
            by_service.setdefault(service, {})[key_id(public_key)] = public_key
        return cls(by_service)

    def services(self) -> list[str]:
        return sorted(self.keys)

    def rejection(self, service: str, headers: Mapping[str, bytes], value: bytes) -> Rejection | None:
        """Why the record is not signed by `service`, or None when it is."""
        signature, kid = headers.get(SIGNATURE_HEADER), headers.get(KEY_ID_HEADER)
        if not signature or not kid:
            return Rejection(UNSIGNED, f"unsigned: no {SIGNATURE_HEADER} / {KEY_ID_HEADER} header")
        name = kid.decode(errors="replace")
        verifier = self._verifiers.get(service, {}).get(name)
        if verifier is None:
            return Rejection(UNKNOWN_KEY, f"signed with key {name!r}, which is not a key of {service}")
        try:
            verifier.verify(signing_input(headers, value), base64.b64decode(signature, validate=True))
        except (CryptoError, binascii.Error, ValueError):
            return Rejection(BAD_SIGNATURE, f"the signature does not match the event (key {name} of {service})")
        return None

    def verifies_batch(
        self, service: str, kid: bytes, batch_id: bytes, digests: Sequence[bytes], signature: bytes
    ) -> bool:
        """True when `signature` (base64) is `service`'s, under key `kid`, over the batch of `digests`."""
        verifier = self._verifiers.get(service, {}).get(kid.decode(errors="replace"))
        if verifier is None:
            return False
        try:
            verifier.verify(batch_signing_input(batch_id, digests), base64.b64decode(signature, validate=True))
        except (CryptoError, binascii.Error, ValueError):
            return False
        return True


def _read_public_keys(paths: Iterable[Path]) -> list[tuple[str, Ed25519PublicKey]]:
    found = []
    for path in paths:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        found.append((path.name.split(".", 1)[0], key))
    return found


def write_key_pair(private_path: Path, public_path: Path) -> None:
    """A fresh Ed25519 pair as PEM files (the private one readable by its owner only)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path, data, mode in ((private_path, private_pem, 0o600), (public_path, public_pem, 0o644)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

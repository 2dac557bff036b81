"""Development signing keys and tokens for the embedded stack (never used outside it)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pmo_events.signing import EventSigner, write_key_pair

ISSUER = "pmo-dev"
AUDIENCE = "pmo"
ROLES = (
    "requester",
    "pmo_analyst",
    "board_member",
    "project_manager",
    "resource_manager",
    "viewer",
    "admin",
)


def dev_key_paths(data_dir: Path) -> tuple[Path, Path]:
    folder = data_dir / "dev-keys"
    return folder / "private.pem", folder / "public.pem"


def ensure_dev_keys(data_dir: Path) -> tuple[Path, Path]:
    """Create an RSA key pair under `<data_dir>/dev-keys` once; later runs reuse it."""
    private_path, public_path = dev_key_paths(data_dir)
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_atomically(private_path, private_pem, mode=0o600)
    _write_atomically(public_path, public_pem, mode=0o644)
    return private_path, public_path


#: The services that publish events, each with its own Ed25519 signing key in the embedded stack.
PUBLISHERS = ("intake", "portfolio", "resourcing")


def event_keys_dir(data_dir: Path) -> Path:
    """`<data_dir>/dev-keys/events`: `private/<service>.pem`, and `public/` (the PMO_EVENT_VERIFY_KEYS_DIR)."""
    return data_dir / "dev-keys" / "events"


def event_key_paths(data_dir: Path, service: str) -> tuple[Path, Path]:
    folder = event_keys_dir(data_dir)
    return folder / "private" / f"{service}.pem", folder / "public" / f"{service}.pem"


def ensure_event_keys(data_dir: Path, services: tuple[str, ...] = PUBLISHERS) -> Path:
    """An Ed25519 event-signing pair per service, made once; answers the folder of public keys."""
    for service in services:
        private_path, public_path = event_key_paths(data_dir, service)
        if not (private_path.exists() and public_path.exists()):
            write_key_pair(private_path, public_path)
    return event_keys_dir(data_dir) / "public"


def event_signer(data_dir: Path, service: str) -> EventSigner:
    """Sign as `service` does in the embedded stack (tests publishing on a service's behalf)."""
    ensure_event_keys(data_dir, (service,))
    return EventSigner.from_file(event_key_paths(data_dir, service)[0])


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Readers see the old file or the whole new one, never half of it; no window of wide access."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def mint_token(
    private_key_pem: bytes,
    *,
    subject: str,
    roles: list[str],
    ttl: timedelta = timedelta(hours=8),
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


def dev_token(data_dir: Path, *, subject: str, roles: list[str], ttl: timedelta = timedelta(hours=8)) -> str:
    """A token the embedded stack accepts: signed with `<data_dir>/dev-keys` (created if missing)."""
    private_path, _ = ensure_dev_keys(data_dir)
    return mint_token(private_path.read_bytes(), subject=subject, roles=roles, ttl=ttl)

"""Development signing keys and tokens for the embedded stack (never used outside it)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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

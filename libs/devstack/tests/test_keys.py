"""Development keys and tokens: what `make token` prints verifies against the stack's public key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt

from pmo_devstack import keys


def _decode(token: str, data_dir: Path) -> dict[str, object]:
    _, public_path = keys.dev_key_paths(data_dir)
    return jwt.decode(token, public_path.read_bytes(), algorithms=["RS256"], audience="pmo", issuer="pmo-dev")


def test_keys_are_created_once_and_private_key_is_private(tmp_path: Path) -> None:
    private_path, public_path = keys.ensure_dev_keys(tmp_path)
    first = private_path.read_bytes(), public_path.read_bytes()
    assert keys.ensure_dev_keys(tmp_path) == (private_path, public_path)
    assert (private_path.read_bytes(), public_path.read_bytes()) == first
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.parent == tmp_path / "dev-keys"
    assert not [p for p in private_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_token_round_trip(tmp_path: Path) -> None:
    roles = ["board_member", "viewer"]
    token = keys.dev_token(tmp_path, subject="alice", roles=roles, ttl=timedelta(hours=2))
    claims = _decode(token, tmp_path)
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["board_member", "viewer"]
    assert claims["iss"] == "pmo-dev" and claims["aud"] == "pmo"
    assert claims["exp"] - claims["iat"] == 2 * 3600  # type: ignore[operator]


def test_token_from_another_key_pair_is_rejected(tmp_path: Path) -> None:
    token = keys.dev_token(tmp_path / "a", subject="alice", roles=["admin"])
    keys.ensure_dev_keys(tmp_path / "b")
    try:
        _decode(token, tmp_path / "b")
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a token signed by another key verified")


def test_token_command_prints_only_the_token(tmp_path: Path) -> None:
    env = {**os.environ, "PMO_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pmo_devstack",
            "token",
            "--roles",
            "board_member,requester",
            "--sub",
            "bob",
            "--ttl-hours",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stderr == ""
    claims = _decode(lines[0], tmp_path / "var")
    assert claims["sub"] == "bob"
    assert claims["roles"] == ["board_member", "requester"]
    assert claims["exp"] - claims["iat"] == 3600  # type: ignore[operator]


REPO = Path(__file__).resolve().parents[3]


def _make_token(tmp_path: Path, *assignments: str) -> subprocess.CompletedProcess[str]:
    """`make -s token ...` exactly as the README has a person type it."""
    env = {**os.environ, "PMO_DATA_DIR": str(tmp_path)}
    command = ["make", "-s", "-C", str(REPO), "token", *assignments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_make_token_refuses_an_unknown_role_and_prints_no_token(tmp_path: Path) -> None:
    result = _make_token(tmp_path, "ROLES=superuser", "SUB=bob")
    assert result.returncode != 0 and result.stdout == ""
    assert "superuser" in result.stderr and "board_member" in result.stderr


def test_make_token_refuses_an_empty_subject(tmp_path: Path) -> None:
    result = _make_token(tmp_path, "ROLES=", "SUB=")
    assert result.returncode != 0 and result.stdout == ""
    assert "subject" in result.stderr


def test_make_token_prints_a_token_for_known_roles(tmp_path: Path) -> None:
    result = _make_token(tmp_path, "ROLES=board_member,viewer", "SUB=carla")
    assert result.returncode == 0, result.stderr
    assert _decode(result.stdout.strip(), tmp_path)["sub"] == "carla"

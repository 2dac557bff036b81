"""Settings refuse development secrets in production; tokens are verified for real."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from pmo_devstack.keys import ensure_dev_keys, mint_token
from pmo_servicekit.auth import SUBJECT_MAX_LENGTH, Authenticator
from pmo_servicekit.settings import ServiceSettings


def test_production_refuses_to_start_without_a_key_or_with_the_dev_issuer(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="refusing a production start"):
        ServiceSettings(env="production")
    _, public = ensure_dev_keys(tmp_path)
    with pytest.raises(ValidationError, match="development key pair"):
        ServiceSettings(env="production", auth_public_key_file=public, auth_issuer="https://idp.example")
    with pytest.raises(ValidationError, match="PMO_AUTH_ISSUER"):
        ServiceSettings(env="production", auth_public_key=public.read_text(), auth_issuer="pmo-dev")
    ok = ServiceSettings(env="production", auth_public_key=public.read_text(), auth_issuer="https://idp.example")
    assert ok.env == "production"


def test_sqlite_in_the_data_dir_is_the_default_database(tmp_path: Path) -> None:
    settings = ServiceSettings(env="development", data_dir=tmp_path)
    assert settings.database_url_for("intake") == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'intake.db'}"


def test_the_database_url_can_come_from_a_mounted_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "database-url"
    secret.write_text("postgresql+asyncpg://intake:s3cret@db:5432/intake\n")
    settings = ServiceSettings(env="development", database_url_file=secret)
    assert settings.database_url_for("intake") == "postgresql+asyncpg://intake:s3cret@db:5432/intake"
    with pytest.raises(ValidationError, match="not both"):
        ServiceSettings(env="development", database_url_file=secret, database_url="sqlite+aiosqlite:///x.db")
    with pytest.raises(ValidationError, match="missing, unreadable or empty"):
        ServiceSettings(env="development", database_url_file=tmp_path / "absent")


def test_logs_are_json_unless_in_development() -> None:
    assert ServiceSettings(env="development").logs_as_json is False
    assert ServiceSettings(env="development", log_format="json").logs_as_json is True
    production: dict[str, Any] = {"auth_public_key": "x", "auth_issuer": "https://idp.example"}
    assert ServiceSettings(env="production", **production).logs_as_json is True


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, Authenticator]:
    private, public = ensure_dev_keys(tmp_path)
    settings = ServiceSettings(env="development", auth_public_key_file=public, auth_issuer="pmo-dev")
    return private.read_bytes(), Authenticator(settings)


def test_a_valid_token_gives_subject_and_roles(keys: tuple[bytes, Authenticator]) -> None:
    private, auth = keys
    principal = auth.verify(mint_token(private, subject="alice", roles=["board_member", "viewer"]))
    assert principal.subject == "alice"
    assert principal.roles == {"board_member", "viewer"}


@pytest.mark.parametrize(
    "change",
    [
        {"ttl": timedelta(seconds=-5)},
        {"audience": "someone-else"},
        {"issuer": "another-issuer"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer"],
)
def test_bad_tokens_are_refused(keys: tuple[bytes, Authenticator], change: dict[str, Any]) -> None:
    private, auth = keys
    token = mint_token(private, subject="alice", roles=["admin"], **change)
    with pytest.raises(jwt.PyJWTError):
        auth.verify(token)


@pytest.mark.parametrize("subject", ["", "   "])
def test_a_token_with_an_empty_subject_is_refused(keys: tuple[bytes, Authenticator], subject: str) -> None:
    private, auth = keys
    with pytest.raises(jwt.PyJWTError, match="subject"):
        auth.verify(mint_token(private, subject=subject, roles=["admin"]))


def test_a_subject_longer_than_the_actor_columns_is_refused_and_one_as_long_is_taken(
    keys: tuple[bytes, Authenticator],
) -> None:
    """Session 10: a subject is every event's actor (and a proposal's requester, ...): a longer one than those
    columns take was cut by the one-statement writes' casts, so the requester's own list missed the draft."""
    private, auth = keys
    longest = "a" * (SUBJECT_MAX_LENGTH - len("@example.org")) + "@example.org"
    assert auth.verify(mint_token(private, subject=longest, roles=["admin"])).subject == longest
    with pytest.raises(jwt.PyJWTError, match=f"at most {SUBJECT_MAX_LENGTH}"):
        auth.verify(mint_token(private, subject="b" + longest, roles=["admin"]))


def test_a_token_signed_by_another_key_is_refused(keys: tuple[bytes, Authenticator], tmp_path: Path) -> None:
    other_private, _ = ensure_dev_keys(tmp_path / "other")
    with pytest.raises(jwt.InvalidSignatureError):
        keys[1].verify(mint_token(other_private.read_bytes(), subject="mallory", roles=["admin"]))


def test_production_refuses_a_publisher_without_a_signing_key_and_a_consumer_without_verify_keys(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from pmo_devstack.keys import ensure_event_keys, event_key_paths
    from pmo_events.runtime import KafkaSettings
    from pmo_intake.bootstrap import INTAKE
    from pmo_servicekit.service import ServiceRuntime

    _, public = ensure_dev_keys(tmp_path)
    prod: dict[str, Any] = {
        "env": "production",
        "auth_public_key": public.read_text(),
        "auth_issuer": "https://idp.example",
    }
    with pytest.raises(ValueError, match="PMO_EVENT_SIGNING_KEY_FILE") as refused:
        ServiceRuntime(INTAKE, ServiceSettings(**prod), KafkaSettings())
    assert "PMO_EVENT_VERIFY_KEYS_DIR" in str(refused.value)
    dev_public = ensure_event_keys(tmp_path)
    with pytest.raises(ValueError, match="development key"):
        settings = ServiceSettings(
            **prod,
            event_signing_key_file=event_key_paths(tmp_path, "intake")[0],
            event_verify_keys_dir=dev_public,
        )
        ServiceRuntime(INTAKE, settings, KafkaSettings())
    # A service that only consumes needs no signing key; one that only publishes needs no verify keys.
    production_keys = tmp_path / "prod"
    production_keys.mkdir()
    (production_keys / "intake.pem").write_bytes(event_key_paths(tmp_path, "intake")[1].read_bytes())
    consumer_only = replace(INTAKE, topic=None)
    ServiceRuntime(consumer_only, ServiceSettings(**prod, event_verify_keys_dir=production_keys), KafkaSettings())


def test_a_verified_token_is_remembered_until_it_expires_and_not_after(
    keys: tuple[bytes, Authenticator],
) -> None:
    private, auth = keys
    token = mint_token(private, subject="alice", roles=["viewer"], ttl=timedelta(seconds=2))
    first = auth.verify(token)
    assert auth.verify(token) is first  # the same principal object: the cache answered, not a second decode
    time.sleep(2.2)
    with pytest.raises(jwt.ExpiredSignatureError):
        auth.verify(token)


def test_a_changed_token_is_verified_afresh_even_when_its_original_is_remembered(
    keys: tuple[bytes, Authenticator],
) -> None:
    private, auth = keys
    token = mint_token(private, subject="alice", roles=["viewer"])
    auth.verify(token)
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(jwt.PyJWTError):
        auth.verify(tampered)


def test_the_remembered_tokens_are_bounded(keys: tuple[bytes, Authenticator], monkeypatch: pytest.MonkeyPatch) -> None:
    from pmo_servicekit import auth as auth_module

    monkeypatch.setattr(auth_module, "VERIFIED_CACHE_SIZE", 3)
    private, auth = keys
    tokens = [mint_token(private, subject=f"user-{n}", roles=["viewer"]) for n in range(5)]
    principals = [auth.verify(token) for token in tokens]
    assert len(auth._verified) == 3
    assert auth.verify(tokens[-1]) is principals[-1]
    assert auth.verify(tokens[0]) is not principals[0]  # evicted: verified again
    assert auth.verify(tokens[0]).subject == "user-0"


@pytest.mark.parametrize("every", ["nan", "inf", "1e999", "-1", "604801"])
def test_a_sweep_interval_that_would_never_or_wrongly_sweep_refuses_the_start(
    every: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PMO_SWEEP_EVERY_SECONDS=inf (or 1e999) would start a sweep task that sleeps forever: the service would
    look as if it swept and never would. Infinite, negative and over-a-week intervals refuse the start."""
    monkeypatch.setenv("PMO_SWEEP_EVERY_SECONDS", every)
    with pytest.raises(ValidationError, match="sweep_every_seconds"):
        ServiceSettings(env="development", data_dir=tmp_path)
    monkeypatch.setenv("PMO_SWEEP_EVERY_SECONDS", "60")
    assert ServiceSettings(env="development", data_dir=tmp_path).sweep_every_seconds == 60


@pytest.mark.parametrize("subject", ["al\x00ice", "al\ud800ice", "\udfff"], ids=["nul", "lone-surrogate", "low-half"])
def test_a_subject_no_column_can_store_is_refused(keys: tuple[bytes, Authenticator], subject: str) -> None:
    """Review 1 (session 10) F3: a `sub` of "al\\ud800ice" (a valid JSON escape) or holding NUL passed the checks,
    reached the database as every command's actor and failed there: a 500 on every command (both databases)."""
    private, auth = keys
    with pytest.raises(jwt.PyJWTError, match="NUL or a lone surrogate"):
        auth.verify(mint_token(private, subject=subject, roles=["admin"]))
    other = "al\u00efce \U0001f600"  # any valid text is taken, astral characters included
    assert auth.verify(mint_token(private, subject=other, roles=["admin"])).subject == other

"""`PMO_*` settings every service reads; production refuses development secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pmo_events.runtime.rebuild_workers import pod_cpus
from pmo_events.runtime.store import DEFAULT_MAX_EVENT_BYTES

DEV_ISSUER = "pmo-dev"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMO_", extra="ignore")

    env: Literal["development", "production"] = "production"
    data_dir: Path = Path("var")
    database_url: str | None = None
    #: A file holding the database URL (a mounted Secret), instead of `database_url`.
    database_url_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    #: uvicorn worker processes (PostgreSQL only; one on SQLite). Relay and subscriptions stay single
    #: through the relay's advisory lock and the subscription's offset row locks.
    http_workers: int = Field(default=1, ge=1, le=64)
    #: PostgreSQL: run the outbox relay on a thread and event loop of its own (`RelayThread`) instead of the
    #: service's loop. Its rounds then never wait behind HTTP requests at saturation, but every command pays for
    #: the second thread in CPU (README "Outbox relay" has the figures): off unless the event lag of a saturated
    #: process matters more than its throughput.
    relay_thread: bool = False
    #: Processes a rebuild may fold in on PostgreSQL (this one and forked workers, each reading under one
    #: exported snapshot; reporting shares its read models out among them). 1 (the default): the rebuild stays in
    #: the serving process, because two processes bought no wall time on two idle cores and cost a third more CPU
    #: (docs/platform.md). 0: the CPUs the pod may use (its cgroup quota, else its affinity). SQLite: always 1.
    rebuild_workers: int = Field(default=1, ge=0, le=64)
    #: Seconds a worker process (portfolio's scenario solver, reporting's drawings) waits for work before it
    #: exits, giving its memory back; the next call starts a new one. 0: it stays (`pmo_servicekit.worker_process`).
    worker_idle_seconds: float = Field(default=600.0, ge=0)
    #: Seconds one call to a worker process may take; past it the process is ended and the request answers 503
    #: (a hung drawing or solve would otherwise block every later one). 0: no limit.
    worker_timeout_seconds: float = Field(default=120.0, ge=0, le=3600, allow_inf_nan=False)
    log_level: str = "info"
    #: `json` (one JSON object per line) or `console` (for people); default: console in development.
    log_format: Literal["json", "console"] | None = None
    migrate_on_start: bool = False
    shutdown_grace_seconds: float = 20.0
    #: Browser origins allowed to call the API (CORS), e.g. `["https://pmo.example.org"]`; none by default.
    cors_origins: tuple[str, ...] = ()

    auth_public_key: str | None = None
    auth_public_key_file: Path | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str = "pmo"
    auth_algorithms: tuple[str, ...] = ("RS256", "ES256")

    #: This service's Ed25519 private key (PEM): every event it publishes is signed with it.
    event_signing_key_file: Path | None = None
    #: Producers' Ed25519 public keys: `<service>.pem`, plus `<service>.<any>.pem` while a key is rotated.
    event_verify_keys_dir: Path | None = None
    #: An event larger than this on the broker is refused at the command (413), before anything is stored.
    event_max_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=4096, le=1_000_000)
    #: When above 0, `serve` runs the service's sweeps itself every this many seconds (the embedded stack sets
    #: 60); 0, the default, leaves them to a scheduler (`python -m pmo_<service> sweep`: CronJobs, compose).
    #: At most a week, and finite: an infinite interval would start a sweep task that never sweeps.
    sweep_every_seconds: float = Field(default=0.0, ge=0, le=604_800, allow_inf_nan=False)
    #: `/health/ready` answers 503 once the relay or a subscription has been disconnected this long.
    readiness_grace_seconds: float = Field(default=15.0, ge=0)

    @property
    def rebuild_processes(self) -> int:
        """`rebuild_workers`, or the pod's CPUs when it is 0."""
        return self.rebuild_workers or pod_cpus()

    @model_validator(mode="after")
    def _one_database_url(self) -> ServiceSettings:
        if self.database_url and self.database_url_file:
            raise ValueError("set PMO_DATABASE_URL or PMO_DATABASE_URL_FILE, not both")
        if self.database_url_file and not _readable_text(self.database_url_file):
            raise ValueError(f"PMO_DATABASE_URL_FILE {self.database_url_file} is missing, unreadable or empty")
        return self

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> ServiceSettings:
        if self.env != "production":
            return self
        problems = []
        if not (self.auth_public_key or self.auth_public_key_file or self.auth_jwks_url):
            problems.append("no PMO_AUTH_PUBLIC_KEY, PMO_AUTH_PUBLIC_KEY_FILE or PMO_AUTH_JWKS_URL")
        if self.auth_issuer in (None, DEV_ISSUER):
            problems.append("PMO_AUTH_ISSUER must name the production identity provider")
        if self.auth_public_key_file and "dev-keys" in self.auth_public_key_file.parts:
            problems.append("the development key pair is not for production")
        if problems:
            raise ValueError("refusing a production start: " + "; ".join(problems))
        return self

    @property
    def logs_as_json(self) -> bool:
        return (self.log_format or ("console" if self.env == "development" else "json")) == "json"

    def event_key_problems(self, *, publishes: bool, consumes: bool) -> list[str]:
        """What a production start of a service that publishes and/or consumes events lacks."""
        problems = []
        if publishes and self.event_signing_key_file is None:
            problems.append("no PMO_EVENT_SIGNING_KEY_FILE: this service's events would be unsigned")
        if consumes and self.event_verify_keys_dir is None:
            problems.append("no PMO_EVENT_VERIFY_KEYS_DIR: no producer's event could be verified")
        for path in (self.event_signing_key_file, self.event_verify_keys_dir):
            if path is not None and "dev-keys" in path.parts:
                problems.append(f"{path} is a development key, not for production")
        return problems

    def database_url_for(self, service: str) -> str:
        if self.database_url:
            return self.database_url
        if self.database_url_file:
            # Read when needed, not at import: a rotated Secret is picked up at the next start.
            return self.database_url_file.read_text().strip()
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"


def _readable_text(path: Path) -> bool:
    try:
        return bool(path.read_text().strip())
    except OSError:
        return False

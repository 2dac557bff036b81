"""docker-compose.yml: schema-valid, and every reference in it points at something real."""

import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.platform

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"intake": 8001, "portfolio": 8002, "resourcing": 8003, "reporting": 8004}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DEV_KEY = "./var/dev-keys/public.pem"  # written by `make token`, never committed
DEV_KEYS = "./var/dev-keys/"  # `make token` writes these too: the event-signing keys of the publishers
PUBLISHERS = ("intake", "portfolio", "resourcing")
SECRETS_DIR = "./deploy/compose/secrets/"
URL_FILE = "/run/secrets/pmo-database-url"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _host_ports(service: dict) -> list[int]:
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            published = entry.get("published")
        else:  # "[IP:]HOST:CONTAINER"; a bare "CONTAINER" publishes on a random port
            parts = str(entry).split(":")
            published = parts[-2] if len(parts) > 1 else None
        if published:
            ports.append(int(published))
    return ports


def _database_url(compose: dict, service: dict) -> str:
    """The URL in the database secret mounted at PMO_DATABASE_URL_FILE."""
    assert service["environment"]["PMO_DATABASE_URL_FILE"] == URL_FILE
    assert "PMO_DATABASE_URL" not in service["environment"], "the URL is a mounted secret, not a variable"
    (source,) = [s["source"] for s in service["secrets"] if isinstance(s, dict) and s["target"] == "pmo-database-url"]
    return (ROOT / compose["secrets"][source]["file"]).read_text().strip()


def test_compose_file_matches_the_compose_spec():
    if find_spec("check_jsonschema") is None:
        pytest.fail("check-jsonschema is not installed: `make env` installs it")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_depends_on_names_a_defined_service(compose):
    services = compose["services"]
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            assert dep in services, f"{name} depends on undefined service {dep}"
            assert condition in CONDITIONS, f"{name} -> {dep}: unknown condition {condition}"
            assert not services[dep].get("profiles") or service.get("profiles"), (
                f"{name} depends on {dep}, which only starts under a profile"
            )


def test_published_host_ports_are_unique(compose):
    seen: dict[int, str] = {}
    for name, service in compose["services"].items():
        for port in _host_ports(service):
            assert port not in seen, f"host port {port} used by {seen.get(port)} and {name}"
            seen[port] = name
    assert {seen[port] for port in SERVICES.values()} == set(SERVICES)


@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_service_waits_for_its_migration_and_dependencies(compose, name, port):
    services = compose["services"]
    migrate = services.get(f"migrate-{name}")
    assert migrate, f"no migrate-{name} step"
    assert migrate["command"] == ["migrate", name]
    assert migrate.get("restart") == "no", "a migration is a one-shot"
    assert _depends_on(migrate).get("postgres") == "service_healthy"

    service = services[name]
    assert service["command"] == [name, "serve"]
    deps = _depends_on(service)
    assert deps.get(f"migrate-{name}") == "service_completed_successfully"
    assert deps.get("kafka") == "service_healthy"
    assert deps.get("postgres") == "service_healthy"
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert _database_url(compose, migrate) == _database_url(compose, service)


@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_service_health_check_asks_readiness_on_its_port(compose, name, port):
    service = compose["services"][name]
    probe = " ".join(service["healthcheck"]["test"])
    assert "urllib" in probe
    assert f"127.0.0.1:{port}/health/ready" in probe
    env = service["environment"]
    assert env["PMO_HTTP_PORT"] == str(port)
    assert env["PMO_HTTP_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", SERVICES)
def test_service_settings_point_at_compose_kafka_and_its_own_database(compose, name):
    env = compose["services"][name]["environment"]
    assert env["PMO_KAFKA_IDEMPOTENT_PRODUCER"] == "true"
    assert env["PMO_ENV"] == "development"
    broker_host = env["PMO_KAFKA_BOOTSTRAP_SERVERS"].split(":")[0]
    assert broker_host in compose["services"]
    url = urlsplit(_database_url(compose, compose["services"][name]))
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname in compose["services"]
    assert url.path == f"/{name}", "each service has a database of its own"
    init_sql = (ROOT / "deploy" / "compose" / "postgres-init.sql").read_text()
    assert re.search(rf"CREATE DATABASE {name} OWNER {url.username};", init_sql)
    assert re.search(rf"CREATE ROLE {url.username} LOGIN PASSWORD '{url.password}';", init_sql)


def test_bind_mounts_secrets_and_volumes_exist(compose):
    named = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(DEV_KEYS):
                assert volume.endswith(":ro"), f"{name}: development keys are mounted read-only"
            elif source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in named, f"{name} uses undeclared volume {source}"
        for secret in service.get("secrets", []):
            source = secret["source"] if isinstance(secret, dict) else secret
            assert source in compose["secrets"], f"{name} uses undeclared secret {source}"
    files = {spec["file"] for spec in compose["secrets"].values()}
    assert DEV_KEY in files, "the development key `make token` writes"
    signing = {f"{DEV_KEYS}events/private/{service}.pem" for service in PUBLISHERS}
    assert signing <= files, "each publisher signs with its own development key"
    for file in files - {DEV_KEY} - signing:
        assert file.startswith(SECRETS_DIR) and (ROOT / file).is_file(), (
            f"{file}: development secrets live in {SECRETS_DIR}"
        )


@pytest.mark.parametrize("name", SERVICES)
def test_events_are_signed_by_their_publisher_and_verified_by_everyone(compose, name):
    service = compose["services"][name]
    env = service["environment"]
    assert env["PMO_EVENT_VERIFY_KEYS_DIR"] == "/run/pmo/event-keys"
    assert f"{DEV_KEYS}events/public:/run/pmo/event-keys:ro" in service["volumes"]
    signing = [s for s in service["secrets"] if isinstance(s, dict) and s["target"] == "pmo-signing-key"]
    if name in PUBLISHERS:
        assert env["PMO_EVENT_SIGNING_KEY_FILE"] == "/run/secrets/pmo-signing-key"
        assert [s["source"] for s in signing] == [f"{name}_signing_key"]
    else:
        assert not signing and "PMO_EVENT_SIGNING_KEY_FILE" not in env, "reporting publishes no events"


def test_published_ports_bind_to_localhost_only_and_every_container_is_limited(compose):
    for name, service in compose["services"].items():
        for entry in service.get("ports", []):
            assert str(entry).startswith("127.0.0.1:"), f"{name} publishes {entry} on every interface"
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= set(limits), f"{name} has no CPU or memory limit"
        env = service.get("environment") or {}
        assert "POSTGRES_PASSWORD" not in env, "the database password is a mounted secret"


def test_kafka_is_a_single_kraft_broker_and_otel_is_optional(compose):
    services = compose["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert "healthcheck" in kafka and "healthcheck" in services["postgres"]
    assert _depends_on(services["kafka-topics"]).get("kafka") == "service_healthy"
    assert services["otel-collector"]["profiles"] == ["otel"]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag"


def test_a_loop_runs_portfolios_sweeps_against_its_database_only(compose):
    """Compose has no cron: `portfolio-sweeps` runs `python -m pmo_portfolio sweep all` every minute, after the
    migration, with portfolio's database URL and signing key and no Kafka of its own (the service's relay publishes)."""
    services = compose["services"]
    sweeps = services["portfolio-sweeps"]
    assert sweeps["command"][:2] == ["sh", "-c"] and "python -m pmo_portfolio sweep all" in sweeps["command"][2]
    assert re.search(r"\bsleep 60\b", sweeps["command"][2]), "once a minute"
    assert _depends_on(sweeps) == {"postgres": "service_healthy", "migrate-portfolio": "service_completed_successfully"}
    assert _database_url(compose, sweeps) == _database_url(compose, services["portfolio"])
    signing = [s["source"] for s in sweeps["secrets"] if isinstance(s, dict) and s["target"] == "pmo-signing-key"]
    assert signing == ["portfolio_signing_key"]
    assert sweeps["environment"]["PMO_EVENT_SIGNING_KEY_FILE"] == "/run/secrets/pmo-signing-key"
    assert not sweeps.get("ports") and not sweeps.get("profiles"), "it serves nothing and always runs"

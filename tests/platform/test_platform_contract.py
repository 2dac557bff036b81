"""The settings and topics the deployment artifacts use are the documented ones, and the
platform guide documents all of them."""

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.platform

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "platform.md"
# The settings contract: every PMO_* variable the deployment artifacts may use.
CONTRACT_ENV = {
    "PMO_ENV",
    "PMO_DATABASE_URL",
    "PMO_DATABASE_URL_FILE",
    "PMO_DATA_DIR",
    "PMO_HTTP_HOST",
    "PMO_HTTP_PORT",
    "PMO_KAFKA_BOOTSTRAP_SERVERS",
    "PMO_KAFKA_TOPIC_PARTITIONS",
    "PMO_KAFKA_REPLICATION_FACTOR",
    "PMO_KAFKA_CONSUMER_MODE",
    "PMO_KAFKA_IDEMPOTENT_PRODUCER",
    "PMO_AUTH_PUBLIC_KEY",
    "PMO_AUTH_PUBLIC_KEY_FILE",
    "PMO_AUTH_JWKS_URL",
    "PMO_AUTH_ISSUER",
    "PMO_AUTH_AUDIENCE",
    "PMO_LOG_LEVEL",
    "PMO_LOG_FORMAT",
}
# Tuning knobs the services also read, documented with their defaults.
TUNING_ENV = {
    "PMO_MIGRATE_ON_START",
    "PMO_HTTP_WORKERS",
    "PMO_RELAY_THREAD",
    "PMO_REBUILD_WORKERS",
    "PMO_SHUTDOWN_GRACE_SECONDS",
    "PMO_AUTH_ALGORITHMS",
    "PMO_CORS_ORIGINS",
    "PMO_KAFKA_SECURITY_PROTOCOL",
    "PMO_KAFKA_REQUEST_TIMEOUT_MS",
    "PMO_KAFKA_SESSION_TIMEOUT_MS",
    "PMO_KAFKA_FETCH_MAX_WAIT_MS",
    "PMO_KAFKA_SSL_CA_FILE",
    "PMO_KAFKA_SSL_CERT_FILE",
    "PMO_KAFKA_SSL_KEY_FILE",
    "PMO_KAFKA_SASL_MECHANISM",
    "PMO_KAFKA_SASL_USERNAME",
    "PMO_KAFKA_SASL_PASSWORD_FILE",
    "PMO_EVENT_SIGNING_KEY_FILE",
    "PMO_EVENT_VERIFY_KEYS_DIR",
    "PMO_EVENT_MAX_BYTES",
    "PMO_READINESS_GRACE_SECONDS",
    "PMO_SWEEP_EVERY_SECONDS",
    "PMO_WORKER_IDLE_SECONDS",
    "PMO_WORKER_TIMEOUT_SECONDS",
}
DOCUMENTED_ENV = CONTRACT_ENV | TUNING_ENV
# The standard OpenTelemetry variables the artifacts may set (the SDK reads them).
OTEL_ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"}
TOPICS = {
    "pmo.intake.events",
    "pmo.portfolio.events",
    "pmo.resourcing.events",
    "pmo.intake.deadletter",
    "pmo.portfolio.deadletter",
    "pmo.resourcing.deadletter",
    "pmo.reporting.deadletter",
    "pmo.broker.epoch",
}
ENV_NAME = re.compile(r"\bPMO_[A-Z0-9_]+\b")
OTEL_NAME = re.compile(r"\bOTEL_[A-Z0-9_]+\b")
TOPIC_NAME = re.compile(r"\bpmo\.[a-z]+\.(?:events|deadletter|epoch)\b")


def _artifacts() -> list[Path]:
    files = [ROOT / "Dockerfile", ROOT / "docker-compose.yml", ROOT / ".dockerignore"]
    files += [path for path in sorted((ROOT / "deploy").rglob("*")) if path.is_file()]
    return files


@pytest.mark.parametrize("path", _artifacts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_artifact_uses_only_documented_settings(path):
    text = path.read_text()
    unknown = (set(ENV_NAME.findall(text)) - DOCUMENTED_ENV) | (set(OTEL_NAME.findall(text)) - OTEL_ENV)
    assert not unknown, f"{path.relative_to(ROOT)} uses undocumented settings: {sorted(unknown)}"


def test_compose_environment_keys_are_documented():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        keys = env if isinstance(env, dict) else [item.split("=")[0] for item in env]
        pmo = {key for key in keys if key.startswith("PMO_")}
        assert pmo <= DOCUMENTED_ENV, f"{name}: {sorted(pmo - DOCUMENTED_ENV)}"


def test_guide_documents_every_setting_in_its_table():
    rows = {m.group(1) for m in re.finditer(r"^\|\s*`((?:PMO|OTEL)_[A-Z0-9_]+)`", GUIDE.read_text(), re.M)}
    assert rows == DOCUMENTED_ENV | OTEL_ENV


def test_compose_topic_script_creates_every_topic():
    script = (ROOT / "deploy" / "compose" / "create-topics.sh").read_text()
    assert set(TOPIC_NAME.findall(script)) == TOPICS


def test_strimzi_component_declares_every_topic():
    path = ROOT / "deploy" / "k8s" / "components" / "strimzi-topics" / "kafka-topics.yaml"
    topics = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert sorted(t["spec"]["topicName"] for t in topics) == sorted(TOPICS)


def test_guide_lists_every_topic():
    assert set(TOPIC_NAME.findall(GUIDE.read_text())) == TOPICS


def test_every_setting_the_services_read_is_documented():
    from pmo_events.runtime import KafkaSettings
    from pmo_servicekit.settings import ServiceSettings

    read = {
        f"{cls.model_config['env_prefix']}{field}".upper()
        for cls in (ServiceSettings, KafkaSettings)
        for field in cls.model_fields
    }
    assert read <= DOCUMENTED_ENV, f"document these in docs/platform.md: {sorted(read - DOCUMENTED_ENV)}"

"""deploy/k8s: every overlay renders with kustomize and validates strictly, and follows the rules
the platform relies on (probes, limits, non-root, read-only root, Secrets, policies, topics)."""

import subprocess
import sys
from importlib.util import find_spec
from pathlib import PurePosixPath

import pytest
import yaml

from .manifests import K8S, SERVICES, base_name, is_custom, kustomize, of_kind

pytestmark = pytest.mark.platform

OVERLAYS = ["dev", "prod"]
PMO_ENV = {"dev": "development", "prod": "production"}
# Oldest Kubernetes minor we support and the newest that kubernetes-validate ships schemas for.
K8S_VERSIONS = ["1.30.0", "1.37.0"]
TOPICS = {
    "pmo.intake.events": 3,
    "pmo.portfolio.events": 3,
    "pmo.resourcing.events": 3,
    "pmo.intake.deadletter": 3,
    "pmo.portfolio.deadletter": 3,
    "pmo.resourcing.deadletter": 3,
    "pmo.reporting.deadletter": 3,
    "pmo.broker.epoch": 1,
}
STRIMZI_GROUP = "kafka.strimzi.io"
TOPIC_SPEC_FIELDS = {"partitions", "replicas", "config", "topicName"}
# Secrets the platform team creates; nothing else may be referenced, none may be committed.
PUBLISHERS = ("intake", "portfolio", "resourcing")
SECRETS = (
    {f"pmo-{name}-db" for name in SERVICES}
    | {f"pmo-{name}" for name in SERVICES}  # the KafkaUser's password (Strimzi's User Operator writes it)
    | {f"pmo-{name}-signing" for name in PUBLISHERS}
    | {"pmo-auth", "pmo-kafka-cluster-ca-cert"}
)
EGRESS_PORTS = {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 9092), ("TCP", 9093)}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, kustomize(K8S / "overlays" / request.param)


def _settings(docs: list[dict], container: dict) -> dict[str, str]:
    maps = of_kind(docs, "ConfigMap")
    settings: dict[str, str] = {}
    for source in container.get("envFrom", []):
        settings.update(maps[source["configMapRef"]["name"]]["data"])
    settings.update({e["name"]: e.get("value", "<from>") for e in container.get("env", [])})
    return settings


def test_base_renders_without_secrets():
    docs = kustomize(K8S / "base")
    assert not of_kind(docs, "Secret"), "the base must not carry Secrets"


def test_builtin_kinds_validate_strictly(overlay, tmp_path):
    if find_spec("kubernetes_validate") is None:
        pytest.fail("kubernetes-validate is not installed: `make env` installs it")
    name, docs = overlay
    builtin = [doc for doc in docs if not is_custom(doc)]
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump_all(builtin))
    versions = [arg for version in K8S_VERSIONS for arg in ("-k", version)]
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", *versions, str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # --quiet prints only failures and WARN lines (a kind without a schema): both fail here.
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_strimzi_topics(overlay):
    _, docs = overlay
    topics = [doc for doc in docs if doc["kind"] == "KafkaTopic"]
    common = of_kind(docs, "ConfigMap")
    common = next(m["data"] for n, m in common.items() if base_name(n) == "pmo-common")
    assert {t["spec"]["topicName"] for t in topics} == set(TOPICS)
    clusters = {t["metadata"]["labels"]["strimzi.io/cluster"] for t in topics}
    assert len(clusters) == 1, "every topic belongs to the same Kafka cluster"
    assert common["PMO_KAFKA_BOOTSTRAP_SERVERS"].startswith(f"{clusters.pop()}-kafka-bootstrap")
    for topic in topics:
        spec = topic["spec"]
        assert topic["apiVersion"] == f"{STRIMZI_GROUP}/v1"
        assert set(spec) <= TOPIC_SPEC_FIELDS, f"unknown KafkaTopic fields: {set(spec) - TOPIC_SPEC_FIELDS}"
        assert isinstance(spec["partitions"], int) and isinstance(spec["replicas"], int)
        assert spec["partitions"] == TOPICS[spec["topicName"]]
        assert spec["replicas"] == int(common["PMO_KAFKA_REPLICATION_FACTOR"])
        config = spec["config"]
        assert int(config["retention.ms"]) == -1, "topics are kept forever"
        assert config["cleanup.policy"] == "delete", "topics are not compacted"
        assert int(config["min.insync.replicas"]) <= spec["replicas"]
    assert int(common["PMO_KAFKA_TOPIC_PARTITIONS"]) == TOPICS["pmo.intake.events"]


def _assert_hardened(pod: dict, container: dict) -> None:
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    box = container["securityContext"]
    assert box["readOnlyRootFilesystem"] is True
    assert box["allowPrivilegeEscalation"] is False
    assert box["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in volumes[tmp["name"]]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"missing {kind}"


def _mounted_secrets(pod: dict, container: dict) -> dict[str, str]:
    """Secret name → where the container sees it; a Secret is never an environment variable."""
    for env in container.get("env", []):
        assert "secretKeyRef" not in env.get("valueFrom", {}), f"{env['name']}: mount the Secret as a file"
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "mount the Secret as a file"
    secrets = {v["name"]: base_name(v["secret"]["secretName"]) for v in pod["volumes"] if "secret" in v}
    return {secrets[m["name"]]: m["mountPath"] for m in container["volumeMounts"] if m["name"] in secrets}


def _file_settings(docs: list[dict], pod: dict, container: dict, names: set[str] | None = None) -> dict[str, str]:
    """Each *_FILE setting (or those in `names`) → the Secret whose mount holds that file."""
    mounts = _mounted_secrets(pod, container)
    found = {}
    for name, value in _settings(docs, container).items():
        if name.endswith("_FILE") and (names is None or name in names):
            owner = [s for s, path in mounts.items() if PurePosixPath(value).parent == PurePosixPath(path)]
            assert len(owner) == 1, f"{name}={value} is not inside exactly one mounted Secret"
            found[name] = owner[0]
    return found


def _mounted_config_maps(pod: dict, container: dict) -> dict[str, str]:
    maps = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    return {m["mountPath"]: maps[m["name"]] for m in container["volumeMounts"] if m["name"] in maps}


@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_service_deployment(overlay, name, port):
    overlay_name, docs = overlay
    deployment = of_kind(docs, "Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [name, "serve"]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    _assert_hardened(pod, container)
    files = _file_settings(docs, pod, container)
    assert files["PMO_DATABASE_URL_FILE"] == f"pmo-{name}-db"
    assert files["PMO_KAFKA_SASL_PASSWORD_FILE"] == f"pmo-{name}", "each service is its own KafkaUser"
    assert files["PMO_KAFKA_SSL_CA_FILE"] == "pmo-kafka-cluster-ca-cert"
    assert files.get("PMO_EVENT_SIGNING_KEY_FILE") == (f"pmo-{name}-signing" if name in PUBLISHERS else None)
    settings = _settings(docs, container)
    assert _mounted_config_maps(pod, container)[settings["PMO_EVENT_VERIFY_KEYS_DIR"]] == "pmo-event-keys"
    assert settings["PMO_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert settings["PMO_KAFKA_SASL_USERNAME"] == f"pmo-{name}"
    assert settings["PMO_KAFKA_CONSUMER_MODE"] == "group"
    assert settings["PMO_KAFKA_IDEMPOTENT_PRODUCER"] == "true"
    assert settings["PMO_HTTP_PORT"] == str(port)
    assert settings["PMO_HTTP_HOST"] == "0.0.0.0"
    assert settings["PMO_ENV"] == PMO_ENV[overlay_name]
    if settings["PMO_ENV"] == "production":  # the services refuse to start otherwise
        assert settings.get("PMO_AUTH_ISSUER", "pmo-dev") != "pmo-dev"
        assert files.get("PMO_AUTH_PUBLIC_KEY_FILE") == "pmo-auth" or "PMO_AUTH_JWKS_URL" in settings
        assert "@sha256:" in container["image"], "production pins the image by digest"
        assert container["imagePullPolicy"] == "Always"
    assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns replicas"


@pytest.mark.parametrize(("name", "port"), SERVICES.items())
def test_service_companions(overlay, name, port):
    _, docs = overlay
    pod_labels = of_kind(docs, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict) -> bool:
        return bool(selector) and selector.items() <= pod_labels.items()

    service = of_kind(docs, "Service")[name]["spec"]
    assert selects(service["selector"]) and service["ports"][0]["port"] == port
    assert selects(of_kind(docs, "PodDisruptionBudget")[name]["spec"]["selector"]["matchLabels"])
    hpa = of_kind(docs, "HorizontalPodAutoscaler")[name]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    allowed = [
        rule
        for policy in of_kind(docs, "NetworkPolicy").values()
        if selects(policy["spec"]["podSelector"].get("matchLabels", {}))
        for rule in policy["spec"].get("ingress", [])
    ]
    assert [p["port"] for rule in allowed for p in rule["ports"]] == [port]


@pytest.mark.parametrize("name", SERVICES)
def test_migration_job(overlay, name):
    overlay_name, docs = overlay
    job = of_kind(docs, "Job")[f"{name}-migrate"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["migrate", name]
    assert _settings(docs, container)["PMO_ENV"] == PMO_ENV[overlay_name], "migrate reads the same settings"
    assert pod["restartPolicy"] in {"Never", "OnFailure"}
    _assert_hardened(pod, container)
    # A migration talks to its database only: it mounts that Secret and the token key its settings check.
    files = _file_settings(docs, pod, container, {"PMO_DATABASE_URL_FILE", "PMO_AUTH_PUBLIC_KEY_FILE"})
    assert files == {"PMO_DATABASE_URL_FILE": f"pmo-{name}-db", "PMO_AUTH_PUBLIC_KEY_FILE": "pmo-auth"}


def _pod_templates(docs: list[dict]) -> list[tuple[str, dict]]:
    """(workload name, pod template) of every Deployment, Job and CronJob."""
    templates = [(n, w["spec"]["template"]) for kind in ("Deployment", "Job") for n, w in of_kind(docs, kind).items()]
    return templates + [(n, c["spec"]["jobTemplate"]["spec"]["template"]) for n, c in of_kind(docs, "CronJob").items()]


def _egress_of(docs: list[dict], labels: dict[str, str]) -> set[tuple[str, int]]:
    """Every (protocol, port) the NetworkPolicies let a pod with `labels` reach."""

    def selects(selector: dict) -> bool:
        if not selector.get("matchLabels", {}).items() <= labels.items():
            return False
        for term in selector.get("matchExpressions", []):
            value = labels.get(term["key"])
            if term["operator"] == "NotIn" and value in term["values"]:
                return False
            if term["operator"] == "In" and value not in term["values"]:
                return False
        return True

    return {
        (port.get("protocol", "TCP"), port["port"])
        for policy in of_kind(docs, "NetworkPolicy").values()
        if "Egress" in policy["spec"]["policyTypes"] and selects(policy["spec"]["podSelector"])
        for rule in policy["spec"].get("egress", [])
        for port in rule["ports"]
    }


#: The scheduled sweeps (python -m pmo_portfolio sweep NAME) and when they run (deploy/k8s/README.md).
SWEEPS = {"lapse-due": "*/5 * * * *", "notify-overdue": "0 6 * * *", "review-cycles": "17 * * * *"}


@pytest.mark.parametrize(("sweep", "schedule"), SWEEPS.items())
def test_sweep_cronjob(overlay, sweep, schedule):
    overlay_name, docs = overlay
    cron = of_kind(docs, "CronJob")[f"portfolio-sweep-{sweep}"]
    spec = cron["spec"]
    assert (spec["schedule"], spec["timeZone"]) == (schedule, "Etc/UTC")
    assert spec["concurrencyPolicy"] == "Forbid", "a slow run is never doubled"
    assert 0 < spec["startingDeadlineSeconds"] <= 3600
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] > 0 and job["backoffLimit"] <= 3
    template = job["template"]
    pod = template["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["portfolio", "sweep", sweep]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    _assert_hardened(pod, container)
    settings = _settings(docs, container)
    assert settings["PMO_ENV"] == PMO_ENV[overlay_name], "a sweep reads the service's own settings"
    # Its database, the token key its settings check and the key that signs what it records; no Kafka secret.
    files = _file_settings(docs, pod, container, {"PMO_DATABASE_URL_FILE", "PMO_AUTH_PUBLIC_KEY_FILE",
                                                  "PMO_EVENT_SIGNING_KEY_FILE"})  # fmt: skip
    assert files == {
        "PMO_DATABASE_URL_FILE": "pmo-portfolio-db",
        "PMO_AUTH_PUBLIC_KEY_FILE": "pmo-auth",
        "PMO_EVENT_SIGNING_KEY_FILE": "pmo-portfolio-signing",
    }
    assert set(_mounted_secrets(pod, container)) == set(files.values())
    if overlay_name == "prod":
        assert "@sha256:" in container["image"], "the service's image, pinned by digest"
    assert _egress_of(docs, template["metadata"]["labels"]) == {("UDP", 53), ("TCP", 53), ("TCP", 5432)}, (
        "a sweep reaches DNS and PostgreSQL only"
    )
    service_labels = of_kind(docs, "Deployment")["portfolio"]["spec"]["template"]["metadata"]["labels"]
    assert ("TCP", 9093) in _egress_of(docs, service_labels), "the service itself still reaches Kafka"


def test_network_policies_deny_by_default_and_limit_egress(overlay):
    _, docs = overlay
    policies = list(of_kind(docs, "NetworkPolicy").values())
    pmo = {"app.kubernetes.io/part-of": "pmo"}
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"].get("matchLabels") == pmo
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny policy for the PMO pods"
    for name, template in _pod_templates(docs):
        assert pmo.items() <= template["metadata"]["labels"].items(), f"{name} escapes the policies"
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: egress rule open on every port"
            peers = rule.get("to") or []
            assert peers, f"{policy['metadata']['name']}: egress rule open to every address"
            for peer in peers:
                assert "podSelector" in peer or peer.get("ipBlock", {}).get("cidr", "0.0.0.0/0") != "0.0.0.0/0"
            ports = {(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]}
            assert ports <= EGRESS_PORTS, f"egress beyond DNS, PostgreSQL and Kafka: {ports}"
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: ingress open on every port"


def test_secrets_are_mounted_files_and_never_committed(overlay):
    overlay_name, docs = overlay
    mounted = set()
    for _, template in _pod_templates(docs):
        pod = template["spec"]
        for container in pod["containers"]:
            mounted |= set(_mounted_secrets(pod, container))
    assert mounted == SECRETS
    generated = {base_name(name) for name in of_kind(docs, "Secret")}
    if overlay_name == "prod":
        assert not generated, "production Secrets are created out of band, never committed"
    else:
        assert generated <= SECRETS - {"pmo-auth"}, "the dev overlay generates example DB URLs only"

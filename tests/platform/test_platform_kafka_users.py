"""deploy/k8s: one Strimzi KafkaUser per service whose ACLs are exactly what the contract registry and the
services' definitions need (write only its own topics, read only what it consumes, its own group), valid
against the pinned KafkaUser CRD schema, in every overlay that declares the Strimzi topics."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from pmo_events.asyncapi.channels import CONSUMERS, DEAD_LETTERING
from pmo_events.contracts import TOPICS
from pmo_events.runtime.kafka import EPOCH_TOPIC
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceDefinition

from .manifests import K8S, SERVICES, base_name, crd_validator, kustomize, of_kind

pytestmark = pytest.mark.platform

DEFINITIONS = {d.name: d for d in (INTAKE, PORTFOLIO, RESOURCING, REPORTING)}
#: An ACL as (resource type, resource name, operation); every one is a literal allow rule from any host.
Acl = tuple[str, str, str]


@pytest.fixture(scope="module", params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return kustomize(K8S / "overlays" / request.param)


def needed(definition: ServiceDefinition) -> set[Acl]:
    """What a service does with Kafka, from its definition and the contract registry: nothing more is granted."""
    name = definition.name
    acls: set[Acl] = set()
    own = [definition.dead_letter_topic] + ([definition.topic] if definition.topic else [])
    for topic in own:
        acls |= {("topic", topic, "Write"), ("topic", topic, "Describe")}
    for topic in definition.consumes:
        acls |= {("topic", topic, "Read"), ("topic", topic, "Describe")}
    # The broker epoch: every service reads it; the first one to find it empty writes it.
    acls |= {("topic", EPOCH_TOPIC, op) for op in ("Read", "Write", "Describe")}
    acls.add(("group", definition.consumer_name, "Read"))
    assert definition.consumer_name == f"pmo-{name}"
    return acls


def granted(user: dict[str, Any]) -> set[Acl]:
    found: set[Acl] = set()
    for rule in user["spec"]["authorization"]["acls"]:
        resource = rule["resource"]
        assert rule.get("type", "allow") == "allow" and rule.get("host", "*") == "*"
        assert resource.get("patternType", "literal") == "literal", f"{resource}: a prefix grants too much"
        found |= {(resource["type"], resource["name"], op) for op in rule["operations"]}
    return found


def test_the_contract_registry_and_the_services_agree_on_who_consumes_what() -> None:
    """The ACLs below follow the services' definitions; those follow the registry (who reads which topic)."""
    readers: dict[str, set[str]] = defaultdict(set)
    for definition in DEFINITIONS.values():
        for topic in definition.consumes:
            readers[topic].add(definition.name)
    assert dict(readers) == {TOPICS[producer]: set(consumers) for producer, consumers in CONSUMERS.items()}
    assert {d.name: d.topic for d in DEFINITIONS.values() if d.topic} == TOPICS
    assert set(DEAD_LETTERING) == set(DEFINITIONS) == set(SERVICES)


def test_one_kafka_user_per_service_valid_against_the_pinned_crd(overlay: list[dict[str, Any]]) -> None:
    users = of_kind(overlay, "KafkaUser")
    assert set(users) == {f"pmo-{name}" for name in SERVICES}
    topics = [doc for doc in overlay if doc["kind"] == "KafkaTopic"]
    [cluster] = {t["metadata"]["labels"]["strimzi.io/cluster"] for t in topics}
    for name, user in users.items():
        errors = [e.message for e in crd_validator(user["apiVersion"], user["kind"]).iter_errors(user)]
        assert not errors, f"{name}: {errors}"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == cluster, "the users belong to the topics' cluster"
        # SCRAM-SHA-512, as the services connect (PMO_KAFKA_SASL_MECHANISM); the User Operator writes the
        # password to the Secret of the user's name, which the Deployment mounts.
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"


def test_each_user_is_the_service_that_connects_with_it(overlay: list[dict[str, Any]]) -> None:
    maps = {base_name(n): m["data"] for n, m in of_kind(overlay, "ConfigMap").items()}
    common = maps["pmo-common"]
    assert common["PMO_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    for name in SERVICES:
        assert maps[f"{name}-config"]["PMO_KAFKA_SASL_USERNAME"] == f"pmo-{name}"


@pytest.mark.parametrize("name", list(SERVICES))
def test_acls_are_exactly_what_the_service_needs(overlay: list[dict[str, Any]], name: str) -> None:
    acls = granted(of_kind(overlay, "KafkaUser")[f"pmo-{name}"])
    assert acls == needed(DEFINITIONS[name])
    writes = {resource for kind, resource, op in acls if op == "Write"}
    # Write only its own topics (plus the epoch marker); never another service's events or dead letters.
    assert writes == {f"pmo.{name}.deadletter", EPOCH_TOPIC} | ({TOPICS[name]} if name in TOPICS else set())
    reads = {resource for kind, resource, op in acls if kind == "topic" and op == "Read"}
    assert reads == {TOPICS[p] for p, readers in CONSUMERS.items() if name in readers} | {EPOCH_TOPIC}
    assert {resource for kind, resource, _ in acls if kind == "group"} == {f"pmo-{name}"}
    assert not {op for *_, op in acls} - {"Read", "Write", "Describe"}, "no Create, Delete, Alter, All, cluster"

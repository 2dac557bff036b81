"""What an operator and a subscriber see of the running stack: JSON logs that follow one trace from a
request into the consumer that applied its event, the metrics of every service, the example subscriber
of docs/subscribing.md, and records exactly as docs/asyncapi.json describes them.

The four services run as processes (the embedded stack) with JSON logs at debug level, and the demo
data set is loaded through their public APIs.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pmo_devstack.broker import free_port
from pmo_devstack.demo import load
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack
from pmo_events.asyncapi.streams import stream_of
from pmo_events.contracts import TOPICS, registry

pytestmark = pytest.mark.e2e

LOG_FIELDS = {"timestamp", "level", "service", "logger", "message"}
LINE = re.compile(r"^\[(?P<name>[\w-]+)\]\s+(?P<text>.*)$")


class Logs:
    """Every line the stack's processes wrote, as (process name, text)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def append(self, line: str) -> None:
        match = LINE.match(line)
        if match:
            self.lines.append((match["name"], match["text"]))

    def json_of(self, name: str) -> list[dict[str, Any]]:
        """The JSON log records of one process."""
        return [json.loads(text) for n, text in list(self.lines) if n == name and text.startswith("{")]


@pytest.fixture(scope="module")
def logs() -> Logs:
    return Logs()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, logs: Logs) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("observed")
    ports = {name: free_port() for name in SERVICES}
    env = {"PMO_LOG_FORMAT": "json", "PMO_LOG_LEVEL": "debug"}
    running = Stack(data_dir, ports=ports, log=logs.append, extra_env=env)
    try:
        running.start()
    except Exception:
        print("\n".join(f"[{n}] {t}" for n, t in logs.lines[-200:]))
        raise
    load({name: running.url(name) for name in SERVICES}, data_dir)
    yield running
    running.stop()


def _client(stack: Stack, service: str, subject: str, *roles: str) -> httpx.Client:
    token = mint_token(dev_key_paths(stack.data_dir)[0].read_bytes(), subject=subject, roles=list(roles))
    return httpx.Client(base_url=stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_requests_trace_id_is_on_the_consumers_line_for_the_event_it_caused(stack: Stack, logs: Logs) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    body = {"title": "Traceable", "weight": "1", "period": {"start": "2027-01-01", "end": "2027-12-31"}}
    with _client(stack, "portfolio", "paula", "pmo_analyst") as client:
        created = client.post("/objectives", json=body, headers={"X-Request-ID": request_id})
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == request_id

    def access_line() -> dict[str, Any] | None:
        return next((r for r in logs.json_of("portfolio") if r.get("request_id") == request_id), None)

    access = wait_until(access_line, "the access line of the request", timeout=10)
    assert access["logger"] == "pmo.access" and access["actor"] == "paula" and access["http_status"] == 201
    assert access["service"] == "portfolio" and access["level"] == "info"
    assert re.fullmatch(r"[0-9a-f]{32}", access["trace_id"]) and re.fullmatch(r"[0-9a-f]{16}", access["span_id"])

    def applied_in(service: str) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in logs.json_of(service)
                if r.get("event_type") == "pmo.portfolio.ObjectiveCreated.v1"
                and r.get("trace_id") == access["trace_id"]
            ),
            None,
        )

    for consumer in ("intake", "reporting"):
        applied = wait_until(partial(applied_in, consumer), f"{consumer} applying the event", timeout=20)
        assert applied["event_actor"] == "paula", "the consumer's line names who caused the event"
        assert applied["correlation_id"] == request_id, "the request id travels as the events' correlation id"
        assert applied["span_id"] != access["span_id"], "the consumer's own span, in the caller's trace"


def test_every_service_writes_only_json_lines_with_the_documented_fields(stack: Stack, logs: Logs) -> None:
    for name in SERVICES:
        records = logs.json_of(name)
        assert records, f"{name} wrote no JSON log line"
        for record in records:
            assert set(record) >= LOG_FIELDS, f"{name}: {record}"
            assert record["service"] == name
        plain = [text for n, text in logs.lines if n == name and not text.startswith("{")]
        assert not plain, f"{name} wrote lines that are not JSON: {plain[:5]}"


def test_each_service_exposes_its_runtime_metrics(stack: Stack) -> None:
    for name in SERVICES:
        text = httpx.get(stack.url(name) + "/metrics", timeout=10).text
        assert "pmo_relay_backlog " in text and "pmo_relay_oldest_unpublished_age_seconds " in text, name
        assert "# TYPE pmo_relay_published_total counter" in text, name
        assert re.search(r'pmo_subscription_lag\{partition="\d",topic="pmo\.\w+\.events"\} \d', text), name
    reporting = httpx.get(stack.url("reporting") + "/metrics", timeout=10).text
    assert 'pmo_subscription_dead_letters_total{reason="apply_failed"} 0.0' in reporting
    # README, docs/subscribing.md and docs/performance.md name it: a rename in metrics.py fails here.
    assert re.search(r'pmo_subscription_signature_checks_total\{way="(batch|record)"\} \d', reporting)
    portfolio = httpx.get(stack.url("portfolio") + "/metrics", timeout=10).text
    assert re.search(r'pmo_command_duration_seconds_count\{operation="\w+",outcome="ok"\} [1-9]', portfolio)


DECIDED = "pmo.portfolio.InvestmentDecided.v1"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "subscriber.py"


def _subscribe(stack: Stack, group: str, state: Path) -> list[dict[str, Any]]:
    keys = stack.data_dir / "dev-keys" / "events" / "public"
    argv = [sys.executable, str(EXAMPLE), "--bootstrap", str(stack.bootstrap_servers), "--group", group]
    argv += ["--verify-keys", str(keys)]
    result = subprocess.run([*argv, "--state", str(state), "--idle-exit", "3"], capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_example_subscriber_reads_every_decision_once(stack: Stack, tmp_path: Path) -> None:
    state = tmp_path / "subscriber.db"
    first = _subscribe(stack, f"acme.mirror-{uuid.uuid4().hex[:6]}", state)
    decisions = [line for line in first if line["type"] == DECIDED]
    assert len(decisions) == 6, "the demo's six board decisions"
    assert all(line["applied"] and line["verified"] and line["key"] == line["subject"] for line in first)
    with sqlite3.connect(state) as db:
        portfolios = {row[0] for row in db.execute("SELECT portfolio_id FROM decisions")}
    assert {line["subject"] for line in decisions} == portfolios, "a decision's key is its portfolio id"
    assert sum("summary" in line for line in decisions) == 6
    # Another group re-reads everything from offset 0; what was applied is skipped by sequence.
    again = _subscribe(stack, f"acme.audit-{uuid.uuid4().hex[:6]}", state)
    assert len(again) == len(first) and not any(line["applied"] for line in again)


def test_the_example_subscriber_refuses_a_record_whose_signature_does_not_hold(stack: Stack) -> None:
    spec = importlib.util.spec_from_file_location("example_subscriber", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    keys = example.Keys(str(stack.data_dir / "dev-keys" / "events" / "public"))
    (record,) = [r for r in asyncio.run(_read_all(str(stack.bootstrap_servers), ["pmo.portfolio.events"]))][:1]
    headers = {k: v.encode() for k, v in record.headers.items()}
    assert keys.problem("pmo.portfolio.events", headers, record.value) is None, "the genuine record verifies"
    assert keys.problem("pmo.portfolio.events", headers, record.value + b" ") == "bad signature"
    forged = {**headers, "ce_actor": b"mallory"}
    assert keys.problem("pmo.portfolio.events", forged, record.value) == "bad signature"
    assert keys.problem("pmo.intake.events", headers, record.value) == "not the topic owner's source"


def test_every_published_record_is_as_the_asyncapi_document_says(stack: Stack) -> None:
    document = json.loads((Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json").read_text())
    by_type = {m["name"]: key for key, m in document["components"]["messages"].items()}
    records = asyncio.run(_read_all(str(stack.bootstrap_servers), list(TOPICS.values())))
    assert len({r.headers["ce_type"] for r in records}) >= 15, "the demo publishes many kinds of events"
    for record in records:
        headers, payload = record.headers, json.loads(record.value)
        key = by_type[headers["ce_type"]]
        _schema(document, f"/components/messages/{key}/headers").validate(headers)
        _schema(document, f"/components/messages/{key}/payload").validate(payload)
        stream = stream_of(registry.classes()[headers["ce_type"]])
        assert record.key == headers["ce_subject"] == payload[stream.subject_field], headers["ce_type"]
        assert headers["ce_streamtype"] == stream.type, headers["ce_type"]


@dataclass
class _Record:
    key: str
    headers: dict[str, str]
    value: bytes


async def _read_all(bootstrap: str, topics: list[str]) -> list[_Record]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends, found = await consumer.end_offsets(partitions), []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found += [_Record((r.key or b"").decode(), {k: bytes(v).decode() for k, v in r.headers}, r.value or b"")
                          for r in batch]  # fmt: skip
        return found
    finally:
        await consumer.stop()


def _schema(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    registry_ = Registry().with_resource("urn:asyncapi", Resource.from_contents(document, DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:asyncapi#{pointer}"}, registry=registry_, format_checker=FormatChecker())


#: Read by the alerts and the dashboard but exposed by Kubernetes itself (kube-state-metrics, scrapes).
CLUSTER_METRICS = {
    "up",
    "kube_deployment_status_replicas_available",
    "kube_deployment_spec_replicas",
    "kube_job_status_failed",
    "kube_cronjob_status_last_successful_time",
}


def test_every_metric_the_alerts_and_the_dashboard_read_is_one_the_services_expose(stack: Stack) -> None:
    import promql_parser
    import yaml

    monitoring = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "components" / "monitoring"
    rules = yaml.safe_load((monitoring / "prometheusrule.yaml").read_text())["spec"]["groups"]
    board = json.loads((monitoring / "grafana-dashboard.json").read_text())
    queries = [rule["expr"] for group in rules for rule in group["rules"]]
    queries += [t["expr"].replace("$__rate_interval", "1m") for p in board["panels"] for t in p.get("targets", [])]
    read: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
            read.add(str(node.name if isinstance(node, promql_parser.VectorSelector) else node.vector_selector.name))

    for query in queries:
        promql_parser.walk(promql_parser.parse(query), visit)
    exposed = set()
    for name in SERVICES:
        text = httpx.get(stack.url(name) + "/metrics", timeout=10).text
        exposed |= {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    assert read - CLUSTER_METRICS <= exposed, sorted(read - CLUSTER_METRICS - exposed)

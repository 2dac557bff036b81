"""What an operator and a subscriber see of the running stack: JSON logs that follow one trace from a
request into the consumer that applied its event, and the metrics of every service.

The four services run as processes (the embedded stack) with JSON logs at debug level, and the demo
data set is loaded through their public APIs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pmo_devstack.broker import free_port
from pmo_devstack.demo import load
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack

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
        applied = wait_until(lambda c=consumer: applied_in(c), f"{consumer} applying the event", timeout=20)
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
    portfolio = httpx.get(stack.url("portfolio") + "/metrics", timeout=10).text
    assert re.search(r'pmo_command_duration_seconds_count\{operation="\w+",outcome="ok"\} [1-9]', portfolio)

"""A hostile producer against the running stack: the four services as processes, each on its own PostgreSQL
database, over the real broker. Anyone who can reach the broker sends, with a plain aiokafka producer, the six
forgeries of issue 11: a decision from a forged source, a project nobody initiated, a candidate costing -500,
a forged event at the genuine stream's next sequence, an invalid payload at that sequence, and records unsigned
or wrongly signed. Every consumer dead-letters each one with its reason, no service's HTTP answers change, and
the genuine events that follow (with the very sequences the forgeries took) are applied everywhere."""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, event_signer, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack
from pmo_devstack.testing import create_database, drop_database
from pmo_events.contracts.common import PeriodAmount, RoleEstimate
from pmo_events.contracts.portfolio import InvestmentDecided, ProjectInitiated
from pmo_events.envelope import RecordedEvent, from_kafka, header_map
from pmo_events.runtime.store import kafka_record
from pmo_events.signing import KEY_ID_HEADER, EventSigner

pytestmark = pytest.mark.e2e

COST = "10000.00"
PORTFOLIO_TOPIC, INTAKE_TOPIC = "pmo.portfolio.events", "pmo.intake.events"
#: Who reads each topic, so who must dead-letter what is forged on it (to `pmo.<reader>.deadletter`).
READERS = {PORTFOLIO_TOPIC: ("intake", "resourcing", "reporting"), INTAKE_TOPIC: ("portfolio", "reporting")}


@dataclass
class Running:
    stack: Stack
    data_dir: Path

    def client(self, service: str, subject: str, *roles: str) -> httpx.Client:
        token = mint_token(dev_key_paths(self.data_dir)[0].read_bytes(), subject=subject, roles=list(roles))
        return httpx.Client(base_url=self.stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=30)

    @property
    def bootstrap(self) -> str:
        return self.stack.bootstrap_servers or ""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Running]:
    databases = {name: asyncio.run(create_database(postgres_admin_url, f"pmo_hostile_{name}")) for name in SERVICES}
    data_dir = tmp_path_factory.mktemp("hostile")
    logs: collections.deque[str] = collections.deque(maxlen=400)
    stack = Stack(
        data_dir,
        ports={name: free_port() for name in SERVICES},
        log=logs.append,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={name: {"PMO_DATABASE_URL": url} for name, url in databases.items()},
    )
    try:
        stack.start()
    except Exception:
        print("\n".join(logs))
        raise
    try:
        yield Running(stack, data_dir)
    finally:
        stack.stop()
        for url in databases.values():
            asyncio.run(drop_database(postgres_admin_url, url))


# -- the attacker's tools: a plain producer and consumer ----------------------------------------------------


def send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for key, value, headers in records:
                await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(produce())


def read_topic(bootstrap: str, topic: str) -> list[tuple[dict[str, bytes], bytes, bytes]]:
    """Every record of `topic` from offset 0 to its end now: (headers, key, value)."""

    async def consume() -> list[tuple[dict[str, bytes], bytes, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            found = []
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    found += [(header_map(r.headers), bytes(r.key or b""), bytes(r.value or b"")) for r in records]
            return found
        finally:
            await consumer.stop()

    return asyncio.run(consume())


def last_sequence(bootstrap: str, topic: str, stream_id: str) -> int:
    """What anyone can learn from the topic: the stream's last sequence, the one a forgery follows."""
    sequences = [int(h["ce_sequence"]) for h, key, _ in read_topic(bootstrap, topic) if key == stream_id.encode()]
    return max(sequences)


def genuine(bootstrap: str, topic: str, stream_id: str, type_suffix: str) -> RecordedEvent:
    """A genuine event of a stream, read back from the topic (the template a forger edits)."""
    for headers, key, value in read_topic(bootstrap, topic):
        if key == stream_id.encode() and headers["ce_type"].decode().endswith(type_suffix):
            return from_kafka(key, value, headers)
    raise AssertionError(f"no {type_suffix} of {stream_id} on {topic}")


def dead_letters(bootstrap: str, reader: str) -> dict[str, str]:
    """`ce_id` → `pmo_dlq_reason` of every record `reader` dead-lettered."""
    return {
        h["ce_id"].decode(): h["pmo_dlq_reason"].decode()
        for h, _, _ in read_topic(bootstrap, f"pmo.{reader}.deadletter")
        if "ce_id" in h
    }


@dataclass
class Forgery:
    what: str
    topic: str
    event: RecordedEvent
    #: The reason every reader of the topic gives in `pmo_dlq_reason`.
    reason: str
    sign: EventSigner | None = None
    #: Headers edited after signing (e.g. claiming the producer's key id).
    override: dict[str, bytes] | None = None
    #: The data changed after signing (the signature no longer covers it).
    tamper: bytes | None = None

    def record(self) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        record = kafka_record(self.event, self.sign)
        headers = {**record.headers, **(self.override or {})}
        return record.key.encode(), self.tamper or record.value, list(headers.items())


def event(topic_source: str, stream_id: str, sequence: int, type_name: str, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        event_id=str(uuid.uuid4()),
        type=type_name,
        source=topic_source,
        stream_id=stream_id,
        sequence=sequence,
        time=datetime.now(UTC),
        data=data,
        actor="mallory",
    )


# -- the world the forgeries aim at ---------------------------------------------------------------------------


def proposal_body(portfolio_id: str, objective_id: str, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "portfolio_id": portfolio_id,
        "summary": "Replace the CRM",
        "sponsor": "carol",
        "objective_contributions": [{"objective_id": objective_id, "contribution": 4}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2027", "amount": COST}],
            "benefits": [{"description": "faster sales", "kind": "financial", "value_amount": "25000"}],
        },
        "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
        "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
        "risk_level": "medium",
    }


def observed(running: Running, portfolio_id: str, ids: list[str]) -> dict[str, Any]:
    """What every service answers about the world and about what the forgeries name (their HTTP APIs)."""
    intake = running.client("intake", "alice", "requester")
    board = running.client("portfolio", "bob", "board_member")
    resourcing = running.client("resourcing", "rita", "resource_manager")
    reporting = running.client("reporting", "victor", "viewer")

    def answer(client: httpx.Client, path: str, **params: Any) -> tuple[int, Any]:
        response = client.get(path, params=params)
        return response.status_code, response.json()

    return {
        "intake": {i: answer(intake, f"/proposals/{i}") for i in ids},
        "portfolio": {
            "portfolio": answer(board, f"/portfolios/{portfolio_id}"),
            "candidates": answer(board, f"/portfolios/{portfolio_id}/candidates"),
            "projects": {i: answer(board, f"/projects/{i}")[0] for i in ids},
        },
        "resourcing": {i: answer(resourcing, "/demands", project_id=i) for i in ids},
        "reporting": {
            "decisions": answer(reporting, "/reports/decisions", portfolio_id=portfolio_id, limit=200),
            "history": {i: answer(reporting, f"/history/{i}", limit=200) for i in [portfolio_id, *ids]},
            "projects": {i: reporting.get(f"/reports/projects/{i}").status_code for i in ids},
        },
    }


def test_forged_events_are_dead_lettered_everywhere_change_nothing_and_the_genuine_ones_still_apply(
    running: Running, tmp_path: Path
) -> None:
    analyst = running.client("portfolio", "paula", "pmo_analyst")
    budget = [{"fiscal_period": "FY2027", "amount": "500000.00"}]
    body = {"name": "Change", "currency": "EUR", "owner": "olga", "budget": budget, "board_members": ["bob"]}
    portfolio = analyst.post("/portfolios", json=body)
    assert portfolio.status_code == 201, portfolio.text
    portfolio_id = portfolio.json()["id"]
    period = {"start": "2026-01-01", "end": "2028-12-31"}
    objective = analyst.post("/objectives", json={"title": "Grow revenue", "weight": "3", "period": period})
    assert objective.status_code == 201, objective.text
    objective_id = objective.json()["id"]

    alice = running.client("intake", "alice", "requester")
    board = running.client("portfolio", "bob", "board_member")
    # P: submitted and registered as a candidate, awaiting the board. R: drafted only (its next sequence is 2).
    p_id = alice.post("/proposals", json=proposal_body(portfolio_id, objective_id, "P")).json()["id"]
    wait_until(lambda: alice.post(f"/proposals/{p_id}/submit").status_code == 200, "intake to know the portfolio")
    r_id = alice.post("/proposals", json=proposal_body(portfolio_id, objective_id, "R")).json()["id"]
    wait_until(lambda: p_id in _candidates(board, portfolio_id), "P registered as a candidate")
    # R is still a draft: only its requester, analysts and admins read its history in reporting (issue 15).
    reporting = running.client("reporting", "paula", "pmo_analyst")
    wait_until(lambda: _history(reporting, r_id) and len(_history(reporting, p_id)) >= 2, "reporting")
    x_id = str(uuid.uuid4())  # a project nobody initiated
    ids = [p_id, r_id, x_id]
    before = settled(running, portfolio_id, ids)

    bootstrap = running.bootstrap
    portfolio_key = event_signer(running.data_dir, "portfolio")  # the producer's own key (the stack's dev key)
    intruder = event_signer(tmp_path / "intruder", "portfolio")  # a key of the right name, not the producer's
    claims_portfolio_key = {KEY_ID_HEADER: portfolio_key.key_id.encode()}
    nxt = last_sequence(bootstrap, PORTFOLIO_TOPIC, portfolio_id) + 1
    assert last_sequence(bootstrap, INTAKE_TOPIC, r_id) == 1

    def approval(sequence: int, source: str = "/pmo/portfolio") -> RecordedEvent:
        decided = InvestmentDecided(
            decision_id=str(uuid.uuid4()), portfolio_id=portfolio_id, candidate_id=p_id, proposal_id=p_id,
            outcome="approve", rationale="forged", decided_by="mallory", decided_at=datetime.now(UTC),
            approved_budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(COST)),),
        )  # fmt: skip
        return event(source, portfolio_id, sequence, decided.type_name(), decided.model_dump(mode="json"))

    initiated = ProjectInitiated(
        project_id=x_id, portfolio_id=portfolio_id, proposal_id=x_id, title="Ghost", initiated_by="mallory",
        baseline_budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(COST)),),
        resource_estimate=(RoleEstimate(role="developer", fte=Decimal(1), start=datetime(2027, 1, 1).date(),
                                        end=datetime(2027, 6, 30).date()),),
    )  # fmt: skip
    # R's submission as intake would publish it, but costing -500 (from P's genuine submission, edited).
    submitted = genuine(bootstrap, INTAKE_TOPIC, p_id, ".ProposalSubmitted.v1").data
    case = {**submitted["business_case"], "costs": [{"fiscal_period": "FY2027", "amount": "-500"}]}
    cheap = {**submitted, "proposal_id": r_id, "title": "R", "business_case": case}
    invalid = {**approval(nxt).data, "outcome": "steal", "approved_budget": "all of it"}
    valid_approval = approval(nxt)
    forgeries = [
        # 1. A decision from a forged source (signed with the producer's real key, even so).
        Forgery("forged source", PORTFOLIO_TOPIC, approval(nxt, "/pmo/portfolio-forged"), "foreign_source",
                portfolio_key),
        # ... and an intake event type on portfolio's topic, from portfolio, signed with portfolio's real key.
        Forgery("foreign type", PORTFOLIO_TOPIC, event("/pmo/portfolio", r_id, 2, submitted_type(bootstrap, p_id),
                submitted), "foreign_type", portfolio_key),
        # 2. A project nobody initiated, signed by a stranger's key.
        Forgery("ProjectInitiated", PORTFOLIO_TOPIC, event("/pmo/portfolio", x_id, 1, initiated.type_name(),
                initiated.model_dump(mode="json")), "unknown_key", intruder),
        # 3. A candidate costing -500 at R's next sequence, unsigned.
        Forgery("ProposalSubmitted -500", INTAKE_TOPIC, event("/pmo/intake", r_id, 2, submitted_type(bootstrap, p_id),
                cheap), "unsigned"),
        # 4. Genuine source, the stream's next sequence, signed by the stranger claiming the producer's key id.
        Forgery("next sequence", PORTFOLIO_TOPIC, approval(nxt), "bad_signature", intruder, claims_portfolio_key),
        # 5. An invalid payload at the next sequence.
        Forgery("invalid payload", PORTFOLIO_TOPIC, event("/pmo/portfolio", portfolio_id, nxt, valid_approval.type,
                invalid), "unsigned"),
        # 6. Unsigned, and genuinely signed but with the data changed afterwards.
        Forgery("unsigned", PORTFOLIO_TOPIC, approval(nxt), "unsigned"),
        Forgery("tampered", PORTFOLIO_TOPIC, valid_approval, "bad_signature", portfolio_key,
                tamper=valid_approval.payload_bytes().replace(b'"forged"', b'"tamper"')),
    ]  # fmt: skip
    for topic in (PORTFOLIO_TOPIC, INTAKE_TOPIC):
        send(bootstrap, topic, [f.record() for f in forgeries if f.topic == topic])

    # Every reader of each topic dead-letters every forgery on it, with the reason.
    expected = {(r, f.event.event_id): f.reason for f in forgeries for r in READERS[f.topic]}

    def dead_lettered() -> dict[tuple[str, str], str] | None:
        found = {(r, i): why for r in set(r for r, _ in expected) for i, why in dead_letters(bootstrap, r).items()}
        return found if set(expected) <= set(found) else None

    found = wait_until(dead_lettered, "every reader to dead-letter every forgery")
    assert {key: found[key] for key in expected} == expected
    # Operators see them too: each reader's /metrics counts its dead letters by reason.
    for reader in ("intake", "portfolio", "resourcing", "reporting"):
        counted = collections.Counter(why for (r, _), why in expected.items() if r == reader)
        metrics = httpx.get(f"{running.stack.url(reader)}/metrics").text
        assert {why: dead_letter_count(metrics, why) for why in counted} == counted, reader
    # Nothing changed in any service.
    assert observed(running, portfolio_id, ids) == before

    # The genuine events that follow carry the sequences the forgeries took: each is applied everywhere.
    assert alice.post(f"/proposals/{r_id}/submit").status_code == 200  # R's genuine sequence 2
    decision = {"candidate_id": p_id, "outcome": "approved", "rationale": "Best value for FY2027",
                "override_reason": "fast-tracked: no scoring round",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": COST}]}  # fmt: skip
    assert board.post(f"/portfolios/{portfolio_id}/decisions", json=decision).status_code == 201

    wait_until(lambda: alice.get(f"/proposals/{p_id}").json()["status"] == "approved", "intake to learn the decision")
    # bob is the whole board: the trail keeps his carried motion and the decision it took.
    trail = wait_until(lambda: _decisions(reporting, portfolio_id)[1:] and _decisions(reporting, portfolio_id))
    assert sorted((d["kind"], d["subject_id"], d["outcome"], d["decided_by"]) for d in trail) == [
        ("investment", p_id, "approved", "bob"),
        ("motion", p_id, "approved", "board"),
    ]
    manager = running.client("resourcing", "rita", "resource_manager")
    demands = wait_until(lambda: manager.get("/demands", params={"project_id": p_id}).json()["items"], "demand")
    assert [(d["role"], d["fte"]) for d in demands] == [("developer", "0.5000")]
    candidate = wait_until(lambda: _candidates(board, portfolio_id).get(r_id), "R registered as a candidate")
    assert [(c["fiscal_period"], c["amount"]) for c in candidate["costs"]] == [("FY2027", COST)]  # not -500
    forged_ids = {f.event.event_id.encode() for f in forgeries}

    def genuine_at_the_forged_sequence() -> bool:
        """A genuine event (the decision, or R registered: they race for it) took the sequence forged above."""
        return any(
            key == portfolio_id.encode() and h["ce_id"] not in forged_ids and int(h["ce_sequence"]) == nxt
            for h, key, _ in read_topic(bootstrap, PORTFOLIO_TOPIC)
        )

    wait_until(genuine_at_the_forged_sequence, "the genuine event at the forged sequence to be published")
    after = observed(running, portfolio_id, ids)
    assert after["portfolio"]["projects"] == {p_id: 200, r_id: 404, x_id: 404}
    assert after["resourcing"][x_id] == before["resourcing"][x_id]
    assert after["reporting"]["projects"][x_id] == before["reporting"]["projects"][x_id]
    # And no genuine event was dead-lettered by anyone.
    assert set(dead_lettered() or {}) == set(expected)


def settled(running: Running, portfolio_id: str, ids: list[str]) -> dict[str, Any]:
    """The services' answers once they stop changing (every event published and applied)."""
    seen: list[dict[str, Any]] = []

    def same_twice() -> dict[str, Any] | None:
        seen.append(observed(running, portfolio_id, ids))
        return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] else None

    answers: dict[str, Any] = wait_until(same_twice, "the services to settle", interval=1.0)
    return answers


def dead_letter_count(metrics: str, reason: str) -> int:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "pmo_subscription_dead_letters_total" and sample.labels.get("reason") == reason:
                return int(sample.value)
    return 0


def submitted_type(bootstrap: str, proposal_id: str) -> str:
    return genuine(bootstrap, INTAKE_TOPIC, proposal_id, ".ProposalSubmitted.v1").type


def _candidates(board: httpx.Client, portfolio_id: str) -> dict[str, Any]:
    items = board.get(f"/portfolios/{portfolio_id}/candidates").json()["items"]
    return {c["id"]: c for c in items}


def _history(reporting: httpx.Client, entity_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = reporting.get(f"/history/{entity_id}", params={"limit": 200}).json()["items"]
    return items


def _decisions(reporting: httpx.Client, portfolio_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = reporting.get(
        "/reports/decisions", params={"portfolio_id": portfolio_id, "limit": 200}
    ).json()["items"]
    return items

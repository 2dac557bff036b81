"""The intake subscription's live path, over a real broker: a poll is applied in one transaction (the batch
handler: each portfolio loaded once, its views written once), with the offsets; a crash mid-poll leaves
neither views nor offsets advanced; redelivery changes nothing; a bad record goes to the dead-letter topic
alone; and the views it leaves are the ones a replay of the store builds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService, as_published, running_service
from pmo_events.contracts.base import Event
from pmo_events.contracts.intake import ProposalWithdrawn
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime import Metadata
from pmo_events.runtime import subscription as subscription_module
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.schema import consumer_offsets, events, snapshots
from pmo_events.runtime.subscription import APPLY_FAILED
from pmo_portfolio.candidates.views import candidates
from pmo_portfolio.funding.commands import PORTFOLIO
from pmo_portfolio.funding.views import portfolios
from pmo_servicekit.service import ServiceDefinition

from .api_support import isolated, new_portfolio
from .support import submitted

pytestmark = pytest.mark.integration


def _intake_records(stream_events: dict[str, list[Event]]) -> list[RecordedEvent]:
    """Intake's events as intake records them: one stream per proposal, sequences from 1, interleaved."""
    recorded: list[RecordedEvent] = []
    longest = max(len(evs) for evs in stream_events.values())
    for index in range(longest):
        for stream, evs in stream_events.items():
            if index < len(evs):
                recorded.append(_recorded(stream, index + 1, evs[index]))
    return recorded


def _recorded(stream: str, sequence: int, event: Event) -> RecordedEvent:
    return RecordedEvent(
        event_id=str(uuid.uuid4()), type=event.type_name(), source="/pmo/intake", stream_id=stream,
        stream_type="proposal", sequence=sequence, time=datetime.now(UTC), data=event.model_dump(mode="json"),
        actor="rita", correlation_id=f"corr-{stream}",
    )  # fmt: skip


async def _publish(bootstrap: str, topic: str, recorded: Sequence[RecordedEvent], keys: Path) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in recorded:
            key, value, headers = as_published(event, keys)
            await producer.send(topic, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def _views(service: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the candidates and portfolio views, in key order (the portfolio's state parsed)."""
    async with service.runtime.db.sessions() as session:
        rows = (await session.execute(select(candidates).order_by(candidates.c.candidate_id))).all()
        found = (await session.execute(select(portfolios).order_by(portfolios.c.portfolio_id))).all()
    return {
        "candidates": [tuple(r) for r in rows],
        "portfolios": [(r.portfolio_id, r.name, r.version, _parsed(r.state), r.updated_at) for r in found],
    }


def _parsed(text: str) -> Any:
    return loads(text)


def _history(
    portfolio_ids: list[str], per_portfolio: int, prefix: str
) -> tuple[dict[str, list[Event]], dict[str, tuple[str, int, str]]]:
    """Submissions, resubmissions and withdrawals over several portfolios, and what each candidate must end as:
    (portfolio, submission, status)."""
    streams: dict[str, list[Event]] = {}
    expected: dict[str, tuple[str, int, str]] = {}
    for p_index, pid in enumerate(portfolio_ids):
        for n in range(per_portfolio):
            proposal = f"{prefix}-{p_index}-{n:03d}"
            evs: list[Event] = [submitted(proposal, 1, pid)]
            if n % 3 == 0:
                evs.append(submitted(proposal, 2, pid))  # a resubmission replaces the candidate
            if n % 4 == 0:
                evs.append(ProposalWithdrawn(proposal_id=proposal, portfolio_id=pid, withdrawn_by="rita", reason="x"))
            if n % 12 == 0:
                evs.append(submitted(proposal, 3, pid))  # back again after its withdrawal
            streams[proposal] = evs
            last_submission = max(e.submission for e in evs if hasattr(e, "submission"))
            status = "withdrawn" if isinstance(evs[-1], ProposalWithdrawn) else "awaiting_decision"
            expected[proposal] = (pid, last_submission, status)
    return streams, expected


async def _seeded(definition: ServiceDefinition, url: str, bootstrap: str, keys: Path, boards: int) -> list[str]:
    """Portfolios created over HTTP, before any intake event is published."""
    async with running_service(definition, database_url=url, kafka_bootstrap=bootstrap, data_dir=keys) as service:
        return [(await new_portfolio(service, ["bea"]))["id"] for _ in range(boards)]


async def _rebuilt_equals_live(service: RunningService, live: dict[str, list[tuple[Any, ...]]]) -> None:
    definition = service.runtime.definition
    await rebuild_inline_views(
        service.runtime.db, service.runtime.store, tables=definition.view_tables, projectors=definition.projectors
    )
    assert await _views(service) == live


async def test_a_poll_applies_at_once_dedupes_redelivery_and_equals_the_replay(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    definition = isolated(topic_prefix)
    topic = definition.consumes[0]
    pids = await _seeded(definition, database_url, kafka_bootstrap, tmp_path, boards=3)
    streams, expected = _history(pids, 130, "p")
    recorded = _intake_records(streams)
    await _publish(kafka_bootstrap, topic, recorded, tmp_path)

    async with running_service(
        definition, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        status = service.runtime.subscription.status  # type: ignore[union-attr]

        async def all_applied() -> bool:
            return status.applied + status.skipped_duplicates >= len(recorded) and status.lag == 0

        await eventually(all_applied, timeout=60)
        assert status.batches_split == 0 and status.dead_lettered == 0
        live = await _views(service)
        got = {row[0]: (row[1], row[4], row[2]) for row in live["candidates"]}
        assert got == expected
        # The portfolio view holds every candidate of its portfolio, as the aggregate does.
        for pid, _name, _version, state, _at in live["portfolios"]:
            mine = {c: (s, st) for c, (p, s, st) in expected.items() if p == pid}
            held = {c: (v["submission"], v["status"]) for c, v in state["candidates"].items()}
            assert held == mine
        async with service.runtime.db.sessions() as session:
            written = (await session.execute(select(events.c.causation_id, events.c.correlation_id, events.c.version,
                       events.c.stream_id).where(events.c.stream_type == "portfolio")
                       .order_by(events.c.position))).all()  # fmt: skip
            snapshotted = (await session.execute(select(snapshots.c.stream_id, snapshots.c.version))).all()
        # Each registration or withdrawal is caused by its own intake event, and keeps that event's correlation.
        causes = {event.event_id: event for event in recorded}
        caused = [row for row in written if row.causation_id in causes]
        assert len(caused) == len(recorded)  # in `_history`, every intake event records one event here
        assert all(row.correlation_id == causes[row.causation_id].correlation_id for row in caused)
        # Versions of each portfolio's stream are consecutive (one append per cause, in consumption order).
        by_stream: dict[str, list[int]] = {}
        for row in written:
            by_stream.setdefault(row.stream_id, []).append(row.version)
        assert all(v == list(range(1, len(v) + 1)) for v in by_stream.values())
        # Each portfolio's stream went past 200 events: the poll that crossed 200 took its snapshot, at the version
        # it ended at (the whole history, when one poll carried it all).
        assert all(len(versions) > 200 for versions in by_stream.values())
        assert {sid for sid, _ in snapshotted} == set(by_stream)
        assert all(200 <= version <= len(by_stream[sid]) for sid, version in snapshotted)
        async with service.runtime.commands.unit_of_work(Metadata(actor="t")) as uow:
            for pid, _name, version, state, _at in live["portfolios"]:
                loaded = await uow.load(PORTFOLIO, pid)
                assert (loaded.version, loaded.state.model_dump(mode="json")) == (version, state)

        # Redelivery (a republish of the same records) changes nothing.
        before = status.skipped_duplicates
        await _publish(kafka_bootstrap, topic, recorded, tmp_path)
        await eventually(lambda: _at_least(status, before + len(recorded)), timeout=60)
        assert await _views(service) == live

        # A bad record (an unknown portfolio) goes to the dead-letter topic alone; the rest of its poll applies.
        late, late_expected = _history(pids[:1], 6, "late")
        bad = _intake_records({"bad": [submitted("bad", 1, str(uuid.uuid4()))]})
        good = _intake_records(late)
        await _publish(kafka_bootstrap, topic, [*good[:5], *bad, *good[5:]], tmp_path)

        async def settled() -> bool:
            return status.dead_letters[APPLY_FAILED] == 1 and len((await _views(service))["candidates"]) == len(
                expected
            ) + len(late_expected)

        await eventually(settled, timeout=60)
        live = await _views(service)
        assert {row[0]: (row[1], row[4], row[2]) for row in live["candidates"]} == expected | late_expected
    await _rebuild_check(definition, database_url, kafka_bootstrap, tmp_path, live)


async def _at_least(status: Any, skipped: int) -> bool:
    return bool(status.skipped_duplicates >= skipped)


async def _rebuild_check(
    definition: ServiceDefinition, url: str, bootstrap: str, keys: Path, live: dict[str, list[tuple[Any, ...]]]
) -> None:
    async with running_service(definition, database_url=url, kafka_bootstrap=bootstrap, data_dir=keys) as service:
        await _rebuilt_equals_live(service, live)


async def test_a_crash_mid_poll_advances_neither_views_nor_offsets(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = isolated(topic_prefix)
    topic = definition.consumes[0]
    pids = await _seeded(definition, postgres_url, kafka_bootstrap, tmp_path, boards=2)
    streams, expected = _history(pids, 30, "c")
    recorded = _intake_records(streams)
    await _publish(kafka_bootstrap, topic, recorded, tmp_path)

    seen: list[dict[str, Any]] = []
    write_offsets = subscription_module.write_offsets

    async def crashing_once(session: Any, *args: Any, **kwargs: Any) -> None:
        """The poll's views are written in its transaction by now; the first time, the process 'crashes'.
        On the retry, look (on another connection) at what the crash left."""
        inside = (await session.execute(select(candidates.c.candidate_id))).all()
        if not seen:
            seen.append({"written_before_crash": len(inside)})
            raise RuntimeError("crash between the views and the offsets")
        if len(seen) == 1:
            async with runtime.db.sessions() as other:
                offsets = (await other.execute(select(consumer_offsets))).all()
                rows = (await other.execute(select(candidates))).all()
                states = (await other.execute(select(portfolios.c.version))).all()
                registered = (
                    await other.execute(select(events.c.event_id).where(events.c.stream_type == "portfolio"))
                ).all()
            seen.append({"offsets": len(offsets), "candidates": len(rows), "versions": sorted(v for (v,) in states),
                         "registered": len(registered)})  # fmt: skip
        await write_offsets(session, *args, **kwargs)

    monkeypatch.setattr(subscription_module, "write_offsets", crashing_once)
    async with running_service(
        definition, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        runtime = service.runtime
        status = runtime.subscription.status  # type: ignore[union-attr]

        async def all_applied() -> bool:
            return status.applied >= len(recorded) and status.lag == 0

        await eventually(all_applied, timeout=60)
        assert seen[0]["written_before_crash"] > 0  # the crashed poll had written its rows, in its transaction
        # After the crash: no offset, no candidate, each portfolio's view at its creation, no registration stored.
        assert seen[1] == {"offsets": 0, "candidates": 0, "versions": [1] * len(pids), "registered": len(pids)}
        live = await _views(service)
        assert {row[0]: (row[1], row[4], row[2]) for row in live["candidates"]} == expected
        assert status.dead_lettered == 0
        await _rebuilt_equals_live(service, live)

"""The ids a poll's events name (the documents a batch loads at once): each contract's `*_id` fields and its
related ids, as reading every field of every event gave them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from pmo_events.contracts import portfolio
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.envelope import RecordedEvent
from pmo_reporting.adapters.db.event_log import entities
from pmo_reporting.application.live import _named, batch_ids


def recorded(stream_id: str, event: Event) -> RecordedEvent:
    return RecordedEvent(
        event_id=str(uuid.uuid4()), type=event.type_name(), source="/pmo/portfolio", stream_id=stream_id,
        sequence=1, time=datetime.now(UTC), data=event.model_dump(mode="json"), actor="olivia",
    )  # fmt: skip


def every_field(events: list[RecordedEvent]) -> set[str]:
    """The former way: every field of every decoded event read."""
    ids: set[str] = set()
    for event in events:
        ids.add(event.stream_id)
        decoded = event.decode()
        ids.update(decoded.related_ids())
        ids.update(value for name, value in decoded if name.endswith("_id") and isinstance(value, str))
    return ids


def test_the_ids_are_those_every_field_gives() -> None:
    when = datetime(2027, 3, 1, tzinfo=UTC)
    events = [
        recorded("pf-1", portfolio.PortfolioCreated(
            portfolio_id="pf-1", name="Change", currency="EUR", owner="olivia",
            budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(1)),), board_members=("bob",),
            created_by="olivia",
        )),
        recorded("p-1", portfolio.CandidateScored(
            portfolio_id="pf-1", candidate_id="p-1", assessor="bob", scores={"value": 4}, scored_at=when, submission=1,
        )),
        recorded("p-1", portfolio.InvestmentDecided(
            decision_id="d-1", portfolio_id="pf-2", candidate_id="p-1", proposal_id="p-1", outcome="approve",
            rationale="yes", decided_by="bob", decided_at=when,
        )),
        recorded("proj-1", portfolio.ProjectPaused(
            project_id="proj-1", portfolio_id="pf-3", rationale="funding", paused_by="olivia", paused_at=when,
        )),
        recorded("proj-2", portfolio.ProjectCancelled(project_id="proj-2", effective_on=date(2027, 4, 1))),
    ]  # fmt: skip
    found = batch_ids(events)
    assert found == every_field(events)
    assert {"pf-1", "pf-2", "pf-3", "p-1", "d-1", "proj-1", "proj-2"} <= found
    assert None not in found


def test_each_events_entities_are_those_the_log_indexes_it_by() -> None:
    """The batch finds each event's entities in the same pass as its ids (`_named`): the same lists
    `event_log.entities` gives, for a known contract, one whose payload does not validate, and an unknown type."""
    when = datetime(2027, 3, 1, tzinfo=UTC)
    events = [
        recorded("p-1", portfolio.InvestmentDecided(
            decision_id="d-1", portfolio_id="pf-2", candidate_id="p-1", proposal_id="p-1", outcome="approve",
            rationale="yes", decided_by="bob", decided_at=when,
        )),
        recorded("proj-1", portfolio.ProjectPaused(
            project_id="proj-1", portfolio_id="pf-3", rationale="funding", paused_by="olivia", paused_at=when,
        )),
    ]  # fmt: skip
    broken = replace(events[0], event_id=str(uuid.uuid4()), data={"decision_id": "d-2"})
    unknown = replace(events[1], event_id=str(uuid.uuid4()), type="pmo.portfolio.SomethingNewer.v1")
    events += [broken, unknown]
    ids, of_events = _named(events)
    assert of_events == [entities(event) for event in events]
    assert of_events[2] == ["p-1"] and of_events[3] == ["proj-1"]
    assert ids == batch_ids(events)

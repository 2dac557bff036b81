"""Shapes that several services show of one concept: one model each, so their schemas cannot drift apart."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pmo_servicekit.contract.wire import Fte, Instant, Ratio

#: A board decision's outcome: the status it gives the candidate (the v1 events carry the verbs).
DecisionOutcome = Literal["approved", "rejected", "deferred", "changes_requested"]
#: The verb the v1 events carry for a decision.
DecisionVerb = Literal["approve", "reject", "defer", "request_changes"]
#: The v1 event's verb for each outcome, and back.
OUTCOME_VERBS: dict[str, DecisionVerb] = {
    "approved": "approve",
    "rejected": "reject",
    "deferred": "defer",
    "changes_requested": "request_changes",
}
OUTCOMES_OF_VERBS: dict[str, str] = {verb: outcome for outcome, verb in OUTCOME_VERBS.items()}


#: A history entry as intake and reporting answer it.
HISTORY_ENTRY_EXAMPLE: dict[str, Any] = {
    "event_id": "a831fb88-a38a-4ef4-82ea-7e401c6f8690",
    "subject": "cbe2eb93-539b-46b3-98e1-9cbba120275c",
    "sequence": 2,
    "type": "pmo.intake.ProposalSubmitted.v1",
    "event": "ProposalSubmitted",
    "service": "intake",
    "occurred_at": "2027-03-01T09:30:00Z",
    "actor": "alice",
    "correlation_id": "4210bb01b2a04c6a9b84767f1a6d49de",
    "causation_id": None,
    "data": {"proposal_id": "cbe2eb93-539b-46b3-98e1-9cbba120275c", "submission": 1, "requester": "alice"},
}
#: A capacity row as resourcing and reporting answer it.
CAPACITY_ROW_EXAMPLE: dict[str, Any] = {
    "period": "FY2027-P01",
    "start": "2027-01-01",
    "end": "2027-01-31",
    "group": "developer",
    "capacity": "3.0000",
    "demand": "2.5714",
    "confirmed": "1.8000",
    "proposed": "0.5000",
    "gap": "0.4286",
    "utilisation": "0.7667",
    "over_allocated": False,
}


class HistoryEntry(BaseModel):
    """One event in a record's history: what happened, when, who did it, and why it happened."""

    model_config = ConfigDict(json_schema_extra={"examples": [HISTORY_ENTRY_EXAMPLE]})

    event_id: str
    subject: str = Field(description="the stream (aggregate) the event belongs to")
    sequence: int = Field(description="the event's position in its stream, from 1")
    type: str = Field(examples=["pmo.intake.ProposalSubmitted.v1"])
    event: str = Field(examples=["ProposalSubmitted"])
    service: str = Field(examples=["intake"])
    occurred_at: Instant
    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def of(cls, **fields: Any) -> HistoryEntry:
        """From a recorded event's type and metadata: `event` and `service` are read off the type."""
        _, service, event, _version = str(fields["type"]).split(".")
        return cls(event=event, service=service, **fields)


class CapacityRow(BaseModel):
    """Capacity against demand for one group (role, pool, skill or resource) in one fiscal period, in average FTE.

    Defined once in `pmo_events.figures.capacity` (docs/figures.md); resourcing and reporting both show it.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [CAPACITY_ROW_EXAMPLE]})

    period: str = Field(examples=["FY2027-P01"])
    start: date
    end: date
    group: str = Field(examples=["developer"])
    capacity: Fte
    demand: Fte | None = Field(description="demand is raised per role: null when grouped otherwise")
    confirmed: Fte
    proposed: Fte
    gap: Fte | None = Field(description="capacity minus demand (negative: short); null when demand is")
    utilisation: Ratio | None = Field(description="(confirmed + proposed) / capacity; null without capacity")
    over_allocated: bool


class OverallocatedWeek(BaseModel):
    """An ISO week booked above capacity: capacity (after time off), booked load and the excess, in FTE."""

    week: str = Field(examples=["2027-W05"])
    capacity: Fte
    load: Fte
    excess: Fte


class Overallocation(BaseModel):
    """The fact a booking over capacity (accepted with a reason) recorded: which weeks, by how much, who and why."""

    resource_id: str
    cause: str
    allocation_id: str | None = None
    project_id: str | None = None
    weeks: list[OverallocatedWeek]
    reason: str
    accepted_by: str

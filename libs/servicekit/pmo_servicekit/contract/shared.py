"""Shapes that several services show of one concept: one model each, so their schemas cannot drift apart."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

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


class HistoryEntry(BaseModel):
    """One event in a record's history: what happened, when, who did it, and why it happened."""

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

"""Capacity and demand: demand lines, resources (capacity, time off, retirement), bookings, over-allocations."""

from __future__ import annotations

from typing import Any

from pmo_events.contracts import resourcing as r
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

DEMAND = "demand"
RESOURCE = "resource"
ALLOCATION = "allocation"
OVERALLOCATION = "overallocation"


def _newest(doc: Body, at: str, field: str = "terms_at") -> bool:
    """True when `at` is at least as new as what the document holds (then the event's values win)."""
    if at >= doc.get(field, ""):
        doc[field] = at
        return True
    return False


@on(r.DemandRaised)
def demand_raised(docs: Documents, event: r.DemandRaised, meta: RecordedEvent) -> None:
    doc = docs.get(DEMAND, event.demand_id) or {"id": event.demand_id, "cancelled_at": None}
    doc.update(
        project_id=event.project_id,
        role=event.role,
        fte=format(event.fte, "f"),
        start=event.start.isoformat(),
        end=event.end.isoformat(),
        raised_at=instant(meta.time),
    )
    docs.put(DEMAND, event.demand_id, doc, scope=event.role)


@on(r.DemandCancelled)
def demand_cancelled(docs: Documents, event: r.DemandCancelled, meta: RecordedEvent) -> None:
    doc = docs.get(DEMAND, event.demand_id) or {"id": event.demand_id, "project_id": event.project_id}
    doc.update(cancelled_at=instant(meta.time), cancel_reason=event.reason)
    docs.put(DEMAND, event.demand_id, doc, scope=doc.get("role", ""))


def _resource(docs: Documents, resource_id: str) -> Body:
    return docs.get(RESOURCE, resource_id) or {"id": resource_id, "time_off": {}, "retired_on": None}


@on(r.ResourceRegistered, r.ResourceUpdated)
def resource_profiled(docs: Documents, event: Any, meta: RecordedEvent) -> None:
    doc = _resource(docs, event.resource_id)
    if _newest(doc, instant(meta.time)):
        doc.update(
            name=event.name,
            role=event.role,
            pool=event.pool,
            fte=format(event.fte, "f"),
            skills=[s.model_dump(mode="json") for s in event.skills],
            working_days=list(event.working_days),
        )
    if isinstance(event, r.ResourceRegistered):
        doc["kind"] = event.kind
    docs.put(RESOURCE, event.resource_id, doc, scope=doc.get("role", ""))


@on(r.TimeOffRecorded)
def time_off(docs: Documents, event: r.TimeOffRecorded, meta: RecordedEvent) -> None:
    doc = _resource(docs, event.resource_id)
    doc["time_off"][event.time_off_id] = {"start": event.start.isoformat(), "end": event.end.isoformat()}
    docs.put(RESOURCE, event.resource_id, doc, scope=doc.get("role", ""))


@on(r.ResourceRetired)
def resource_retired(docs: Documents, event: r.ResourceRetired, meta: RecordedEvent) -> None:
    doc = _resource(docs, event.resource_id)
    doc["retired_on"] = event.retired_on.isoformat()
    docs.put(RESOURCE, event.resource_id, doc, scope=doc.get("role", ""))


def _allocation(docs: Documents, event: Any) -> Body:
    return docs.get(ALLOCATION, event.allocation_id) or {
        "id": event.allocation_id,
        "resource_id": event.resource_id,
        "project_id": event.project_id,
        "booked_status": None,
        "confirmed_at": None,
        "released_at": None,
    }


def _put_allocation(docs: Documents, doc: Body) -> None:
    confirmed = doc["booked_status"] == "confirmed" or doc["confirmed_at"]
    doc["status"] = "released" if doc["released_at"] else ("confirmed" if confirmed else "proposed")
    docs.put(ALLOCATION, doc["id"], doc, scope=doc["resource_id"])


@on(r.AllocationBooked, r.AllocationChanged)
def allocation_terms(docs: Documents, event: Any, meta: RecordedEvent) -> None:
    """Dates and FTE: the newest terms win; the booking's status and role come from the booking."""
    doc = _allocation(docs, event)
    if isinstance(event, r.AllocationBooked):
        doc.update(booked_status=event.status, role=event.role, demand_id=event.demand_id, booked_by=event.booked_by)
    if _newest(doc, instant(meta.time)):
        doc.update(start=event.start.isoformat(), end=event.end.isoformat(), fte=format(event.fte, "f"))
    _put_allocation(docs, doc)


@on(r.AllocationConfirmed)
def allocation_confirmed(docs: Documents, event: r.AllocationConfirmed, meta: RecordedEvent) -> None:
    doc = _allocation(docs, event)
    doc.update(confirmed_at=instant(meta.time), confirmed_by=event.confirmed_by)
    _put_allocation(docs, doc)


@on(r.AllocationReleased)
def allocation_released(docs: Documents, event: r.AllocationReleased, meta: RecordedEvent) -> None:
    doc = _allocation(docs, event)
    doc.update(released_at=instant(meta.time), released_by=event.released_by, release_reason=event.reason)
    _put_allocation(docs, doc)


@on(r.ResourceOverallocated)
def overallocated(docs: Documents, event: r.ResourceOverallocated, meta: RecordedEvent) -> None:
    """Each accepted over-allocation is a fact of its own: who accepted which excess, and why."""
    docs.put(
        OVERALLOCATION,
        meta.event_id,
        {
            "resource_id": event.resource_id,
            "project_id": event.project_id,
            "allocation_id": event.allocation_id,
            "cause": event.cause,
            "weeks": [w.model_dump(mode="json") for w in event.weeks],
            "reason": event.reason,
            "accepted_by": event.accepted_by,
            "at": instant(meta.time),
        },
        scope=event.resource_id,
    )


EFFECTS = (
    demand_raised,
    demand_cancelled,
    resource_profiled,
    time_off,
    resource_retired,
    allocation_terms,
    allocation_confirmed,
    allocation_released,
    overallocated,
)

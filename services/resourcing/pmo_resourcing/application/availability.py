"""Who is free, and a resource's week-by-week schedule: answered from the resources view."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pmo_events.figures.days import Span
from pmo_events.runtime import Database
from pmo_resourcing.application.queries import get_resource, matching_resources
from pmo_resourcing.domain.capacity import free_fte, fte, schedule
from pmo_resourcing.domain.resource import Resource


def resource_view(state: Resource, version: int) -> dict[str, Any]:
    body = state.model_dump(mode="json", exclude={"bookings", "resource_id"})
    body["bookings"] = sorted(
        (
            b.model_dump(mode="json", exclude={"allocation_id"}) | {"id": b.allocation_id}
            for b in state.bookings.values()
        ),
        key=lambda b: (b["start"], b["id"]),
    )
    return {"id": state.resource_id, "version": version, **body}


async def find_free(
    db: Database,
    *,
    role: str | None,
    pool: str | None,
    skill: str | None,
    min_level: int | None,
    window: Span | None,
    min_free_fte: Decimal | None,
) -> list[dict[str, Any]]:
    """Resources matching role/pool/skill; with a window, only those with `min_free_fte` free in it."""
    found = await matching_resources(
        db, role=role, pool=pool, skill=skill, min_level=min_level, active_only=window is not None
    )
    items = []
    for state in found:
        summary = {k: v for k, v in resource_view(state, 0).items() if k not in ("bookings", "time_off", "version")}
        if window is not None:
            free = free_fte(state, window)
            if free < Fraction(min_free_fte or 0) or free == 0:
                continue
            summary["free_fte"] = format(fte(free), "f")
        items.append(summary)
    return items


async def resource_schedule(db: Database, resource_id: str, window: Span) -> dict[str, Any]:
    state, _version = await get_resource(db, resource_id)
    weeks = [
        {
            "week": w.name,
            "start": w.span.start.isoformat(),
            "end": w.span.end.isoformat(),
            "capacity": _f(w.capacity),
            "proposed": _f(w.proposed),
            "confirmed": _f(w.confirmed),
            "free": _f(w.free),
            "overallocated": w.excess > 0,
        }
        for w in schedule(state, window)
    ]
    return {"resource_id": resource_id, "from": window.start.isoformat(), "to": window.end.isoformat(), "weeks": weeks}


def _f(value: Fraction) -> str:
    return format(fte(value), "f")


def parse_window(start: date | None, end: date | None) -> Span | None:
    return Span(start, end) if start and end else None

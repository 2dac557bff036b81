"""Capacity vs demand per fiscal period, in average FTE over the period: one definition for every view.

- A resource's capacity in a period = FTE x its available working days in the period / its working
  days in the period. Working days are the resource's own calendar (Mon-Fri unless set otherwise);
  available means not time off and before its retirement date.
- A booking's load = booking FTE x the resource's working days it covers in the period / the
  resource's working days in the period (time off does not shorten a booking: it shows as excess).
- A demand line's demand = line FTE x its Mon-Fri days in the period / the period's Mon-Fri days
  (a line names a role, not a person's calendar).
- gap = capacity - demand; utilisation = (confirmed + proposed) / capacity, a ratio (None without
  capacity); over_allocated = confirmed + proposed > capacity.
Demand carries only a role, so demand and gap are None unless grouped by role. Computed exactly with
fractions; FTE and utilisation shown to 4 places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Literal

from pmo_events.figures.days import STANDARD_WEEK, Span, count_days, weekday_numbers
from pmo_events.figures.fiscal import Bucket

GroupBy = Literal["role", "pool", "skill", "resource"]
GROUP_BY: tuple[GroupBy, ...] = ("role", "pool", "skill", "resource")
NO_POOL = "unassigned"
MEASURES = ("capacity", "demand", "confirmed", "proposed")
FTE_PLACES = Decimal("0.0001")
#: The longest window a capacity question may cover.
MAX_WINDOW_DAYS = 3 * 366


@dataclass(frozen=True)
class ResourceCalendar:
    """What capacity needs to know of a resource."""

    resource_id: str
    role: str
    fte: Decimal
    working_days: tuple[str, ...] = STANDARD_WEEK
    pool: str | None = None
    skills: tuple[str, ...] = ()
    time_off: tuple[Span, ...] = ()
    retired_on: date | None = None

    def away(self) -> list[Span]:
        """Spans with no capacity: time off, and everything from the retirement date on."""
        return [*self.time_off, *([Span(self.retired_on, date.max)] if self.retired_on else [])]


@dataclass(frozen=True)
class BookedLoad:
    """An active booking (proposed or confirmed) on a resource."""

    resource_id: str
    status: Literal["proposed", "confirmed"]
    fte: Decimal
    span: Span


@dataclass(frozen=True)
class DemandLine:
    """A project's need for a role (cancelled lines are not demand)."""

    role: str
    fte: Decimal
    span: Span


def window_problem(start: date, end: date) -> tuple[str, str] | None:
    """What is wrong with a `from`/`to` window, as (field, message); None when it is fine."""
    if end < start:
        return "to", "the window ends before it starts"
    if (end - start).days > MAX_WINDOW_DAYS:
        return "to", "a window covers at most three years"
    return None


def fte(value: Fraction | Decimal) -> Decimal:
    """An exact figure as a decimal FTE to four places, without trailing zeros."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    quantised = value.quantize(FTE_PLACES, rounding=ROUND_HALF_EVEN).normalize()
    return quantised if quantised != 0 else Decimal(0)


def share(value: Decimal, span: Span, period: Span, working: frozenset[int]) -> Fraction:
    """`value` FTE over `span`, as an average over `period`'s days in `working`."""
    expected = count_days(period, working)
    return Fraction(value) * Fraction(count_days(span.overlap(period), working), expected) if expected else Fraction(0)


def resource_capacity(resource: ResourceCalendar, period: Span) -> Fraction:
    working = weekday_numbers(resource.working_days)
    expected = count_days(period, working)
    if not expected:
        return Fraction(0)
    return Fraction(resource.fte) * Fraction(count_days(period, working, excluding=resource.away()), expected)


def groups_of(resource: ResourceCalendar, group_by: GroupBy) -> Iterable[str]:
    if group_by == "role":
        return [resource.role]
    if group_by == "pool":
        return [resource.pool or NO_POOL]
    if group_by == "skill":
        return resource.skills
    return [resource.resource_id]


def capacity_rows(
    resources: Sequence[ResourceCalendar],
    bookings: Sequence[BookedLoad],
    demand: Sequence[DemandLine],
    buckets: Sequence[Bucket],
    group_by: GroupBy,
) -> list[dict[str, Any]]:
    """One row per fiscal period and group, periods in date order, groups by name."""
    by_resource: dict[str, list[BookedLoad]] = defaultdict(list)
    for booking in bookings:
        by_resource[booking.resource_id].append(booking)
    standard = weekday_numbers(STANDARD_WEEK)
    rows = []
    for bucket in buckets:
        totals: dict[str, dict[str, Fraction]] = defaultdict(lambda: dict.fromkeys(MEASURES, Fraction(0)))
        for resource in resources:
            working = weekday_numbers(resource.working_days)
            for group in groups_of(resource, group_by):
                totals[group]["capacity"] += resource_capacity(resource, bucket.span)
                for booking in by_resource[resource.resource_id]:
                    totals[group][booking.status] += share(booking.fte, booking.span, bucket.span, working)
        if group_by == "role":
            for line in demand:
                if line.span.overlap(bucket.span):
                    totals[line.role]["demand"] += share(line.fte, line.span, bucket.span, standard)
        rows += [_row(bucket, group, measures, group_by == "role") for group, measures in sorted(totals.items())]
    return rows


def _row(bucket: Bucket, group: str, measures: dict[str, Fraction], with_demand: bool) -> dict[str, Any]:
    capacity, load = measures["capacity"], measures["confirmed"] + measures["proposed"]
    return {
        "period": bucket.name,
        "start": bucket.span.start.isoformat(),
        "end": bucket.span.end.isoformat(),
        "group": group,
        "capacity": _shown(capacity),
        "demand": _shown(measures["demand"]) if with_demand else None,
        "confirmed": _shown(measures["confirmed"]),
        "proposed": _shown(measures["proposed"]),
        "gap": _shown(capacity - measures["demand"]) if with_demand else None,
        "utilisation": format(fte(load / capacity), "f") if capacity else None,
        "over_allocated": load > capacity,
    }


def _shown(value: Fraction) -> str:
    return format(fte(value), "f")

"""Bookings fall on the resource's working days: a booking that starts or ends on a day the resource does not
work is refused (422 naming `start` or `end`), unless the manager accepts it with a reason, which is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pmo_events.figures.days import WEEKDAYS, weekday_name
from pmo_resourcing.domain.errors import InvalidCommand
from pmo_resourcing.domain.resource import Resource


@dataclass(frozen=True)
class NonWorkingDays:
    """A manager's explicit acceptance of a booking on days the resource does not work, with why."""

    allow: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.allow and not (self.reason and self.reason.strip()):
            raise InvalidCommand("reason", "allow_non_working_days needs a reason")


ON_WORKING_DAYS = NonWorkingDays()


def check_working_days(resource: Resource, start: date, end: date, acceptance: NonWorkingDays) -> str | None:
    """None when both ends are working days; the reason to record when accepted; else a 422 naming the end."""
    working = [d for d in WEEKDAYS if d in resource.working_days]
    for field, day in (("start", start), ("end", end)):
        if weekday_name(day) in working:
            continue
        if acceptance.allow:
            return acceptance.reason
        raise InvalidCommand(
            field,
            f"{day.isoformat()} is a {day.strftime('%A')}, not a working day of this resource "
            f"({', '.join(working)}): book from and to working days, or allow_non_working_days with a reason",
        )
    return None

"""The organisation's fiscal calendar as reporting knows it: every report buckets by the one in force."""

from __future__ import annotations

from typing import Protocol

from pmo_events.contracts.portfolio import FISCAL_CALENDAR_ID, FiscalCalendarSet
from pmo_events.envelope import RecordedEvent
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

FISCAL_CALENDAR = "fiscal_calendar"


@on(FiscalCalendarSet)
def calendar_set(docs: Documents, event: FiscalCalendarSet, meta: RecordedEvent) -> None:
    """The newest setting wins whatever the arrival order; a fold `as_of` earlier keeps the one of then."""
    doc = docs.get(FISCAL_CALENDAR, FISCAL_CALENDAR_ID) or {"set_at": ""}
    if instant(event.set_at) >= doc["set_at"]:
        doc = {
            "year_start_month": event.year_start_month,
            "year_named_by": event.year_named_by,
            "set_by": event.set_by,
            "set_at": instant(event.set_at),
        }
    docs.put(FISCAL_CALENDAR, FISCAL_CALENDAR_ID, doc)


EFFECTS = (calendar_set,)


class _Readable(Protocol):
    def get(self, kind: str, key: str) -> Body | None: ...


def fiscal_calendar(docs: _Readable) -> FiscalCalendar:
    """The calendar in the documents (calendar years until one was set)."""
    doc = docs.get(FISCAL_CALENDAR, FISCAL_CALENDAR_ID)
    if not doc or "year_start_month" not in doc:
        return CALENDAR_YEAR
    return FiscalCalendar(doc["year_start_month"], doc["year_named_by"])

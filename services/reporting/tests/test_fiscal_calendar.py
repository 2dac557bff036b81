"""Every report buckets by the organisation's fiscal calendar; an earlier instant keeps the calendar of then."""

from __future__ import annotations

from datetime import date

from pmo_events.contracts import portfolio
from pmo_events.figures.days import Span
from pmo_reporting.projections.calendar import fiscal_calendar
from pmo_reporting.projections.catalogue import CAPACITY, PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.capacity import capacity_heatmap
from pmo_reporting.reports.summary import portfolio_summary

from .support import History, Staffing, standard_history


def fold(events, projection=PORTFOLIO) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in events:
        projection.apply(docs, event)
    return docs


def april(h: History) -> None:
    h.add(portfolio.FiscalCalendarSet(year_start_month=4, set_by="ada", set_at=h.now), "fiscal-calendar")


def test_the_summary_dates_each_fiscal_period_by_the_calendar_in_force_then() -> None:
    h = standard_history()
    cut = h.now
    april(h.at(200))
    before = portfolio_summary(fold([e for e in h.events if e.time <= cut]), "pf-1")
    after = portfolio_summary(fold(h.events), "pf-1")
    [then] = [b for b in before["budget"] if b["fiscal_period"] == "FY2026"]
    [now] = [b for b in after["budget"] if b["fiscal_period"] == "FY2026"]
    assert (then["start"], then["end"]) == ("2026-01-01", "2026-12-31")
    assert (now["start"], now["end"]) == ("2026-04-01", "2027-03-31")
    assert {k: v for k, v in now.items() if k not in ("start", "end")} == {
        k: v for k, v in then.items() if k not in ("start", "end")
    }  # the amounts are the same facts


def test_capacity_buckets_are_fiscal_periods_of_an_april_year() -> None:
    s = Staffing()
    s.resource("r-1", "developer")
    s.demand("p-1", "developer", "1", date(2026, 3, 1), date(2026, 4, 30))
    april(s.at(1))
    docs = fold(s.events, CAPACITY)
    rows = capacity_heatmap(docs, fiscal_calendar(docs), Span(date(2026, 3, 1), date(2026, 4, 30)), "role", "period")
    assert [(r["period"], r["start"], r["demand"]) for r in rows] == [
        ("FY2025-P12", "2026-03-01", "1"),
        ("FY2026-P01", "2026-04-01", "1"),
    ]
    quarters = capacity_heatmap(
        docs, fiscal_calendar(docs), Span(date(2026, 3, 1), date(2026, 4, 30)), "role", "quarter"
    )
    assert [(r["period"], r["start"], r["end"]) for r in quarters] == [
        ("FY2025-Q4", "2026-01-01", "2026-03-31"),
        ("FY2026-Q1", "2026-04-01", "2026-06-30"),
    ]


def test_the_newest_calendar_wins_whatever_the_arrival_order() -> None:
    h = History()
    april(h.at(1))
    h.at(2).add(portfolio.FiscalCalendarSet(year_start_month=7, set_by="ada", set_at=h.now), "fiscal-calendar")
    assert fiscal_calendar(fold(h.events)).year_start_month == 7
    assert fiscal_calendar(fold(reversed(h.events))).year_start_month == 7
    assert fiscal_calendar(fold([])).year_start_month == 1

"""Earned value in reporting is what the portfolio recorded when each report was made: never recomputed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pmo_events.contracts import portfolio
from pmo_events.contracts.common import PeriodAmount
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.project import project_view
from pmo_reporting.reports.summary import portfolio_summary

from .support import History, standard_history

GREEN = portfolio.RagRating(schedule="green", cost="green", scope="green", overall="green")
AMBER = portfolio.RagRating(schedule="amber", cost="green", scope="green", overall="amber")


def fold(history: History) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in history.events:
        PORTFOLIO.apply(docs, event)
    return docs


def recorded(h: History, period_end: date, **figures: str) -> str:
    """A status report as the portfolio records it, with its figures; the reporting side must not touch them."""
    report_id = figures.pop("report_id", str(uuid.uuid4()))
    fields = {"bac": "100000", "planned_value": "73973", "earned_value": "75000", "actual_cost": "80000",
              "spi": "1.0139", "cpi": "0.9375", "schedule_variance": "1027", "cost_variance": "-5000",
              "eac": "106666.67", "vac": "-6666.67", "percent_complete": "75"} | figures  # fmt: skip
    h.add(
        portfolio.StatusReported(
            project_id="p-1", portfolio_id="pf-1", report_id=report_id, period_end=period_end, rag=GREEN,
            derived_rag=GREEN, rag_source="derived", green_at=Decimal("0.95"), amber_at=Decimal("0.9"), summary="s",
            reported_by="pam", reported_at=h.now, **fields,  # type: ignore[arg-type]
        ),
        "p-1",
    )  # fmt: skip
    return report_id


def test_a_recorded_report_reads_the_same_after_budget_changes_and_closure() -> None:
    """The issue's case: recorded EV 75,000, SPI 1.0139, CPI 0.9375; later BAC and final cost change."""
    h = standard_history()
    recorded(h.at(40), date(2026, 9, 30))
    h.at(50).add(
        portfolio.ChangeRequestDecided(
            project_id="p-1", portfolio_id="pf-1", change_request_id="cr-1", kind="budget", outcome="approve",
            budget_delta=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(-3333)),), rationale="less",
            decided_by="bob", decided_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    h.at(60).add(portfolio.ProjectClosed(project_id="p-1", portfolio_id="pf-1", final_cost=Decimal(90000)), "p-1")
    view = project_view(fold(h), "p-1")
    assert view is not None
    [point] = view["evm"]
    assert (point["bac"], point["ev"], point["spi"], point["cpi"]) == ("100000.00", "75000.00", "1.0139", "0.9375")
    assert (point["pv"], point["ac"], point["eac"], point["vac"]) == ("73973.00", "80000.00", "106666.67", "-6666.67")
    assert (point["green_at"], point["amber_at"]) == ("0.95", "0.9")
    assert view["bac"] == "116667.00"  # the project's budget now; the report keeps the BAC it had


def test_an_event_from_before_the_derived_figures_gets_them_from_its_own_amounts() -> None:
    """Upcast on read: EAC = BAC x AC / EV = 100,000 x 80,000 / 75,000 from that event, not from today's budget."""
    h = standard_history()
    old = {"project_id": "p-1", "portfolio_id": "pf-1", "report_id": "r-old", "period_end": "2026-09-30",
           "percent_complete": "75", "actual_cost": "80000", "bac": "100000", "planned_value": "73973",
           "earned_value": "75000", "spi": "1.0139", "cpi": "0.9375", "rag": GREEN.model_dump(),
           "derived_rag": GREEN.model_dump(), "rag_source": "derived", "summary": "s", "reported_by": "pam",
           "reported_at": h.now.isoformat()}  # fmt: skip
    h.events.append(
        RecordedEvent(str(uuid.uuid4()), portfolio.StatusReported.type_name(), "/pmo/portfolio", "p-1", 9, h.now, old)
    )
    view = project_view(fold(h), "p-1")
    assert view is not None
    [point] = view["evm"]
    assert (point["sv"], point["cv"], point["eac"], point["vac"]) == ("1027.00", "-5000.00", "106666.67", "-6666.67")
    assert point["green_at"] is None  # not recorded then, and not invented now


def test_withdrawn_and_superseded_reports_leave_the_series_but_not_the_history() -> None:
    h = standard_history()
    june = recorded(h.at(30), date(2026, 6, 30), earned_value="30000", actual_cost="25000")
    typo = recorded(h.at(31), date(2026, 12, 31), earned_value="99000", actual_cost="1")
    fixed = recorded(h.at(32), date(2026, 7, 31), earned_value="35000", actual_cost="30000", cpi="1.1667")
    h.events[-1].data.update(correction_of=june, correction_reason="wrong month")
    before = portfolio_summary(fold(h), "pf-1")
    assert before["totals"]["actual"] == "1.00"  # the typo is the latest report until it is withdrawn
    h.at(33).add(
        portfolio.StatusReportWithdrawn(
            project_id="p-1", portfolio_id="pf-1", report_id=typo, reason="typo", withdrawn_by="pam",
            withdrawn_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    docs = fold(h)
    view = project_view(docs, "p-1")
    assert view is not None
    assert [(p["report_id"], p["ev"]) for p in view["evm"]] == [(fixed, "35000.00")]
    states = {r["report_id"]: r["state"] for r in view["status_history"]}
    assert states == {june: "superseded", typo: "withdrawn", fixed: "current"}
    assert next(r for r in view["status_history"] if r["report_id"] == typo)["withdrawal"]["reason"] == "typo"
    assert portfolio_summary(docs, "pf-1")["totals"]["actual"] == "30000.00"


def test_arrival_order_does_not_change_which_reports_count() -> None:
    h = standard_history()
    first = recorded(h.at(30), date(2026, 6, 30))
    recorded(h.at(31), date(2026, 6, 30), earned_value="76000", report_id="r-2")
    h.events[-1].data.update(correction_of=first)
    h.at(33).add(
        portfolio.StatusReportWithdrawn(
            project_id="p-1", portfolio_id="pf-1", report_id="r-2", reason="x", withdrawn_by="pam", withdrawn_at=h.now
        ),
        "p-1",
    )
    forward = project_view(fold(h), "p-1")
    h.events.reverse()
    backward = project_view(fold(h), "p-1")
    assert forward is not None and backward is not None
    assert forward["evm"] == backward["evm"] == []

"""The portfolio's delivery events in the project report, the summary, the trail, benefits and lessons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.contracts import portfolio
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import RagRating
from pmo_events.figures.fiscal import FiscalCalendar
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.benefits import benefits_register
from pmo_reporting.reports.project import change_at_scale, project_view
from pmo_reporting.reports.registers import decision_trail, lessons_library
from pmo_reporting.reports.summary import portfolio_summary

from .support import History, standard_history


def fold(history: History) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in history.events:
        PORTFOLIO.apply(docs, event)
    return docs


def _rag(overall: str) -> RagRating:
    return RagRating(schedule=overall, cost="green", scope="green", overall=overall)  # type: ignore[arg-type]


def _report(h: History, period_end: date, percent: str, cost: str, overall: str, correction_of: str | None = None):
    report_id = f"r-{period_end}-{percent}"
    h.add(
        portfolio.StatusReported(
            project_id="p-1", portfolio_id="pf-1", report_id=report_id, period_end=period_end,
            percent_complete=Decimal(percent), actual_cost=Decimal(cost), bac=Decimal(120000),
            planned_value=Decimal(60000), earned_value=Decimal(120000) * Decimal(percent) / 100, spi="x", cpi="y",
            rag=_rag(overall), derived_rag=_rag(overall), rag_source="derived", summary="s",
            correction_of=correction_of, reported_by="pam", reported_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    return report_id


def delivered(currency: str = "EUR") -> History:
    h = standard_history(currency)
    h.at(30).add(
        portfolio.StageGateDecided(
            project_id="p-1", portfolio_id="pf-1", decision_id="g-1", gate="plan", decision="proceed",
            from_stage="initiate", to_stage="plan", rationale="ready", decided_by="bob", decided_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    first = _report(h.at(40), date(2026, 6, 30), "40", "50000", "amber")
    _report(h.at(41), date(2026, 6, 30), "45", "50000", "green", correction_of=first)
    h.at(50).add(
        portfolio.ChangeRequested(
            project_id="p-1", portfolio_id="pf-1", change_request_id="cr-1", kind="budget",
            budget_delta=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(10000)),), rationale="more",
            requested_by="pam", requested_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    h.at(51).add(
        portfolio.ChangeRequestDecided(
            project_id="p-1", portfolio_id="pf-1", change_request_id="cr-1", kind="budget", outcome="approve",
            budget_delta=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(10000)),), rationale="ok",
            decided_by="bob", decided_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    h.at(60).add(
        portfolio.LessonRecorded(
            project_id="p-1", portfolio_id="pf-1", lesson_id="l-1", title="Pilot first", description="d",
            category="delivery", tags=("pilot",), decision_id="g-1", recorded_by="pam", recorded_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    return h


def test_the_project_report_shows_gates_reports_corrections_and_changes() -> None:
    view = project_view(fold(delivered()), "p-1")
    assert view is not None
    assert (view["stage"], view["status"]) == ("plan", "active")
    assert [g["decision"] for g in view["gates"]] == ["proceed"]
    assert len(view["status_history"]) == 2 and view["status_history"][1]["correction_of"]
    assert view["rag_trend"] == [{"period_end": "2026-06-30", "schedule": "green", "cost": "green",
                                  "scope": "green", "overall": "green"}]  # fmt: skip
    # The figures the corrected report recorded (BAC 120,000 then), not recomputed with today's BAC of 130,000.
    assert [(p["pv"], p["ev"], p["ac"], p["bac"]) for p in view["evm"]] == [
        ("60000.00", "54000.00", "50000.00", "120000.00")
    ]
    # Every amount at the portfolio currency's scale (EUR: cents), the recorded ones too.
    assert view["current_budget"] == [{"fiscal_period": "FY2026", "amount": "130000.00"}]
    assert view["bac"] == "130000.00"
    assert view["baseline_budget"] == [{"fiscal_period": "FY2026", "amount": "120000.00"}]
    assert [(r["bac"], r["planned_value"], r["actual_cost"]) for r in view["status_history"]] == [
        ("120000.00", "60000.00", "50000.00"),
        ("120000.00", "60000.00", "50000.00"),
    ]
    assert view["changes"][0]["outcome"] == "approve" and view["changes"][0]["decided_by"] == "bob"
    change = view["changes"][0]
    assert change["budget_delta"] == change["requested_delta"] == [{"fiscal_period": "FY2026", "amount": "10000.00"}]
    assert [lesson["title"] for lesson in lessons_library(fold(delivered()), tag="pilot")] == ["Pilot first"]


def test_gate_and_change_decisions_join_the_audit_trail() -> None:
    trail = decision_trail(fold(delivered()), portfolio_id="pf-1")
    kinds = [(d["kind"], d["outcome"]) for d in trail if d["kind"] != "investment"]
    assert kinds == [("stage_gate", "proceed"), ("change_request", "approve")]
    change = next(d for d in trail if d["kind"] == "change_request")
    assert change["approved_budget"] == [{"fiscal_period": "FY2026", "amount": "10000.00"}]


def test_cancellation_releases_budget_and_benefits_are_realised_after_it() -> None:
    h = delivered()
    h.at(70).add(
        portfolio.ProjectCancelled(
            project_id="p-1", portfolio_id="pf-1", effective_on=date(2026, 3, 12), reason="strategy",
            cancelled_by="bob", released_budget=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(80000)),),
        ),
        "p-1",
    )  # fmt: skip
    h.at(90).add(
        portfolio.BenefitRealised(
            project_id="p-1", portfolio_id="pf-1", benefit_id="b1", measured_value="20000",
            measured_on=date(2026, 12, 31), recorded_by="pam", recorded_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    docs = fold(h)
    view = project_view(docs, "p-1")
    assert view is not None and view["status"] == "cancelled"
    assert view["current_budget"] == [{"fiscal_period": "FY2026", "amount": "50000.00"}]
    committed = {b["fiscal_period"]: b for b in portfolio_summary(docs, "pf-1")["budget"]}
    assert committed["FY2026"]["committed"] == "50000.00"
    [b1] = [row for row in benefits_register(docs) if row["benefit_id"] == "b1"]
    assert b1["realisations"] == 1


def test_closure_records_the_final_cost() -> None:
    h = delivered()
    h.at(80).add(
        portfolio.ProjectClosed(project_id="p-1", portfolio_id="pf-1", final_cost=Decimal(125000), closed_by="bob"),
        "p-1",
    )
    view = project_view(fold(h), "p-1")
    assert view is not None and (view["status"], view["stage"]) == ("closed", "close")
    assert fold(h).get("project", "p-1")["final_cost"] == "125000"  # type: ignore[index]


def test_a_change_gives_its_amounts_per_period_as_a_list_in_period_order() -> None:
    # Given a change recorded as {period: amount} in no particular order, in a JPY portfolio
    recorded = {
        "kind": "budget",
        "outcome": "pending",
        "requested_delta": {"FY2027": "5", "FY2026-Q2": "1.4", "FY2026": "2"},
    }
    # When the project report shows it
    shown = change_at_scale(recorded, "JPY", FiscalCalendar())
    # Then it is [{fiscal_period, amount}] in the fiscal calendar's order, at the currency's scale
    assert shown["requested_delta"] == [
        {"fiscal_period": "FY2026", "amount": "2"},
        {"fiscal_period": "FY2026-Q2", "amount": "1"},
        {"fiscal_period": "FY2027", "amount": "5"},
    ]
    assert "budget_delta" not in shown  # not decided yet

"""The project view: stage, status history, RAG trend, EVM series, benefits planned vs realised, lessons."""

from __future__ import annotations

from pmo_events.figures.fiscal import FiscalCalendar
from pmo_reporting.projections.calendar import fiscal_calendar
from pmo_reporting.projections.delivery import PROJECT, current_budget, current_reports, report_state
from pmo_reporting.reports.benefits import benefit_rows
from pmo_reporting.reports.common import Body, DocumentView, currency_of, money, period_amounts, total
from pmo_reporting.reports.earned_value import RECORDED, evm_series

#: The fields of a change recorded as `{fiscal_period: amount}`, answered as `[{fiscal_period, amount}]`.
BUDGET_FIELDS = ("requested_delta", "budget_delta")


def _report_at_scale(report: Body, currency: str | None) -> Body:
    """A status report as recorded, its money at the currency's scale (a figure it could not know stays null)."""
    figures = {f: money(report[f], currency) for f in RECORDED.values() if report.get(f) is not None}
    return {**report, **figures}


def change_at_scale(change: Body, currency: str | None, fiscal: FiscalCalendar) -> Body:
    """A change with its amounts per period as every answer gives them: a list in period order, at scale."""
    lines = {f: period_amounts(change[f], currency, fiscal) for f in BUDGET_FIELDS if change.get(f) is not None}
    return {**change, **lines}


def project_view(docs: DocumentView, project_id: str) -> Body | None:
    doc = docs.get(PROJECT, project_id)
    if doc is None:
        return None
    budget = current_budget(doc)
    currency = currency_of(docs, doc["portfolio_id"])
    fiscal = fiscal_calendar(docs)
    bac = total(budget.values())
    current = current_reports(doc)
    withdrawn = doc.get("withdrawn_reports", {})
    history = [
        {**_report_at_scale(r, currency), "state": report_state(doc, r), "withdrawal": withdrawn.get(r["report_id"])}
        for r in doc["status_reports"]
    ]
    return {
        "id": project_id,
        "title": doc.get("title"),
        "portfolio_id": doc["portfolio_id"],
        "initiated_at": doc["initiated_at"],
        "stage": doc["stage"],
        "status": doc["status"],
        "baseline_budget": period_amounts(doc.get("baseline_budget", {}), currency, fiscal),
        "current_budget": period_amounts(budget, currency, fiscal),
        "bac": money(bac, currency),
        "timeline": doc.get("timeline"),
        "status_history": sorted(history, key=lambda r: r["reported_at"]),
        "rag_trend": [{"period_end": r["period_end"], **(r.get("rag") or {})} for r in current],
        "evm": evm_series(current, currency),
        "gates": doc["gates"],
        "changes": [change_at_scale(c, currency, fiscal) for c in doc["changes"]],
        "benefits": benefit_rows(doc, currency),
        "lessons": doc["lessons"],
    }

"""The project view: stage, status history, RAG trend, EVM series, benefits planned vs realised, lessons."""

from __future__ import annotations

from pmo_reporting.projections.delivery import PROJECT, current_budget, current_reports, report_state
from pmo_reporting.reports.benefits import benefit_rows
from pmo_reporting.reports.common import Body, DocumentView, money, total
from pmo_reporting.reports.earned_value import evm_series


def project_view(docs: DocumentView, project_id: str) -> Body | None:
    doc = docs.get(PROJECT, project_id)
    if doc is None:
        return None
    budget = current_budget(doc)
    bac = total(budget.values())
    current = current_reports(doc)
    withdrawn = doc.get("withdrawn_reports", {})
    history = [
        {**r, "state": report_state(doc, r), "withdrawal": withdrawn.get(r["report_id"])} for r in doc["status_reports"]
    ]
    return {
        "id": project_id,
        "title": doc.get("title"),
        "portfolio_id": doc["portfolio_id"],
        "initiated_at": doc["initiated_at"],
        "stage": doc["stage"],
        "status": doc["status"],
        "baseline_budget": doc.get("baseline_budget", {}),
        "current_budget": budget,
        "bac": money(bac),
        "timeline": doc.get("timeline"),
        "status_history": sorted(history, key=lambda r: r["reported_at"]),
        "rag_trend": [{"period_end": r["period_end"], **(r.get("rag") or {})} for r in current],
        "evm": evm_series(current),
        "gates": doc["gates"],
        "changes": doc["changes"],
        "benefits": benefit_rows(doc),
        "lessons": doc["lessons"],
    }

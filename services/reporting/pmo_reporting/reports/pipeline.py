"""The pipeline funnel: draft → submitted → decided by outcome, conversions and decision lead times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from statistics import median

from pmo_reporting.projections.proposals import PROPOSAL, latest_decision, proposal_status
from pmo_reporting.reports.common import Body, DocumentView, percentile, ratio

OUTCOMES = ("approve", "reject", "defer", "request_changes")


def lead_times_days(doc: Body) -> list[float]:
    """For each decision, the days since the latest submission at or before it."""
    submissions = sorted(doc["submissions"].values())
    days = []
    for decision in doc["decisions"].values():
        before = [s for s in submissions if s <= decision["at"]]
        if before:
            elapsed = datetime.fromisoformat(decision["at"]) - datetime.fromisoformat(before[-1])
            days.append(elapsed.total_seconds() / 86400)
    return days


def pipeline_funnel(docs: DocumentView, *, portfolio_id: str | None = None) -> Body:
    proposals = docs.all(PROPOSAL, scope=portfolio_id)
    drafted = len(proposals)
    submitted = sum(1 for p in proposals if p["submissions"])
    decided_by_outcome = dict.fromkeys(OUTCOMES, 0)
    lead_times: list[float] = []
    for doc in proposals:
        decision = latest_decision(doc)
        if decision is not None:
            decided_by_outcome[decision["outcome"]] += 1
        lead_times.extend(lead_times_days(doc))
    decided = sum(decided_by_outcome.values())
    by_status: dict[str, int] = {}
    for doc in proposals:
        status = proposal_status(doc)
        by_status[status] = by_status.get(status, 0) + 1
    p50 = median(lead_times) if lead_times else None
    p90 = percentile(lead_times, 0.9)
    return {
        "portfolio_id": portfolio_id,
        "stages": [
            {"stage": "draft", "count": drafted},
            {"stage": "submitted", "count": submitted},
            {"stage": "decided", "count": decided},
            *({"stage": f"decided:{o}", "count": n} for o, n in decided_by_outcome.items()),
        ],
        "by_status": dict(sorted(by_status.items())),
        "conversion": {
            "submitted_of_drafted": ratio(Decimal(submitted), Decimal(drafted)),
            "decided_of_submitted": ratio(Decimal(decided), Decimal(submitted)),
            "approved_of_decided": ratio(Decimal(decided_by_outcome["approve"]), Decimal(decided)),
            "approved_of_submitted": ratio(Decimal(decided_by_outcome["approve"]), Decimal(submitted)),
        },
        "decision_lead_time_days": {
            "count": len(lead_times),
            "median": round(p50, 3) if p50 is not None else None,
            "p90": round(p90, 3) if p90 is not None else None,
        },
    }

"""The pipeline funnel: draft → submitted → decided by outcome, conversions, lead times overall and per stage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from statistics import median

from pmo_reporting.projections.proposals import PROPOSAL, latest_decision, proposal_status
from pmo_reporting.reports.common import Body, DocumentView, percentile, ratio

OUTCOMES = ("approve", "reject", "defer", "request_changes")


def _days(since: str, until: str) -> float:
    return (datetime.fromisoformat(until) - datetime.fromisoformat(since)).total_seconds() / 86400


def decision_lead_times(doc: Body) -> list[tuple[str, float]]:
    """For each decision, its outcome and the days since the latest submission at or before it."""
    submissions = sorted(doc["submissions"].values())
    timed = []
    for decision in doc["decisions"].values():
        before = [s for s in submissions if s <= decision["at"]]
        if before:
            timed.append((decision["outcome"], _days(before[-1], decision["at"])))
    return timed


def lead_times_days(doc: Body) -> list[float]:
    """For each decision, the days since the latest submission at or before it."""
    return [days for _, days in decision_lead_times(doc)]


def submission_lead_time_days(doc: Body) -> float | None:
    """Days from the first draft to the first submission (None: never drafted here, or not submitted yet)."""
    first = min(doc["submissions"].values(), default=None)
    drafted = doc.get("drafted_at")
    return _days(drafted, first) if first and drafted and drafted <= first else None


def _spread(days: list[float]) -> Body:
    """Count, median and 90th percentile (nearest rank) of lead times in days, rounded to 3 places."""
    p50 = median(days) if days else None
    p90 = percentile(days, 0.9)
    return {
        "count": len(days),
        "median": round(p50, 3) if p50 is not None else None,
        "p90": round(p90, 3) if p90 is not None else None,
    }


def stage_lead_times(proposals: list[Body]) -> list[Body]:
    """Per funnel stage, the days a proposal took to reach it from the stage before: draft → submitted
    (first draft to first submission), submitted → decided (each decision since the submission it
    answered), and the same per outcome."""
    to_submitted = [d for p in proposals if (d := submission_lead_time_days(p)) is not None]
    decisions = [timed for p in proposals for timed in decision_lead_times(p)]
    return [
        {"stage": "submitted", "from_stage": "draft", **_spread(to_submitted)},
        {"stage": "decided", "from_stage": "submitted", **_spread([d for _, d in decisions])},
        *(
            {"stage": f"decided:{o}", "from_stage": "submitted", **_spread([d for k, d in decisions if k == o])}
            for o in OUTCOMES
        ),
    ]


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
        "decision_lead_time_days": _spread(lead_times),
        "stage_lead_time_days": stage_lead_times(proposals),
    }

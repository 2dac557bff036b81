"""Examples of reporting's answers for the OpenAPI document (the demo's data, `make demo`).

The contract test validates each against its schema. FastAPI drops `null` members from examples, so a
required field that may be null shows a value here (`as_of`, `next_cursor`).
"""

from __future__ import annotations

from typing import Any

from pmo_servicekit.contract.paging import EXAMPLE_CURSOR
from pmo_servicekit.contract.shared import CAPACITY_ROW_EXAMPLE, HISTORY_ENTRY_EXAMPLE

AS_OF = "2027-03-31T23:59:59Z"
PORTFOLIO = "fc465260-42a7-40c8-a03e-821a69edefb2"
BILLING = "83d2f542-8551-4f63-b8cd-46c6e6a28f7b"
OBJECTIVE = "f2388156-44de-4bc9-a589-6521618a0f7b"


def page(item: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A report's page: one item, a next cursor, `as_of` and the report's own fields."""
    return {"items": [item], "next_cursor": EXAMPLE_CURSOR, "as_of": AS_OF, **fields}


SUMMARY: dict[str, Any] = {
    "as_of": AS_OF,
    "portfolio_id": PORTFOLIO,
    "name": "Digital Change",
    "currency": "EUR",
    "board_members": ["bob", "carla"],
    "pipeline": {"approved": 3, "changes_requested": 1, "deferred": 1, "rejected": 1},
    "budget": [
        {
            "fiscal_period": "FY2027",
            "start": "2027-01-01",
            "end": "2027-12-31",
            "envelope": "1200000.00",
            "committed": "930000.00",
            "remaining": "270000.00",
            "actual": "90000.00",
        },
        {
            "fiscal_period": "FY2028",
            "start": "2028-01-01",
            "end": "2028-12-31",
            "envelope": "600000.00",
            "committed": "0.00",
            "remaining": "600000.00",
            "actual": "0.00",
        },
    ],
    "totals": {"envelope": "1800000.00", "committed": "930000.00", "actual": "90000.00"},
    "rag": {"green": 1, "amber": 1, "red": 0, "unreported": 1},
    "objectives": {"with_investment": [OBJECTIVE], "without_investment": ["81deb44d-d630-4b05-b990-db88c5924f81"]},
    "planned_benefits": {"count": 3, "financial_total": "1860000.00", "non_financial": 0},
    "forgone_benefits": {"count": 1, "financial_total": "120000.00", "non_financial": 0},
}
PIPELINE: dict[str, Any] = {
    "as_of": AS_OF,
    "portfolio_id": PORTFOLIO,
    "stages": [
        {"stage": "draft", "count": 6},
        {"stage": "submitted", "count": 6},
        {"stage": "decided", "count": 6},
        {"stage": "decided:approved", "count": 3},
        {"stage": "decided:rejected", "count": 1},
        {"stage": "decided:deferred", "count": 1},
        {"stage": "decided:changes_requested", "count": 1},
    ],
    "by_status": {"approved": 3, "changes_requested": 1, "deferred": 1, "rejected": 1},
    "conversion": {
        "submitted_of_drafted": "1.0000",
        "decided_of_submitted": "1.0000",
        "approved_of_decided": "0.5000",
        "approved_of_submitted": "0.5000",
    },
    "decision_lead_time_days": {"count": 6, "median": "9.50", "p90": "21.00"},
    "stage_lead_time_days": [
        {"stage": "submitted", "from_stage": "draft", "count": 6, "median": "2.00", "p90": "6.00"},
        {"stage": "decided", "from_stage": "submitted", "count": 6, "median": "9.50", "p90": "21.00"},
        {"stage": "decided:approved", "from_stage": "submitted", "count": 3, "median": "8.00", "p90": "12.00"},
        {"stage": "decided:rejected", "from_stage": "submitted", "count": 1, "median": "21.00", "p90": "21.00"},
        {"stage": "decided:deferred", "from_stage": "submitted", "count": 1, "median": "11.00", "p90": "11.00"},
        {"stage": "decided:changes_requested", "from_stage": "submitted", "count": 1, "median": "5.00", "p90": "5.00"},
    ],
}
DECISION: dict[str, Any] = {
    "id": "b4191039-9c4f-4d65-ac05-d423a30d2887",
    "kind": "investment",
    "portfolio_id": PORTFOLIO,
    "subject_id": BILLING,
    "proposal_id": BILLING,
    "outcome": "approved",
    "decided_by": "bob",
    "decided_at": "2027-03-01T09:30:00Z",
    "rationale": "best value per euro within the FY2027 envelope",
    "approved_budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
    "review_on": None,
    "evidence": {
        "remaining_envelope": [
            {"fiscal_period": "FY2027", "envelope": "1200000.00", "committed": "240000.00", "remaining": "960000.00"}
        ],
        "weighted_score": "3.3500",
        "rank": 5,
    },
    "event_id": "686211af-c4b4-43a5-8068-518d1a0b981b",
}
BENEFIT: dict[str, Any] = {
    "project_id": BILLING,
    "portfolio_id": PORTFOLIO,
    "benefit_id": "#1",
    "description": "Billing migration pays back",
    "kind": "financial",
    "measure": None,
    "unit": None,
    "planned_value": None,
    "planned_amount": "760000.00",
    "realise_by": "2028-06-30",
    "realised_value": "120000",
    "realised_on": "2027-12-31",
    "realisations": 1,
    "forgone": False,
}
LESSON: dict[str, Any] = {
    "project_id": BILLING,
    "portfolio_id": PORTFOLIO,
    "lesson_id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
    "title": "Pilot early",
    "description": "A pilot found the data issues",
    "category": "delivery",
    "tags": ["data"],
    "recorded_by": "pam",
    "recorded_at": "2027-03-01T09:30:00Z",
    "times_offered": 3,
    "offered_to": 2,
    "acknowledged_applies": 1,
    "acknowledged_does_not_apply": 0,
    "unacknowledged": 1,
    "last_offered_at": "2027-04-12T10:00:00Z",
}
LESSON_FEEDBACK: dict[str, Any] = {
    "subject": "proposal",
    "subject_id": "0b9e7c1a-5b7e-4d5e-9a43-2f1d7c8e6a10",
    "portfolio_id": PORTFOLIO,
    "lesson_id": "da6b0d8f-6844-4ad8-ba3a-eea88a1f7d46",
    "title": "Pilot early",
    "times_offered": 2,
    "last_offered_at": "2027-04-12T10:00:00Z",
    "occasion": "submitted",
    "relevance": "0.62",
    "reason": "same category (delivery); shared tags: data",
    "acknowledged": True,
    "applies": True,
    "note": "we plan a pilot in the first month",
    "acknowledged_by": "rita",
    "acknowledged_at": "2027-04-13T08:15:00Z",
}
EVM_POINT: dict[str, Any] = {
    "period_end": "2027-03-31", "report_id": "r-2027-03", "bac": "380000.00", "pv": "93698.63",
    "ev": "95000.00", "ac": "90000.00", "sv": "1301.37", "cv": "5000.00", "eac": "360000.00", "vac": "20000.00",
    "spi": "1.0139", "cpi": "1.0556", "percent_complete": "25", "green_at": "0.9500", "amber_at": "0.9000",
}  # fmt: skip
PROJECT: dict[str, Any] = {
    "as_of": AS_OF,
    "id": BILLING,
    "known": True,
    "title": "Billing migration",
    "portfolio_id": PORTFOLIO,
    "initiated_at": "2026-11-29T12:39:53Z",
    "stage": "execute",
    "status": "active",
    "baseline_budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
    "current_budget": [{"fiscal_period": "FY2027", "amount": "380000.00"}],
    "bac": "380000.00",
    "timeline": {"start": "2027-01-04", "end": "2027-12-17"},
    "status_history": [{"report_id": "r-2027-03", "period_end": "2027-03-31", "state": "current", "withdrawal": None}],
    "rag_trend": [
        {"period_end": "2027-03-31", "schedule": "green", "cost": "green", "scope": "green", "overall": "green"}
    ],
    "evm": [EVM_POINT],
    "gates": [{"gate": "execute", "decision": "proceed", "decided_by": "bob", "decided_at": "2027-02-15T10:00:00Z"}],
    "changes": [],
    "benefits": [BENEFIT],
    "lessons": [LESSON],
}
HEATMAP: dict[str, Any] = page(
    CAPACITY_ROW_EXAMPLE,
    **{"from": "2027-01-01", "to": "2027-03-31", "group_by": "role", "bucket": "period", "overallocations": []},
)
OBJECTIVE_ENTRY: dict[str, Any] = {
    "id": OBJECTIVE,
    "title": "Grow digital revenue",
    "weight": "2",
    "period_start": "2027-01-01",
    "period_end": "2029-12-31",
    "status": "active",
    "proposals": [{"id": BILLING, "title": "Billing migration", "status": "approved", "contribution": 4}],
    "projects": [BILLING],
    "currency": "EUR",
    "committed_budget": "380000.00",
    "planned_benefits": {"count": 1, "financial_total": "760000.00", "non_financial": 0},
    "forgone_benefits": {"count": 0, "financial_total": "0.00", "non_financial": 0},
}
HISTORY: dict[str, Any] = page(HISTORY_ENTRY_EXAMPLE, entity_id=HISTORY_ENTRY_EXAMPLE["subject"])
_PARTITION = {"topic": "pmo.portfolio.events", "partition": 0, "offset": 20, "log_end": 20, "lag": 0}
PROJECTIONS: dict[str, Any] = {
    "event_log": {"log_position": 68, "partitions": [_PARTITION], "lag": 0},
    "projections": [
        {
            "name": "portfolio",
            "description": "Proposals, candidates, decisions, projects, programmes and the RAID log",
            "state": "live",
            "generation": 1,
            "log_position": 68,
            "partitions": [_PARTITION],
            "lag": 0,
            "rebuilt_at": None,
            "last_error": None,
            "rebuild": None,
        }
    ],
}
REBUILD: dict[str, Any] = {"name": "portfolio", "requested_by": "ada", "generation": 2}

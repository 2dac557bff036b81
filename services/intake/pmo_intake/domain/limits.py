"""Bounds on what a proposal may hold: large inputs are refused with a 422, never a 500."""

from __future__ import annotations

from typing import Any

from pmo_events.contracts.bounds import scale_problem
from pmo_intake.domain.errors import Finding

TITLE_MAX = 200
SUMMARY_MAX = 10_000
TEXT_MAX = 2_000
NAME_MAX = 200
#: A role (`developer`): at most as long as resourcing's demands and allocations hold, where an estimate's role
#: goes once its project is approved (and as portfolio's scenarios and resourcing's own requests take it).
ROLE_MAX = 100
ID_MAX = 64
CURRENCY_MAX = 3
MAX_OBJECTIVES = 50
MAX_COSTS = 40
MAX_BENEFITS = 50
MAX_ESTIMATES = 100
MAX_DEPENDENCIES = 50
#: FTE: up to 3 decimals (money is bounded by `pmo_events.contracts.bounds.Amount`).
FTE_DIGITS, FTE_PLACES = 6, 3

_TEXT_LIMITS = {
    "title": TITLE_MAX,
    "summary": SUMMARY_MAX,
    "sponsor": NAME_MAX,
    "portfolio_id": ID_MAX,
    "programme_id": ID_MAX,
}
_COUNT_LIMITS = {
    "objective_contributions": MAX_OBJECTIVES,
    "resource_estimate": MAX_ESTIMATES,
    "dependencies": MAX_DEPENDENCIES,
}


def bounds_findings(content: dict[str, Any]) -> list[Finding]:
    """Every field of `content` (a draft or an edit) that is longer or larger than allowed."""
    findings = []
    for name, limit in _TEXT_LIMITS.items():
        value = content.get(name)
        if isinstance(value, str) and len(value) > limit:
            findings.append(Finding(name, f"at most {limit} characters"))
    for name, limit in _COUNT_LIMITS.items():
        if len(content.get(name) or ()) > limit:
            findings.append(Finding(name, f"at most {limit} items"))
    case = content.get("business_case")
    if case is not None:
        if len(case.costs) > MAX_COSTS:
            findings.append(Finding("business_case.costs", f"at most {MAX_COSTS} items"))
        if len(case.benefits) > MAX_BENEFITS:
            findings.append(Finding("business_case.benefits", f"at most {MAX_BENEFITS} items"))
        findings += _scale_findings(case)
    return findings


def _scale_findings(case: Any) -> list[Finding]:
    """Every amount of the business case at its currency's scale (2 places in EUR, none in JPY)."""
    findings = []
    amounts = [(f"costs.{i}.amount", cost.amount) for i, cost in enumerate(case.costs)]
    amounts += [(f"benefits.{i}.value_amount", b.value_amount) for i, b in enumerate(case.benefits)]
    for name, amount in amounts:
        if amount is not None and (problem := scale_problem(amount, case.currency)):
            findings.append(Finding(f"business_case.{name}", problem))
    return findings

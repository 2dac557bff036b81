"""Submission completeness: the checks that must all pass before a proposal reaches the board."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from pmo_intake.domain.errors import Finding

if TYPE_CHECKING:
    from pmo_intake.domain.proposal import Proposal


@dataclass(frozen=True)
class PortfolioFacts:
    """What intake knows of a portfolio from the portfolio service's events."""

    portfolio_id: str
    fiscal_periods: frozenset[str]


def completeness_findings(proposal: Proposal, portfolio: PortfolioFacts | None) -> list[Finding]:
    findings: list[Finding] = []
    if not (proposal.summary or "").strip():
        findings.append(Finding("summary", "a summary is required"))
    if not (proposal.sponsor or "").strip():
        findings.append(Finding("sponsor", "a sponsor is required"))
    if portfolio is None:
        findings.append(Finding("portfolio_id", f"portfolio {proposal.portfolio_id} does not exist"))
    if not proposal.objective_contributions:
        findings.append(Finding("objective_contributions", "contribute to at least one strategic objective"))
    findings.extend(_cost_findings(proposal, portfolio))
    if not proposal.business_case.benefits:
        findings.append(Finding("business_case.benefits", "state at least one expected benefit"))
    findings.extend(_timeline_findings(proposal))
    for i, estimate in enumerate(proposal.resource_estimate):
        if not Decimal(0) < estimate.fte <= Decimal(1):
            findings.append(Finding(f"resource_estimate.{i}.fte", "FTE must be more than 0 and at most 1"))
        if estimate.end < estimate.start:
            findings.append(Finding(f"resource_estimate.{i}.end", "end is before start"))
    return findings


def _cost_findings(proposal: Proposal, portfolio: PortfolioFacts | None) -> list[Finding]:
    costs = proposal.business_case.costs
    if not costs:
        return [Finding("business_case.costs", "state the cost for at least one fiscal period")]
    findings = []
    for i, cost in enumerate(costs):
        if cost.amount <= 0:
            findings.append(Finding(f"business_case.costs.{i}.amount", "amounts must be positive"))
        if portfolio is not None and cost.fiscal_period not in portfolio.fiscal_periods:
            findings.append(
                Finding(
                    f"business_case.costs.{i}.fiscal_period", f"the portfolio has no budget for {cost.fiscal_period}"
                )
            )
    return findings


def _timeline_findings(proposal: Proposal) -> list[Finding]:
    timeline = proposal.timeline
    if timeline.start is None or timeline.end is None:
        return [Finding("timeline", "a start and an end date are required")]
    if timeline.end < timeline.start:
        return [Finding("timeline.end", "end is before start")]
    return []

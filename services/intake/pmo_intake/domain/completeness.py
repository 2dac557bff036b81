"""Submission completeness: the checks that must all pass before a proposal reaches the board."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    currency: str | None = None


@dataclass(frozen=True)
class ObjectiveFacts:
    """What intake knows of a strategic objective from the portfolio service's events."""

    objective_id: str
    title: str
    retired: bool = False
    #: The portfolios whose strategy it is; empty: every portfolio's (organisation-wide).
    portfolio_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgrammeFacts:
    """What intake knows of a programme from the portfolio service's events."""

    programme_id: str
    portfolio_id: str
    name: str
    closed: bool = False


@dataclass(frozen=True)
class SubmissionContext:
    """Everything outside the proposal that submission checks against (intake's own views)."""

    portfolio: PortfolioFacts | None
    objectives: dict[str, ObjectiveFacts] = field(default_factory=dict)
    known_proposals: frozenset[str] = frozenset()
    #: (id, title) of this requester's other open proposals to the same portfolio.
    open_siblings: tuple[tuple[str, str], ...] = ()
    #: The programme the proposal asks to join, when intake knows it.
    programme: ProgrammeFacts | None = None


def completeness_findings(proposal: Proposal, context: SubmissionContext) -> list[Finding]:
    """Every problem at once, each with the field path a form can point at."""
    findings: list[Finding] = []
    for name, label in (("summary", "a summary"), ("sponsor", "a sponsor")):
        if not (getattr(proposal, name) or "").strip():
            findings.append(Finding(name, f"{label} is required"))
    if context.portfolio is None:
        findings.append(Finding("portfolio_id", f"portfolio {proposal.portfolio_id} does not exist"))
    findings.extend(_objective_findings(proposal, context))
    findings.extend(_currency_findings(proposal, context.portfolio))
    findings.extend(_cost_findings(proposal, context.portfolio))
    findings.extend(_benefit_findings(proposal))
    findings.extend(_timeline_findings(proposal))
    findings.extend(_estimate_findings(proposal))
    findings.extend(_dependency_findings(proposal, context.known_proposals))
    findings.extend(_programme_findings(proposal, context.programme))
    return findings


def _programme_findings(proposal: Proposal, programme: ProgrammeFacts | None) -> list[Finding]:
    """A programme asked for exists, is the proposal's portfolio's and is not closed."""
    if proposal.programme_id is None:
        return []
    if programme is None:
        return [Finding("programme_id", f"programme {proposal.programme_id} does not exist")]
    if programme.portfolio_id != proposal.portfolio_id:
        return [Finding("programme_id", f"programme {programme.name!r} is another portfolio's")]
    if programme.closed:
        return [Finding("programme_id", f"programme {programme.name!r} is closed")]
    return []


def _objective_findings(proposal: Proposal, context: SubmissionContext) -> list[Finding]:
    if not proposal.objective_contributions:
        return [Finding("objective_contributions", "contribute to at least one strategic objective")]
    findings, seen = [], set()
    for i, contribution in enumerate(proposal.objective_contributions):
        path = f"objective_contributions.{i}.objective_id"
        objective = context.objectives.get(contribution.objective_id)
        if objective is None:
            findings.append(Finding(path, f"strategic objective {contribution.objective_id} does not exist"))
        elif objective.retired:
            findings.append(Finding(path, f"strategic objective {objective.title!r} is retired"))
        elif objective.portfolio_ids and proposal.portfolio_id not in objective.portfolio_ids:
            findings.append(Finding(path, f"strategic objective {objective.title!r} is another portfolio's"))
        if contribution.objective_id in seen:
            findings.append(Finding(path, "each objective is listed once"))
        seen.add(contribution.objective_id)
    return findings


def _currency_findings(proposal: Proposal, portfolio: PortfolioFacts | None) -> list[Finding]:
    currency = proposal.business_case.currency
    if not currency:
        return [Finding("business_case.currency", "a currency is required")]
    if portfolio is not None and portfolio.currency and currency != portfolio.currency:
        return [Finding("business_case.currency", f"the portfolio budgets in {portfolio.currency}")]
    return []


def _cost_findings(proposal: Proposal, portfolio: PortfolioFacts | None) -> list[Finding]:
    costs = proposal.business_case.costs
    if not costs:
        return [Finding("business_case.costs", "state the cost for at least one fiscal period")]
    findings, seen = [], set()
    for i, cost in enumerate(costs):
        if cost.amount <= 0:
            findings.append(Finding(f"business_case.costs.{i}.amount", "amounts must be positive"))
        period_path = f"business_case.costs.{i}.fiscal_period"
        if portfolio is not None and cost.fiscal_period not in portfolio.fiscal_periods:
            findings.append(Finding(period_path, f"the portfolio has no budget for {cost.fiscal_period}"))
        if cost.fiscal_period in seen:
            findings.append(Finding(period_path, "each fiscal period is listed once"))
        seen.add(cost.fiscal_period)
    return findings


def _benefit_findings(proposal: Proposal) -> list[Finding]:
    benefits = proposal.business_case.benefits
    if not benefits:
        return [Finding("business_case.benefits", "state at least one expected benefit")]
    findings = []
    start = proposal.timeline.start
    for i, benefit in enumerate(benefits):
        path = f"business_case.benefits.{i}"
        if benefit.realise_by is not None and start is not None and benefit.realise_by < start:
            findings.append(Finding(f"{path}.realise_by", "benefits are realised after the timeline starts"))
        if benefit.kind == "financial" and (benefit.value_amount is None or benefit.value_amount <= 0):
            findings.append(Finding(f"{path}.value_amount", "a financial benefit needs a positive value amount"))
    return findings


def _timeline_findings(proposal: Proposal) -> list[Finding]:
    timeline = proposal.timeline
    if timeline.start is None or timeline.end is None:
        return [Finding("timeline", "a start and an end date are required")]
    if timeline.end < timeline.start:
        return [Finding("timeline.end", "end is before start")]
    return []


def _estimate_findings(proposal: Proposal) -> list[Finding]:
    findings = []
    for i, estimate in enumerate(proposal.resource_estimate):
        if not estimate.role.strip():
            findings.append(Finding(f"resource_estimate.{i}.role", "a role is required"))
        if not Decimal(0) < estimate.fte <= Decimal(1):
            findings.append(Finding(f"resource_estimate.{i}.fte", "FTE must be more than 0 and at most 1"))
        if estimate.end < estimate.start:
            findings.append(Finding(f"resource_estimate.{i}.end", "end is before start"))
    return findings


def _dependency_findings(proposal: Proposal, known: frozenset[str]) -> list[Finding]:
    findings = []
    for i, dependency in enumerate(proposal.dependencies):
        if dependency == proposal.proposal_id:
            findings.append(Finding(f"dependencies.{i}", "a proposal cannot depend on itself"))
        elif dependency not in known:
            findings.append(Finding(f"dependencies.{i}", f"no proposal or project {dependency}"))
    return findings


def normalised_title(title: str) -> str:
    """Titles compared for duplicates: case and spacing do not matter."""
    return " ".join(title.casefold().split())


def possible_duplicates(proposal: Proposal, siblings: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Other open proposals of the same requester and portfolio with the same title."""
    title = normalised_title(proposal.title)
    return tuple(sorted(i for i, t in siblings if i != proposal.proposal_id and normalised_title(t) == title))

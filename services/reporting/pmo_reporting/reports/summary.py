"""The portfolio summary: pipeline by state, envelope vs committed vs actual, RAG counts, objectives, benefits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from pmo_events.figures.fiscal import FiscalCalendar
from pmo_reporting.projections.calendar import fiscal_calendar
from pmo_reporting.projections.delivery import (
    ACTIVE_STATUSES,
    PROJECT,
    current_budget,
    current_reports,
    latest_report,
)
from pmo_reporting.projections.governance import DECISION, OBJECTIVE, PORTFOLIO, board_members
from pmo_reporting.projections.proposals import PROPOSAL, proposal_status
from pmo_reporting.reports.benefits import planned_and_forgone, tally
from pmo_reporting.reports.common import Body, DocumentView, add_periods, money, total

RAG = ("green", "amber", "red")


class Each:
    """A field spec for a map of entries (id -> entry): `spec` applied to every entry."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec


#: What to keep of a document: True keeps the value whole; a dict keeps those fields (each by its own spec,
#: applied to every element of a list); `Each` applies its spec to every value of a map. Absent fields stay absent.
Spec = bool | dict[str, Any] | Each


def pick(value: Any, spec: Spec) -> Any:
    if spec is True or value is None:
        return value
    if isinstance(value, list):
        return [pick(v, spec) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(spec, Each):
        return {k: pick(v, spec.spec) for k, v in value.items()}
    assert isinstance(spec, dict)
    return {field: pick(value[field], of) for field, of in spec.items() if field in value}


def _fields(*names: str) -> dict[str, Spec]:
    return dict.fromkeys(names, True)


#: Every field of a proposal, project and decision that `portfolio_summary` reads (with `proposal_status`,
#: `planned_and_forgone`, `current_budget`, `current_reports`): the live summary holds only these of each
#: document, so a portfolio's thousands of documents are not held decoded whole at once. A field read by the
#: summary and missing here changes a figure: tests/test_reports.py and test_rebuild.py compare with the whole.
SUMMARY_FIELDS: dict[str, Spec] = {
    PROPOSAL: {
        **_fields("id", "withdrawn_at", "submissions"),
        "decisions": Each(_fields("at", "outcome")),
        "scores": Each(_fields("at")),
        "objective_contributions": _fields("objective_id"),
        "benefits": _fields("benefit_id", "value_amount", "kind"),
    },
    DECISION: _fields("kind", "outcome", "subject_id", "approved_budget"),
    PROJECT: {
        **_fields("id", "initiated_at", "status", "baseline_budget", "final_cost", "ended_on", "withdrawn_reports"),
        "changes": _fields("outcome", "budget_delta"),
        "status_reports": {
            **_fields("report_id", "correction_of", "period_end", "reported_at", "actual_cost"),
            "rag": _fields("overall"),
        },
        "realisations": _fields("benefit_id"),
        "benefits": _fields("benefit_id"),
    },
}


def summary_slimmers() -> dict[str, Callable[[Body], Body]]:
    """Per kind, what a loaded document is cut down to before it is held (see `SUMMARY_FIELDS`)."""
    return {kind: partial(pick, spec=spec) for kind, spec in SUMMARY_FIELDS.items()}


def period_dates(fiscal: FiscalCalendar, period: str) -> dict[str, str | None]:
    """The dates a period name stands for in the calendar in force (None for a name without dates)."""
    span = fiscal.span(period)
    return {"start": span.start.isoformat() if span else None, "end": span.end.isoformat() if span else None}


def committed_per_period(docs: DocumentView, portfolio_id: str) -> dict[str, Decimal]:
    """Approved budgets; once a project exists, its current budget (changes, releases) replaces the approval's."""
    committed: dict[str, Decimal] = {}
    projects = {p["id"]: p for p in docs.all(PROJECT, scope=portfolio_id) if p.get("initiated_at")}
    for project in projects.values():
        add_periods(committed, current_budget(project))
    for decision in docs.all(DECISION, scope=portfolio_id):
        investment = decision.get("kind", "investment") == "investment"
        if investment and decision["outcome"] == "approve" and decision["subject_id"] not in projects:
            add_periods(committed, decision["approved_budget"])
    return committed


def applies_to(objective: Body, portfolio_id: str) -> bool:
    """An objective is in a portfolio's strategy when it names the portfolio or names none (organisation-wide)."""
    owners = objective.get("portfolio_ids") or []
    return not owners or portfolio_id in owners


def rag_counts(projects: list[Body]) -> dict[str, int]:
    counts = dict.fromkeys((*RAG, "unreported"), 0)
    for project in projects:
        if project["status"] not in ACTIVE_STATUSES:
            continue
        latest = latest_report(project)
        overall = (latest.get("rag") or {}).get("overall") if latest else None
        counts[overall if overall in RAG else "unreported"] += 1
    return counts


def actual_cost(projects: list[Body]) -> Decimal:
    """Each project's latest reported cumulative actual cost (its final cost once closed)."""
    spent = Decimal(0)
    for project in projects:
        latest = latest_report(project)
        final = project.get("final_cost")
        spent += Decimal(final) if final is not None else Decimal(latest["actual_cost"] if latest else 0)
    return spent


def actual_per_period(projects: list[Body], fiscal: FiscalCalendar, periods: list[str]) -> dict[str, Decimal]:
    """Actual cost spent in each fiscal period: each status report's rise in cumulative actual cost falls in
    the budget period holding its period end (or that day's fiscal year when no budget period holds it), a
    closure's final cost above the last report in the period it ended in. The periods add up to the total."""
    spans = [(name, span) for name in periods if (span := fiscal.span(name)) is not None]

    spent: dict[str, Decimal] = {}

    def spend(day: date, amount: Decimal) -> None:
        name = next((name for name, span in spans if span.start <= day <= span.end), fiscal.name_of(day, "year"))
        spent[name] = spent.get(name, Decimal(0)) + amount

    for project in projects:
        reported, last_day = Decimal(0), None
        for report in current_reports(project):
            last_day = date.fromisoformat(report["period_end"])
            spend(last_day, Decimal(report["actual_cost"]) - reported)
            reported = Decimal(report["actual_cost"])
        if (final := project.get("final_cost")) is not None:
            ended = project.get("ended_on")
            spend(
                date.fromisoformat(ended) if ended else last_day or date.fromisoformat(project["initiated_at"][:10]),
                Decimal(final) - reported,
            )
    return spent


def portfolio_summary(docs: DocumentView, portfolio_id: str) -> Body:
    portfolio = docs.get(PORTFOLIO, portfolio_id) or {"id": portfolio_id, "budget": {}}
    proposals = docs.all(PROPOSAL, scope=portfolio_id)
    projects = [p for p in docs.all(PROJECT, scope=portfolio_id) if p.get("initiated_at")]
    pipeline: dict[str, int] = {}
    for proposal in proposals:
        status = proposal_status(proposal)
        pipeline[status] = pipeline.get(status, 0) + 1
    envelope = {p: Decimal(a) for p, a in portfolio["budget"].items()}
    committed = committed_per_period(docs, portfolio_id)
    fiscal = fiscal_calendar(docs)
    actual = actual_per_period(projects, fiscal, sorted(set(envelope) | set(committed), key=fiscal.order))
    periods = sorted(set(envelope) | set(committed) | set(actual), key=fiscal.order)
    funded = [p for p in proposals if proposal_status(p) == "approved"]
    invested = {c["objective_id"] for p in funded for c in p.get("objective_contributions", [])}
    objectives = [o for o in docs.all(OBJECTIVE) if not o.get("retired_at") and applies_to(o, portfolio_id)]
    planned, forgone = planned_and_forgone(docs, funded)
    currency = portfolio.get("currency")
    return {
        "portfolio_id": portfolio_id,
        "name": portfolio.get("name"),
        "currency": currency,
        "board_members": board_members(portfolio),
        "pipeline": dict(sorted(pipeline.items())),
        "budget": [
            {
                "fiscal_period": period,
                **period_dates(fiscal, period),
                "envelope": money(envelope.get(period, Decimal(0)), currency),
                "committed": money(committed.get(period, Decimal(0)), currency),
                "remaining": money(envelope.get(period, Decimal(0)) - committed.get(period, Decimal(0)), currency),
                "actual": money(actual.get(period, Decimal(0)), currency),
            }
            for period in periods
        ],
        "totals": {
            "envelope": money(total(envelope.values()), currency),
            "committed": money(total(committed.values()), currency),
            "actual": money(actual_cost(projects), currency),
        },
        "rag": rag_counts(projects),
        "objectives": {
            "with_investment": sorted(o["id"] for o in objectives if o["id"] in invested),
            "without_investment": sorted(o["id"] for o in objectives if o["id"] not in invested),
        },
        "planned_benefits": tally(planned, currency),
        "forgone_benefits": tally(forgone, currency),
    }

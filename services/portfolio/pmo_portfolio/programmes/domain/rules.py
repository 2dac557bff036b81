"""Programme rules: create within the portfolio's envelope, plan and review tranches, let projects join."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    ProgrammeCreated,
    ProgrammeDrawChanged,
    ProgrammeRag,
    ProgrammeStatusReported,
    ProjectJoinedProgramme,
    TrancheDecision,
    TranchePlanned,
    TrancheReviewed,
)
from pmo_portfolio.funding.domain import ZERO, Portfolio
from pmo_portfolio.programmes.domain.programme import Programme
from pmo_portfolio.shared.errors import (
    EnvelopeExceeded,
    InvalidCommand,
    NotAuthorised,
    NotFound,
    RingFenceExceeded,
    RuleViolation,
    check_scale,
)


@dataclass(frozen=True)
class ProgrammeDefinition:
    name: str
    vision: str
    senior_responsible_owner: str
    programme_manager: str
    objective_ids: tuple[str, ...]
    ring_fence: tuple[PeriodAmount, ...]


def _check_definition(
    definition: ProgrammeDefinition, active_objectives: Collection[str], currency: str | None
) -> None:
    for field in ("name", "vision", "senior_responsible_owner", "programme_manager"):
        if not getattr(definition, field).strip():
            raise InvalidCommand(field, f"a programme needs a {field.replace('_', ' ')}")
    for index, objective_id in enumerate(definition.objective_ids):
        if objective_id not in active_objectives:
            raise InvalidCommand(f"objective_ids.{index}", f"{objective_id} is not an active strategic objective")
    periods = [line.fiscal_period for line in definition.ring_fence]
    if len(periods) != len(set(periods)):
        raise InvalidCommand("ring_fence", "each fiscal period may appear once in the ring-fence")
    for index, line in enumerate(definition.ring_fence):
        # "-0" is refused with the negatives rather than read as 0: a sign on nothing is a client's mistake
        if line.amount.is_signed():
            raise InvalidCommand(f"ring_fence.{index}.amount", "a ring-fence cannot be negative (nor -0)")
    check_scale(definition.ring_fence, currency, "ring_fence")


def create(
    programme_id: str,
    portfolio: Portfolio,
    definition: ProgrammeDefinition,
    *,
    held_by_others: Mapping[str, Decimal],
    active_objectives: Collection[str],
    created_by: str,
    created_at: datetime,
) -> list[Event]:
    """A programme's ring-fence is a share of the portfolio's envelope: with what the portfolio's other
    programmes hold (`held_by_others`), no period may exceed the envelope."""
    if not portfolio.exists:
        raise NotFound(f"portfolio {portfolio.portfolio_id}")
    _check_definition(definition, active_objectives, portfolio.currency)
    for line in definition.ring_fence:
        left = portfolio.budget.get(line.fiscal_period, ZERO) - held_by_others.get(line.fiscal_period, ZERO)
        if line.amount > left:
            raise EnvelopeExceeded(line.fiscal_period, left, line.amount, portfolio.currency)
    return [
        ProgrammeCreated(
            programme_id=programme_id,
            portfolio_id=portfolio.portfolio_id,
            created_by=created_by,
            created_at=created_at,
            **definition.__dict__,
        )
    ]


def check_envelope_holds_ring_fences(
    budget: Iterable[PeriodAmount], held: Mapping[str, Decimal], currency: str | None = None
) -> None:
    """A new envelope holds what the portfolio's open programmes ring-fence (`held`, per period): lowering
    a period below it (or dropping the period) would leave a programme holding money the portfolio has not."""
    envelope = {line.fiscal_period: line.amount for line in budget}
    for period, fenced in sorted(held.items()):
        if fenced > envelope.get(period, ZERO):
            raise EnvelopeExceeded(
                period,
                envelope.get(period, ZERO),
                fenced,
                currency,
                lowering=True,
                held="ring-fenced by the portfolio's programmes",
            )


def check_active(programme: Programme) -> None:
    if not programme.exists:
        raise NotFound(f"programme {programme.programme_id}")
    if programme.status == "closed":
        raise RuleViolation(f"programme {programme.programme_id} is closed")


def check_leader(programme: Programme, actor: str) -> None:
    if actor not in (programme.senior_responsible_owner, programme.programme_manager):
        raise NotAuthorised(f"only the programme's SRO or programme manager may do this, not {actor}")


@dataclass(frozen=True)
class TranchePlan:
    tranche_id: str
    name: str
    start: date
    end: date
    project_ids: tuple[str, ...]


def plan_tranche(programme: Programme, plan: TranchePlan, planned_by: str, planned_at: datetime) -> list[Event]:
    """Tranches follow one another: a new one starts after the last one ends; a tranche is planned again
    only while it is not closed; every project in it is one of the programme's."""
    check_active(programme)
    check_leader(programme, planned_by)
    if not plan.name.strip():
        raise InvalidCommand("name", "a tranche needs a name")
    if plan.end < plan.start:
        raise InvalidCommand("end", "a tranche must not end before it starts")
    for index, project_id in enumerate(plan.project_ids):
        if project_id not in programme.projects:
            raise InvalidCommand(f"project_ids.{index}", f"project {project_id} is not in the programme")
    existing = programme.tranches.get(plan.tranche_id)
    if existing is not None and existing.status == "closed":
        raise RuleViolation(f"tranche {plan.tranche_id} is closed by its end-of-tranche review")
    earlier = [t for t in programme.ordered_tranches() if existing is None or t.sequence < existing.sequence]
    if earlier and plan.start <= earlier[-1].end:
        raise InvalidCommand("start", f"a tranche starts after the previous one ends ({earlier[-1].end.isoformat()})")
    sequence = existing.sequence if existing else len(programme.tranches) + 1
    return [
        TranchePlanned(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            sequence=sequence,
            planned_by=planned_by,
            planned_at=planned_at,
            **plan.__dict__,
        )
    ]


def review_tranche(
    programme: Programme,
    tranche_id: str,
    decision: TrancheDecision,
    rationale: str,
    decided_by: str,
    decided_at: datetime,
) -> list[Event]:
    """The end-of-tranche review is the programme board's, chaired by the SRO; tranches are reviewed in order."""
    check_active(programme)
    if decided_by != programme.senior_responsible_owner:
        raise NotAuthorised(f"the end-of-tranche review is decided by the SRO, not {decided_by}")
    if not rationale.strip():
        raise InvalidCommand("rationale", "an end-of-tranche review needs a rationale")
    tranche = programme.tranches.get(tranche_id)
    if tranche is None:
        raise NotFound(f"tranche {tranche_id} of programme {programme.programme_id}")
    if tranche.status != "open":
        raise RuleViolation(f"tranche {tranche_id} is {tranche.status}: plan it again before reviewing it")
    unreviewed = [
        t.tranche_id for t in programme.ordered_tranches() if t.sequence < tranche.sequence and t.status != "closed"
    ]
    if unreviewed:
        raise RuleViolation(f"tranche {unreviewed[0]} comes first and is not closed")
    return [
        TrancheReviewed(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            tranche_id=tranche_id,
            decision=decision,
            rationale=rationale,
            decided_by=decided_by,
            decided_at=decided_at,
        )
    ]


@dataclass(frozen=True)
class Joining:
    """A project asking to join: its portfolio, whether it is still live, its budget, the programme it is in."""

    project_id: str
    portfolio_id: str
    live: bool
    budget: tuple[PeriodAmount, ...]
    current_programme: str | None


def check_ring_fence(programme: Programme, budget: tuple[PeriodAmount, ...]) -> None:
    remaining = programme.remaining_ring_fence()
    for line in budget:
        left = remaining.get(line.fiscal_period, ZERO)
        if line.amount > left:
            raise RingFenceExceeded(line.fiscal_period, left, line.amount)


def join(
    programme: Programme,
    project: Joining,
    *,
    rationale: str,
    decided_by: str,
    decided_at: datetime,
    decision_id: str | None = None,
) -> list[Event]:
    """A project of the same portfolio joins one programme at most; its budget draws on the ring-fence. At
    approval (`decision_id` names the decision) or later by the SRO's or programme manager's decision."""
    check_active(programme)
    if decision_id is None:
        check_leader(programme, decided_by)
    if not rationale.strip():
        raise InvalidCommand("rationale", "a project joins a programme with a rationale")
    if project.portfolio_id != programme.portfolio_id:
        raise RuleViolation(f"project {project.project_id} is not in portfolio {programme.portfolio_id}")
    if not project.live:
        raise RuleViolation(f"project {project.project_id} is no longer live")
    if project.current_programme is not None:
        raise RuleViolation(f"project {project.project_id} is already in programme {project.current_programme}")
    check_ring_fence(programme, project.budget)
    return [
        ProjectJoinedProgramme(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            project_id=project.project_id,
            budget=project.budget,
            via="approval" if decision_id else "decision",
            decision_id=decision_id,
            rationale=rationale,
            decided_by=decided_by,
            decided_at=decided_at,
        )
    ]


def change_draw(
    programme: Programme,
    project_id: str,
    delta: tuple[PeriodAmount, ...],
    *,
    cause: str,
    caused_by_event_id: str | None,
    at: datetime,
) -> list[Event]:
    """A member project's approved budget change moves what it draws on the ring-fence: an increase the
    ring-fence cannot hold is refused (and with it the change), money given back is always taken."""
    if project_id not in programme.projects or not delta:
        return []
    check_ring_fence(programme, tuple(line for line in delta if line.amount > 0))
    return [
        ProgrammeDrawChanged(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            project_id=project_id,
            delta=delta,
            cause=cause,
            caused_by_event_id=caused_by_event_id,
            changed_at=at,
        )
    ]


def report_status(
    programme: Programme,
    report_id: str,
    period_end: date,
    rag: ProgrammeRag,
    summary: str,
    reported_by: str,
    at: datetime,
) -> list[Event]:
    """The programme manager's own word on the programme, next to what its projects roll up to."""
    check_active(programme)
    if reported_by != programme.programme_manager:
        raise NotAuthorised(f"the programme's status is reported by its programme manager, not {reported_by}")
    if not summary.strip():
        raise InvalidCommand("summary", "a status report needs a summary")
    return [
        ProgrammeStatusReported(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            report_id=report_id,
            period_end=period_end,
            rag=rag,
            summary=summary,
            reported_by=reported_by,
            reported_at=at,
        )
    ]

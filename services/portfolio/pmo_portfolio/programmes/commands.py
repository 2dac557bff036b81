"""Programme command handlers: load the programme (and what a rule needs) → decide → append."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import InvestmentDecided, PortfolioBudgetSet, ProjectBudgetChanged
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, UnitOfWork, fold, reacts_to
from pmo_portfolio import delivery, funding, objectives
from pmo_portfolio.programmes import domain as programme_rules
from pmo_portfolio.programmes.domain import Joining, Programme, ProgrammeDefinition
from pmo_portfolio.programmes.queries import (
    answer_in,
    contributing,
    held_by_programmes,
    programme_of,
    programme_portfolio,
)
from pmo_portfolio.shared.errors import InvalidCommand, NotFound

PROGRAMME = AggregateType("programme", programme_rules.initial, programme_rules.evolve, Programme)
ProgrammeRule = Callable[[Programme], Sequence[Event]]


async def create_programme(
    uow: UnitOfWork, programme_id: str, portfolio_id: str, definition: ProgrammeDefinition, by: str, at: datetime
) -> tuple[dict[str, Any], int]:
    """The ring-fence is checked against the portfolio's envelope less what its other programmes hold, read
    under the portfolio's lock: two programmes created at once are checked one after the other."""
    await funding.lock_portfolio(uow.session, portfolio_id)
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    new_events = programme_rules.create(
        programme_id,
        portfolio.state,
        definition,
        held_by_others=await held_by_programmes(uow.session, portfolio_id),
        active_objectives=set(await objectives.active_objective_weights(uow.session, portfolio_id)),
        created_by=by,
        created_at=at,
    )
    await uow.append(PROGRAMME, programme_id, 0, new_events)
    state = fold(PROGRAMME, programme_rules.initial(programme_id), new_events)
    return {**await answer_in(uow.session, state), "version": len(new_events)}, len(new_events)


async def change_programme(
    uow: UnitOfWork, programme_id: str, rule: ProgrammeRule, *, if_match: int | None = None
) -> tuple[dict[str, Any], int]:
    """Decide `rule` on the programme (a 412 when `if_match` is old); answer the programme after it."""
    loaded = await uow.load(PROGRAMME, programme_id)
    if not loaded.state.exists:
        raise NotFound(f"programme {programme_id}")
    loaded.expect(if_match, f"programme {programme_id}")
    new_events = list(rule(loaded.state))
    after = fold(PROGRAMME, loaded.state, new_events)
    await uow.append(PROGRAMME, programme_id, loaded.version, new_events, after)
    version = loaded.version + len(new_events)
    return {**await answer_in(uow.session, after), "version": version}, version


async def joining(uow: UnitOfWork, project_id: str) -> Joining:
    """What the programme needs to know of a project asking to join it."""
    project = (await uow.load(delivery.PROJECT, project_id)).state
    if project.status == "none":
        raise NotFound(f"project {project_id}")
    budget = tuple(PeriodAmount(fiscal_period=p, amount=a) for p, a in sorted(project.budget.items()) if a)
    return Joining(
        project_id=project_id,
        portfolio_id=project.portfolio_id,
        live=project.status in delivery.LIVE,
        budget=budget,
        current_programme=await programme_of(uow.session, project_id),
    )


async def join_programme(
    uow: UnitOfWork, programme_id: str, project_id: str, rationale: str, by: str, at: datetime
) -> tuple[dict[str, Any], int]:
    project = await joining(uow, project_id)
    return await change_programme(
        uow,
        programme_id,
        lambda programme: programme_rules.join(programme, project, rationale=rationale, decided_by=by, decided_at=at),
    )


async def set_benefit_contribution(
    uow: UnitOfWork,
    programme_id: str,
    benefit_id: str,
    project_id: str,
    project_benefit_id: str,
    share: Decimal,
    *,
    by: str,
    at: datetime,
) -> tuple[dict[str, Any], int]:
    """A project benefit feeds a programme benefit: the rule reads the project's planned benefits and units."""
    portfolio_id = await programme_portfolio(uow.session, programme_id)
    if portfolio_id is None:
        raise NotFound(f"programme {programme_id}")
    currency = (await uow.load(funding.PORTFOLIO, portfolio_id)).state.currency
    project = contributing((await uow.load(delivery.PROJECT, project_id)).state, currency)
    return await change_programme(
        uow,
        programme_id,
        lambda programme: programme_rules.set_contribution(
            programme, benefit_id, project, project_benefit_id, share, set_by=by, set_at=at
        ),
    )


@reacts_to(InvestmentDecided)
async def join_at_approval(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: an approval that names a programme brings the project into it in the decision's transaction;
    a budget the ring-fence cannot hold (or a programme that is closed or elsewhere) refuses the approval."""
    if recorded.type != InvestmentDecided.type_name():
        return
    decision = recorded.decode()
    if not isinstance(decision, InvestmentDecided) or decision.outcome != "approve" or not decision.programme_id:
        return
    project = Joining(
        project_id=decision.candidate_id,
        portfolio_id=decision.portfolio_id,
        live=True,
        budget=decision.approved_budget,
        current_programme=await programme_of(uow.session, decision.candidate_id),
    )
    loaded = await uow.load(PROGRAMME, decision.programme_id)
    if not loaded.state.exists:
        raise InvalidCommand("programme_id", f"no programme {decision.programme_id}")
    new_events = programme_rules.join(
        loaded.state,
        project,
        rationale=decision.rationale,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        decision_id=decision.decision_id,
    )
    after = fold(PROGRAMME, loaded.state, new_events)
    await uow.append(PROGRAMME, decision.programme_id, loaded.version, new_events, after)


@reacts_to(ProjectBudgetChanged)
async def move_ring_fence_draw(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: a member project's budget change (in the change's transaction) moves its draw on the
    programme's ring-fence; an increase the ring-fence cannot hold refuses the change whole (409)."""
    if recorded.type != ProjectBudgetChanged.type_name():
        return
    changed = recorded.decode()
    if not isinstance(changed, ProjectBudgetChanged):
        return
    programme_id = await programme_of(uow.session, changed.project_id)
    if programme_id is None:
        return
    loaded = await uow.load(PROGRAMME, programme_id)
    new_events = programme_rules.change_draw(
        loaded.state,
        changed.project_id,
        changed.delta,
        cause=changed.cause,
        caused_by_event_id=recorded.event_id,
        at=recorded.time,
    )
    if new_events:
        after = fold(PROGRAMME, loaded.state, new_events)
        await uow.append(PROGRAMME, programme_id, loaded.version, new_events, after)


@reacts_to(PortfolioBudgetSet)
async def keep_ring_fences_within_envelope(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: a new envelope is refused whole (in its own transaction) when it is below what the
    portfolio's open programmes ring-fence in a period, as creating such a programme is."""
    if recorded.type != PortfolioBudgetSet.type_name():
        return
    budget_set = recorded.decode()
    if not isinstance(budget_set, PortfolioBudgetSet):
        return
    await funding.lock_portfolio(uow.session, budget_set.portfolio_id)
    held = await held_by_programmes(uow.session, budget_set.portfolio_id)
    if not held:
        return
    currency = (await uow.load(funding.PORTFOLIO, budget_set.portfolio_id)).state.currency
    programme_rules.check_envelope_holds_ring_fences(budget_set.budget, held, currency)

"""Project delivery commands: load the project and its portfolio → decide → append to both in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import BenefitRealised, InvestmentDecided, LessonRecorded, ProjectBudgetChanged
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, UnitOfWork, fold
from pmo_portfolio import candidates, funding
from pmo_portfolio.delivery.domain import project as project_rules
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import NotFound

PROJECT = AggregateType("project", project_rules.initial, project_rules.evolve, Project)
ProjectRule = Callable[[Portfolio, Project], Sequence[Event]]
#: Events a project command decides that belong on the portfolio's stream: they move the envelope.
FUNDING = (ProjectBudgetChanged,)
#: Facts about a project that change nothing it decides on: each on a stream of its own (type, id field),
#: so recording one never contends with the project's own commands or bumps its version.
OWN_STREAMS: dict[type[Event], tuple[str, str]] = {
    LessonRecorded: ("lesson", "lesson_id"),
    BenefitRealised: ("benefit_realisation", "realisation_id"),
}


async def initiate_approved_project(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: an approval initiates the project (same id as the proposal) in the decision's transaction."""
    if recorded.type != InvestmentDecided.type_name():
        return
    decision = recorded.decode()
    if not isinstance(decision, InvestmentDecided) or decision.outcome != "approve":
        return
    registration = await candidates.registration(uow.session, decision.candidate_id)
    loaded = await uow.load(PROJECT, decision.candidate_id)
    await uow.append(
        PROJECT, decision.candidate_id, loaded.version, project_rules.initiate(loaded.state, decision, registration)
    )


async def apply_to_project(
    uow: UnitOfWork, project_id: str, rule: ProjectRule, *, if_match: int | None = None
) -> tuple[list[Event], int]:
    """Decide on the project and its portfolio; budget changes go on the portfolio's stream, checked there."""
    project = await uow.load(PROJECT, project_id)
    if project.state.status == "none":
        raise NotFound(f"project {project_id}")
    project.expect(if_match, f"project {project_id}")
    portfolio = await uow.load(funding.PORTFOLIO, project.state.portfolio_id)
    new_events = list(rule(portfolio.state, project.state))
    on_portfolio = [e for e in new_events if isinstance(e, FUNDING)]
    on_their_own = [e for e in new_events if type(e) in OWN_STREAMS]
    on_project = [e for e in new_events if not isinstance(e, FUNDING) and type(e) not in OWN_STREAMS]
    if on_portfolio:
        # Appended with the portfolio's version: a concurrent approval or change makes this lose and retry.
        after = fold(funding.PORTFOLIO, portfolio.state, on_portfolio)
        await uow.append(funding.PORTFOLIO, project.state.portfolio_id, portfolio.version, on_portfolio, after)
    for fact in on_their_own:
        stream_type, id_field = OWN_STREAMS[type(fact)]
        await uow.open_stream(stream_type, getattr(fact, id_field), [fact])
    if on_project:
        after_project = fold(PROJECT, project.state, on_project)
        await uow.append(PROJECT, project_id, project.version, on_project, after_project)
    return new_events, project.version + len(on_project)

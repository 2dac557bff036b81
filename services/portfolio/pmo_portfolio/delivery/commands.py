"""Project delivery commands: load the project and its portfolio → decide → append to both in one transaction.

The board's actions on a project are resolved here too: a motion the board carries applies its resolution to
the project (a policy, in the carrying vote's transaction)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BenefitRealised,
    BoardActionOverdue,
    ChangeRequestDecided,
    InvestmentDecided,
    LessonRecorded,
    MotionCarried,
    ProjectBudgetChanged,
    ReviewOverdue,
    StageGateDecided,
)
from pmo_events.contracts.portfolio.delivery import ChangeOutcome
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, CommandRuntime, ConcurrencyConflict, Metadata, UnitOfWork, fold, reacts_to
from pmo_portfolio import candidates, funding, governance
from pmo_portfolio.delivery import queries
from pmo_portfolio.delivery.domain import board_actions, change_requests
from pmo_portfolio.delivery.domain import lessons as lesson_rules
from pmo_portfolio.delivery.domain import project as project_rules
from pmo_portfolio.delivery.domain.board_actions import ResolveAction
from pmo_portfolio.delivery.domain.lessons import LessonFeedback, feedback_stream, lesson_subject
from pmo_portfolio.delivery.domain.lifecycle import Act
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.delivery.views import lessons
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.governance.domain import MotionTerms
from pmo_portfolio.shared.errors import BoardVoteNeeded, NotFound

PROJECT = AggregateType("project", project_rules.initial, project_rules.evolve, Project, keep=True)
log = logging.getLogger(__name__)
FEEDBACK = AggregateType("lesson_feedback", lesson_rules.initial_feedback, lesson_rules.evolve_feedback, LessonFeedback)
ProjectRule = Callable[[Portfolio, Project], Sequence[Event]]
#: Awaited with the project's state and version after a command's events, before they are appended: True when it
#: has the project's row written with the unit of work's last write (`views.guard_report_row`).
RowWriter = Callable[[Project, int], Awaitable[bool]]
#: A stream named by a portfolio (its id → the aggregate and the stream's id).
PortfolioStream = Callable[[str], tuple[AggregateType[Any], str]]
#: The streams named by a project's portfolio that the policies a status report runs load after its append (the
#: dependency graph, `reassess_dependencies`): read ahead with the project. Filled by the composition root
#: (`bootstrap`): delivery builds on no concept that owns them.
READ_WITH_REPORTS: list[PortfolioStream] = []
#: Events a project command decides that belong on the portfolio's stream: they move the envelope.
FUNDING = (ProjectBudgetChanged,)
#: Facts about a project that change nothing it decides on: each on a stream of its own (type, id field),
#: so recording one never contends with the project's own commands or bumps its version.
OWN_STREAMS: dict[type[Event], tuple[str, str]] = {
    LessonRecorded: ("lesson", "lesson_id"),
    BenefitRealised: ("benefit_realisation", "realisation_id"),
}


@reacts_to(InvestmentDecided)
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


async def load_project_together(
    uow: UnitOfWork,
    project_id: str,
    *also: tuple[AggregateType[Any], str],
    of_portfolio: Sequence[PortfolioStream] = (),
) -> None:
    """The project, its portfolio and `also` (the fiscal calendar) read in one statement when the process keeps
    their states (`UnitOfWork.load_together`), for the loads that follow; else each `load` reads as before.
    `of_portfolio`: streams named by the project's portfolio read with them (`READ_WITH_REPORTS`)."""
    kept = uow.kept_state(PROJECT, project_id)
    portfolio = [(funding.PORTFOLIO, kept.portfolio_id)] if kept is not None and kept.portfolio_id else []
    if portfolio:
        portfolio += [stream_of(portfolio[0][1]) for stream_of in of_portfolio]
    await uow.load_together([(PROJECT, project_id), *portfolio, *also])


async def apply_to_project(
    uow: UnitOfWork, project_id: str, rule: ProjectRule, *, if_match: int | None = None, row: RowWriter | None = None
) -> tuple[list[Event], int]:
    """Decide on the project and its portfolio; budget changes go on the portfolio's stream, checked there.
    `row`: when the events are the project's alone and it writes the project's row, they are appended with the
    unit of work's last write (`write_at_end`: on PostgreSQL one statement with no session)."""
    await load_project_together(uow, project_id)
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
        version = project.version + len(on_project)
        at_end = row is not None and len(on_project) == len(new_events) and await row(after_project, version)
        await uow.append(PROJECT, project_id, project.version, on_project, after_project, write_at_end=at_end)
    return new_events, project.version + len(on_project)


#: What the board's carried motion applies to a project, by the motion's kind.
CARRIED_ON_PROJECTS = {
    board_actions.BOARD_ACTION: board_actions.carried,
    change_requests.CHANGE_REQUEST: change_requests.carried,
}


@reacts_to(MotionCarried)
async def resolve_carried_action(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: the vote that carries a motion about a project applies it in the vote's transaction: a board action
    resolved (pausing or cancelling with it), a change request decided (moving the envelope with it)."""
    if recorded.type != MotionCarried.type_name():
        return
    carried = recorded.decode()
    if not isinstance(carried, MotionCarried) or carried.kind not in CARRIED_ON_PROJECTS:
        return
    apply = CARRIED_ON_PROJECTS[carried.kind]
    motion = await uow.load(governance.MOTION, carried.motion_id)
    await apply_to_project(
        uow, carried.subject_id, lambda portfolio, project: apply(portfolio, project, motion.state, carried)
    )


async def decide_change_request(
    uow: UnitOfWork,
    project_id: str,
    change_request_id: str,
    outcome: ChangeOutcome,
    act: Act,
    *,
    if_match: int | None = None,
) -> tuple[list[Event], int]:
    """A change decided now: by the portfolio manager alone below the delegated threshold, or by a board member
    whose own vote on the motion meets the charter's rule (a board of one). Otherwise nothing is recorded and the
    answer says the board votes (`move_change`). Answers what was decided and the project's version."""
    project = await uow.load(PROJECT, project_id)
    if project.state.status == "none":
        raise NotFound(f"project {project_id}")
    project.expect(if_match, f"project {project_id}")
    portfolio = await uow.load(funding.PORTFOLIO, project.state.portfolio_id)
    if change_requests.is_delegated(portfolio.state, project.state, change_request_id, act.by):
        return await apply_to_project(
            uow, project_id, lambda pf, pr: change_requests.decide_change(pf, pr, change_request_id, outcome, act)
        )
    motion, _ = await move_change(uow, project_id, change_request_id, outcome, act)
    decided = [e for e in uow.recorded if e.type == ChangeRequestDecided.type_name()]
    if not decided:
        # Rolled back with the transaction: the motion was never proposed.
        raise BoardVoteNeeded(
            f"the board decides this change by a vote ({motion['quorum']} needed): put it to the board with "
            f"POST /projects/{project_id}/change-requests/{change_request_id}/motions"
        )
    moved_money = [e for e in uow.recorded if e.type == ProjectBudgetChanged.type_name()]
    return [e.decode() for e in (*decided, *moved_money)], decided[-1].sequence


async def move_change(
    uow: UnitOfWork, project_id: str, change_request_id: str, outcome: ChangeOutcome, act: Act
) -> tuple[dict[str, Any], int]:
    """A board member puts the change to the board's vote and votes for it; the vote that meets the charter's rule
    (at once on a board of one) decides it in this transaction. Answers the motion."""
    project = await uow.load(PROJECT, project_id)
    if project.state.status == "none":
        raise NotFound(f"project {project_id}")
    portfolio_id = project.state.portfolio_id
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    terms = change_requests.motion_terms(portfolio.state, project.state, change_request_id, outcome, act)
    return await _moved(uow, portfolio_id, terms, act, portfolio.state.currency)


async def move_resolution(uow: UnitOfWork, project_id: str, command: ResolveAction) -> tuple[dict[str, Any], int]:
    """A board member moves the action's resolution and votes for it; the vote that meets the charter's rule
    (at once on a board of one) resolves it in this transaction. Answers the motion."""
    project = await uow.load(PROJECT, project_id)
    if project.state.status == "none":
        raise NotFound(f"project {project_id}")
    portfolio_id = project.state.portfolio_id
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    terms = board_actions.motion_terms(portfolio.state, project.state, command)
    return await _moved(uow, portfolio_id, terms, command.act, portfolio.state.currency)


async def _moved(
    uow: UnitOfWork, portfolio_id: str, terms: MotionTerms, act: Act, currency: str
) -> tuple[dict[str, Any], int]:
    """`terms` put to the portfolio's board, the mover's vote for them cast; answers the motion."""
    motion_id = str(uuid.uuid4())
    await governance.propose_motion(uow, portfolio_id, motion_id, terms, act.by, act.at)
    motion, version = await governance.vote(uow, motion_id, act.by, "for", act.rationale, act.at)
    return governance.motion_view(motion, version, currency), version


async def notice_overdue(runtime: CommandRuntime, now: datetime, meta: Metadata) -> dict[str, int]:
    """The review calendar's trigger: each live project's overdue review and overdue actions, published once, as
    by `meta`'s actor (the analyst who called the endpoint, or the scheduler).

    Each project in its own transaction, appended on its version: replicas running it at once notice each
    overdue date once (the loser of a race finds it noticed, or the next sweep looks again)."""
    async with runtime.db.sessions() as session:
        live = await queries.live_project_ids(session)
    counted = {"reviews_overdue": 0, "actions_overdue": 0}
    for project_id in live:
        try:
            async with runtime.unit_of_work(meta) as uow:
                notices, _ = await apply_to_project(
                    uow, project_id, lambda portfolio, project: board_actions.overdue_notices(portfolio, project, now)
                )
        except ConcurrencyConflict:
            log.info("project %s changed while noticing what is overdue; the next sweep looks again", project_id)
            continue
        counted["reviews_overdue"] += sum(isinstance(n, ReviewOverdue) for n in notices)
        counted["actions_overdue"] += sum(isinstance(n, BoardActionOverdue) for n in notices)
    return counted


@reacts_to(StageGateDecided)
async def offer_lessons_at_gate(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: a project that proceeds through a gate is offered the lessons most relevant to it, in the gate's
    transaction (on the stream `lessons-<project_id>`, so the project's version does not move)."""
    if recorded.type != StageGateDecided.type_name():
        return
    gate = recorded.decode()
    if not isinstance(gate, StageGateDecided) or gate.decision != "proceed":
        return
    project = await uow.load(PROJECT, gate.project_id)
    related = await lessons.related(uow.session, lesson_subject(project.state))
    await append_feedback(
        uow, gate.project_id, lesson_rules.offer_at_gate(project.state, related, gate.gate, gate.decided_at)
    )


async def append_feedback(uow: UnitOfWork, project_id: str, new_events: Sequence[Event]) -> tuple[LessonFeedback, int]:
    """Append offers or acknowledgements to the project's lesson stream; its state and version after."""
    loaded = await uow.load(FEEDBACK, feedback_stream(project_id))
    if not new_events:
        return loaded.state, loaded.version
    state = fold(FEEDBACK, loaded.state, new_events)
    await uow.append(FEEDBACK, feedback_stream(project_id), loaded.version, new_events, state)
    return state, loaded.version + len(new_events)

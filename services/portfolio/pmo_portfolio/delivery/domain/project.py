"""The Project aggregate: initiated by an approval (the proposal's id), then its whole delivery life."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, cast

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit, PeriodAmount, RoleEstimate, Timeline
from pmo_events.contracts.portfolio import (
    AlignmentReviewed,
    BoardActionOpened,
    BoardActionOverdue,
    BoardActionResolved,
    CandidateRegistered,
    ChangeRequestDecided,
    ChangeRequested,
    InvestmentDecided,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectManagerAssigned,
    ProjectPaused,
    ProjectResumed,
    ReviewOverdue,
    StageGateDecided,
    StatusReported,
    StatusReportWithdrawn,
)
from pmo_portfolio.funding.domain import add, negated

Stage = Literal["none", "initiate", "plan", "execute", "close"]
Status = Literal["none", "active", "on_hold", "paused", "cancelled", "closed"]
STAGES: tuple[Stage, ...] = ("initiate", "plan", "execute", "close")
#: A project in one of these can still be reported on, reviewed and changed.
LIVE: frozenset[str] = frozenset({"active", "on_hold", "paused"})


class ChangeRequest(BaseModel):
    change_request_id: str
    kind: Literal["budget", "scope", "schedule"]
    status: Literal["pending", "approved", "rejected"] = "pending"
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    effective_on: date | None = None
    rationale: str
    requested_by: str


class BoardAction(BaseModel):
    """What a review asked the board to decide: continue, re-scope, pause or cancel, by a due date."""

    action_id: str
    review_id: str
    recommendation: str
    still_aligned: bool
    due_on: date
    status: Literal["open", "resolved"] = "open"
    resolution: str | None = None
    overdue_noticed: bool = False


class BudgetStep(BaseModel):
    """An approved change of the project's budget and the day from which it counts in BAC."""

    effective_on: date
    delta: tuple[PeriodAmount, ...]


class Project(BaseModel):
    project_id: str
    portfolio_id: str = ""
    title: str = ""
    stage: Stage = "none"
    status: Status = "none"
    baseline_budget: tuple[PeriodAmount, ...] = ()
    #: The baseline plus every approved budget change (and release): what the envelope holds for it.
    budget: dict[str, Decimal] = {}
    #: Those changes with the day each counts from: a status report's BAC is the budget in force then.
    budget_steps: tuple[BudgetStep, ...] = ()
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    benefits: tuple[Benefit, ...] = ()
    initiated_on: date | None = None
    last_reviewed_on: date | None = None
    #: Status reports that count (neither superseded nor withdrawn), by report id.
    current_reports: dict[str, StatusReported] = {}
    #: Reports that no longer count, by report id: "superseded" or "withdrawn" (kept in the history).
    retired_reports: dict[str, Literal["superseded", "withdrawn"]] = {}
    change_requests: dict[str, ChangeRequest] = {}
    final_cost: Decimal | None = None
    #: Counted by the projects view, not by this aggregate: lessons and benefit realisations are on
    #: streams of their own (they change nothing a project decides on).
    lessons: int = 0
    realisations: int = 0
    #: Of the project managers, the one who acts on this project (reports, change requests).
    project_manager: str | None = None
    board_actions: dict[str, BoardAction] = {}
    #: The end the project forecasts now: the plan's end, moved by an approved schedule change or by a status
    #: report's `forecast_end` (the latest of those decides). None on state written before it was kept.
    forecast_end: date | None = None
    #: The review due date whose passing was already published (`ReviewOverdue` goes out once per due date).
    review_overdue_noticed: date | None = None

    def open_actions(self) -> list[BoardAction]:
        return [a for a in self.board_actions.values() if a.status == "open"]

    def benefit_ids(self) -> list[str]:
        """A benefit without its own id is known by its position, as reporting does: "#1", "#2"..."""
        return [b.benefit_id or f"#{i + 1}" for i, b in enumerate(self.benefits)]

    def latest_report(self) -> StatusReported | None:
        """The current report with the latest period end (the latest reported on a tie)."""
        reports = self.current_reports.values()
        return max(reports, key=lambda r: (r.period_end, r.reported_at), default=None)

    def report_for(self, period_end: date) -> StatusReported | None:
        return next((r for r in self.current_reports.values() if r.period_end == period_end), None)

    def budget_on(self, day: date) -> dict[str, Decimal]:
        """The baseline plus the approved changes in force on `day` (by their effective date)."""
        in_force = [line for step in self.budget_steps if step.effective_on <= day for line in step.delta]
        return add(add({}, self.baseline_budget), in_force)

    def review_due(self, cadence_days: int) -> date | None:
        """When the next strategic-alignment review is due: `cadence_days` after the last one (or the initiation)."""
        since = self.last_reviewed_on or self.initiated_on
        return since + timedelta(days=cadence_days) if since else None

    def start(self) -> date | None:
        """When the project's life began: its planned start, else the day it was initiated."""
        return self.timeline.start or self.initiated_on

    def forecast(self) -> date | None:
        """The end the project forecasts now (the plan's end on state kept before forecasts were)."""
        return self.forecast_end or self.timeline.end

    def next_stage(self) -> Stage | None:
        position = STAGES.index(self.stage) if self.stage in STAGES else -1
        return STAGES[position + 1] if 0 <= position < len(STAGES) - 1 else None


def initiate(project: Project, decision: InvestmentDecided, candidate: CandidateRegistered) -> list[Event]:
    """An approval starts the project, baselined on the approved budget and the proposal's plan; a project
    manager named by the approval is assigned from the start."""
    if project.status != "none" or decision.outcome != "approve":
        return []
    started: list[Event] = [
        ProjectInitiated(
            project_id=decision.candidate_id,
            portfolio_id=decision.portfolio_id,
            proposal_id=decision.proposal_id,
            title=candidate.title,
            baseline_budget=decision.approved_budget,
            timeline=candidate.timeline,
            resource_estimate=candidate.resource_estimate,
            benefits=candidate.benefits,
            initiated_by=decision.decided_by,
            initiated_at=decision.decided_at,
        )
    ]
    if decision.project_manager:
        started.append(
            ProjectManagerAssigned(
                project_id=decision.candidate_id,
                portfolio_id=decision.portfolio_id,
                project_manager=decision.project_manager,
                assigned_by=decision.decided_by,
                assigned_at=decision.decided_at,
            )
        )
    return started


def _initiated(state: Project, event: ProjectInitiated, updated: Updated) -> Project:
    return updated(
        state,
        {
            "portfolio_id": event.portfolio_id,
            "title": event.title,
            "stage": "initiate",
            "status": "active",
            "baseline_budget": event.baseline_budget,
            "budget": add({}, event.baseline_budget),
            "timeline": event.timeline,
            "resource_estimate": event.resource_estimate,
            "benefits": event.benefits,
            "initiated_on": event.initiated_at.date() if event.initiated_at else None,
            "forecast_end": event.timeline.end,
        },
    )


def _gate(state: Project, event: StageGateDecided, updated: Updated) -> Project:
    if event.decision == "proceed":
        return updated(state, {"stage": event.to_stage, "status": "active"})
    if event.decision == "hold":
        return updated(state, {"status": "on_hold"})
    return state  # a stop is followed by ProjectCancelled


def _change_decided(state: Project, event: ChangeRequestDecided, updated: Updated) -> Project:
    request = state.change_requests[event.change_request_id]
    requests = {
        **state.change_requests,
        event.change_request_id: request.model_copy(
            update={"status": "approved" if event.outcome == "approve" else "rejected"}
        ),
    }
    if event.outcome == "reject":
        return updated(state, {"change_requests": requests})
    step = BudgetStep(effective_on=event.effective_on or event.decided_at.date(), delta=event.budget_delta)
    update: dict[str, object] = {
        "change_requests": requests,
        "budget": add(state.budget, event.budget_delta),
        "budget_steps": (*state.budget_steps, step) if event.budget_delta else state.budget_steps,
    }
    if event.new_end is not None:
        update["timeline"] = state.timeline.model_copy(update={"end": event.new_end})
        update["forecast_end"] = event.new_end
    return updated(state, update)


def _reported(state: Project, event: StatusReported) -> Project:
    """A report counts from now on; the one it corrects (if any) is superseded, and stays in the history."""
    current = {k: v for k, v in state.current_reports.items() if k != event.correction_of}
    retired = dict(state.retired_reports)
    if event.correction_of and event.correction_of not in retired:
        retired[event.correction_of] = "superseded"
    update: dict[str, object] = {"current_reports": {**current, event.report_id: event}, "retired_reports": retired}
    if event.forecast_end is not None:
        update["forecast_end"] = event.forecast_end
    return state.model_copy(update=update)


def _withdrawn(state: Project, event: StatusReportWithdrawn) -> Project:
    current = {k: v for k, v in state.current_reports.items() if k != event.report_id}
    retired = {**state.retired_reports, event.report_id: "withdrawn"}
    return state.model_copy(update={"current_reports": current, "retired_reports": retired})


def evolve_owned(state: Project, event: Event) -> Project:
    """`evolve` for a fold that holds the only reference to `state` and to its dicts of reports (a rebuild's):
    every event changes the state's fields in place and returns `state` (fields set too), where `evolve` copies
    the state per event (`model_copy`, ~8 µs) and the dict of current reports per report (a project's monthly
    reports made that quadratic); a status report or a withdrawal also changes the state's dicts of reports in
    place. The states equal `evolve`'s, fields set and dict order included (`tests/test_project_fold.py`, every
    event type a project's stream holds)."""
    kind = type(event)  # exact types: no ABC `isinstance` chain per event
    if kind is StatusReported:
        reported = cast(StatusReported, event)
        current, retired = state.current_reports, state.retired_reports
        if reported.correction_of is not None:
            current.pop(reported.correction_of, None)
            if reported.correction_of not in retired:
                retired[reported.correction_of] = "superseded"
        current[reported.report_id] = reported
        update: dict[str, object] = {"current_reports": current, "retired_reports": retired}
        if reported.forecast_end is not None:
            update["forecast_end"] = reported.forecast_end
    elif kind is StatusReportWithdrawn:
        withdrawn = cast(StatusReportWithdrawn, event)
        state.current_reports.pop(withdrawn.report_id, None)
        state.retired_reports[withdrawn.report_id] = "withdrawn"
        update = {"current_reports": state.current_reports, "retired_reports": state.retired_reports}
    else:
        return _evolve(state, event, _in_place)
    return _in_place(state, update)


#: How `_evolve` makes the state after an event from the one before and the fields that change.
Updated = Callable[[Project, dict[str, object]], Project]


def _copied(state: Project, update: dict[str, object]) -> Project:
    """`evolve`'s: a copy, `state` left alone."""
    return state.model_copy(update=update)


def _in_place(state: Project, update: dict[str, object]) -> Project:
    """`evolve_owned`'s: `state` itself changed, as `model_copy(update=...)` changes its copy (the fields and the
    fields set; a project has no extra or private values)."""
    state.__dict__.update(update)
    state.__pydantic_fields_set__.update(update)
    return state


def _released(state: Project, event: ProjectCancelled | ProjectClosed) -> dict[str, object]:
    released = negated(event.released_budget)
    if not released:
        return {}
    step = BudgetStep(effective_on=event.effective_on or date.min, delta=released)
    return {"budget": add(state.budget, released), "budget_steps": (*state.budget_steps, step)}


def evolve(state: Project, event: Event) -> Project:
    return _evolve(state, event, _copied)


def _evolve(state: Project, event: Event, updated: Updated) -> Project:
    if isinstance(event, ProjectInitiated):
        return _initiated(state, event, updated)
    if isinstance(event, StageGateDecided):
        return _gate(state, event, updated)
    if isinstance(event, StatusReported):
        return _reported(state, event)
    if isinstance(event, StatusReportWithdrawn):
        return _withdrawn(state, event)
    if isinstance(event, AlignmentReviewed):
        return updated(state, {"last_reviewed_on": event.reviewed_at.date()})
    if isinstance(event, ChangeRequested):
        request = ChangeRequest(**event.model_dump(include=set(ChangeRequest.model_fields) - {"status"}))
        return updated(state, {"change_requests": {**state.change_requests, request.change_request_id: request}})
    if isinstance(event, ChangeRequestDecided):
        return _change_decided(state, event, updated)
    if isinstance(event, ProjectPaused | ProjectResumed):
        return updated(state, {"status": "paused" if isinstance(event, ProjectPaused) else "active"})
    if isinstance(event, ProjectCancelled):
        return updated(state, {"status": "cancelled", **_released(state, event)})
    if isinstance(event, ProjectClosed):
        update = {"status": "closed", "stage": "close", "final_cost": event.final_cost}
        return updated(state, {**update, **_released(state, event)})
    return _governed(state, event, updated)


def _governed(state: Project, event: Event, updated: Updated) -> Project:
    """What governance does to a project: its manager, the board's actions, overdue notices."""
    if isinstance(event, ProjectManagerAssigned):
        return updated(state, {"project_manager": event.project_manager})
    if isinstance(event, BoardActionOpened):
        action = BoardAction(**event.model_dump(include=set(BoardAction.model_fields)))
        return _with_action(state, action, updated)
    if isinstance(event, BoardActionResolved):
        resolved = {"status": "resolved", "resolution": event.resolution}
        return _with_action(state, state.board_actions[event.action_id].model_copy(update=resolved), updated)
    if isinstance(event, BoardActionOverdue):
        overdue = state.board_actions[event.action_id].model_copy(update={"overdue_noticed": True})
        return _with_action(state, overdue, updated)
    if isinstance(event, ReviewOverdue):
        return updated(state, {"review_overdue_noticed": event.due_on})
    return state


def _with_action(state: Project, action: BoardAction, updated: Updated) -> Project:
    return updated(state, {"board_actions": {**state.board_actions, action.action_id: action}})


def initial(project_id: str) -> Project:
    """`Project(project_id=project_id)`, made as pydantic's own copy makes one from the validated empty project
    (`_INITIAL`), without validating the defaults again (~50 µs: pydantic deep-copies the `Timeline` default): the
    same state, fields set included (`test_project_fold.py`); each dict default is a new empty dict, since
    `evolve_owned` changes a state's dicts in place, and every other default is immutable (shared, as the
    `Timeline`: a frozen model)."""
    state = _new(Project)
    _set(state, "__dict__", _INITIAL.__dict__ | {"project_id": project_id, **{name: {} for name in _DICTS}})
    _set(state, "__pydantic_fields_set__", {"project_id"})
    _set(state, "__pydantic_extra__", None)
    _set(state, "__pydantic_private__", None)
    return state


_new, _set = object.__new__, object.__setattr__
#: `initial`'s values.
_INITIAL = Project(project_id="")
#: The fields whose default is a (mutable) dict.
_DICTS = tuple(name for name, value in _INITIAL.__dict__.items() if isinstance(value, dict))

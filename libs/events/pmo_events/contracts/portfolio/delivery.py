"""Project delivery events: initiation, gates, status reports, reviews, change requests, closure, lessons, benefits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import model_validator

from pmo_events.contracts.base import ContractModel, Money, UtcInstant, contract
from pmo_events.contracts.common import Benefit, OfferedLesson, PeriodAmount, RoleEstimate, Timeline
from pmo_events.contracts.portfolio.governance import Authority, Conflict, Tally, Vote
from pmo_events.contracts.portfolio.topic import PortfolioEvent
from pmo_events.figures.earned_value import from_amounts

#: A stage gate is named by the stage it opens; the board's verdict at it.
Gate = Literal["plan", "execute", "close"]
GateVerdict = Literal["proceed", "hold", "stop"]
#: A red-amber-green rating.
Rag = Literal["green", "amber", "red"]
#: What a strategic-alignment review recommends.
ReviewRecommendation = Literal["continue", "rescope", "stop"]
#: What a change request changes, and how the board decides it.
ChangeKind = Literal["budget", "scope", "schedule"]
ChangeOutcome = Literal["approve", "reject"]


@contract
class ProjectInitiated(PortfolioEvent):
    """An approval started a project; its id is the proposal's id."""

    event_name = "ProjectInitiated"
    related_fields = ("portfolio_id", "proposal_id")
    project_id: str
    portfolio_id: str
    proposal_id: str
    title: str
    baseline_budget: tuple[PeriodAmount, ...]
    timeline: Timeline = Timeline()
    resource_estimate: tuple[RoleEstimate, ...] = ()
    benefits: tuple[Benefit, ...] = ()
    initiated_by: str
    #: When the approval was decided (the start of the project's review cadence).
    initiated_at: UtcInstant | None = None


@contract
class RagTolerancesSet(PortfolioEvent):
    """Index thresholds for derived RAG: green at or above `green_at`, amber at or above `amber_at`, else red."""

    event_name = "RagTolerancesSet"
    portfolio_id: str
    green_at: Decimal
    amber_at: Decimal
    set_by: str


@contract
class ReviewCadenceSet(PortfolioEvent):
    """How often each project of the portfolio has a strategic-alignment review."""

    event_name = "ReviewCadenceSet"
    portfolio_id: str
    every_days: int
    set_by: str
    #: Days the board has to act on a review that found the project misaligned (absent: unchanged, 14 at first).
    action_due_days: int | None = None


class ProjectEvent(PortfolioEvent):
    """An event about one project (most on the project's stream; lessons and benefit realisations on their own)."""

    related_fields: ClassVar[tuple[str, ...]] = ("portfolio_id",)
    project_id: str


@contract
class StageGateDecided(ProjectEvent):
    """The board decided a stage gate: proceed to the next stage, hold, or stop."""

    event_name = "StageGateDecided"
    portfolio_id: str
    decision_id: str
    gate: Gate
    decision: GateVerdict
    from_stage: str
    to_stage: str
    rationale: str
    decided_by: str
    decided_at: UtcInstant


class RagRating(ContractModel):
    schedule: Rag
    cost: Rag
    scope: Rag
    overall: Rag


#: The figures a status report derives from its four amounts (`pmo_events.figures.earned_value`).
DERIVED_FIGURES = ("schedule_variance", "cost_variance", "eac", "vac")


@contract
class StatusReported(ProjectEvent):
    """A status report for a period with its earned-value figures as they were decided, never recomputed.

    A report that names an earlier one in `correction_of` supersedes it (a second report for the same
    period end does so by itself): both stay in the history. Events recorded before SV, CV, EAC and VAC
    were part of the report get them on read, derived once from that event's own BAC, PV, EV and AC.
    """

    event_name = "StatusReported"
    portfolio_id: str
    report_id: str
    period_end: date
    percent_complete: Decimal
    actual_cost: Money
    #: Earned value at the time: BAC (the budget in force at period_end), PV (None when undefined), EV;
    #: SPI and CPI are "undefined" on a zero denominator, and so are (None) SV, EAC and VAC.
    bac: Money
    planned_value: Money | None = None
    earned_value: Money
    spi: str
    cpi: str
    schedule_variance: Money | None = None
    cost_variance: Money | None = None
    eac: Money | None = None
    vac: Money | None = None
    rag: RagRating
    derived_rag: RagRating
    rag_source: Literal["derived", "manual"]
    #: The tolerances the derived RAG used (None on events from before they were recorded).
    green_at: Decimal | None = None
    amber_at: Decimal | None = None
    justification: str | None = None
    summary: str
    risks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    #: RAID items (risks, issues, assumptions of the RAID log) the report refers to; `risks` and `issues`
    #: stay as free text for reports written before the log existed.
    raid_item_ids: tuple[str, ...] = ()
    #: The end date the project manager now forecasts (None: the plan's end still holds).
    forecast_end: date | None = None
    correction_of: str | None = None
    #: Why this report supersedes `correction_of` (a same-period re-report may leave it empty).
    correction_reason: str | None = None
    reported_by: str
    reported_at: UtcInstant

    @model_validator(mode="after")
    def _derive_missing_figures(self) -> StatusReported:
        """Upcast on read: an event without the derived figures gets them from its own recorded amounts, each
        one it lacks counted as given (as when they were merged into its data before validation). After
        validation, not before: a `before` validator has pydantic build a Python dict of every payload first,
        which cost about 4 µs of the 12 µs a report's JSON took to decode."""
        given = self.__pydantic_fields_set__
        missing = [name for name in DERIVED_FIGURES if name not in given]
        if not missing:
            return self
        figures = from_amounts(bac=self.bac, pv=self.planned_value, ev=self.earned_value, ac=self.actual_cost)
        derived = {"schedule_variance": figures.sv, "cost_variance": figures.cv, "eac": figures.eac, "vac": figures.vac}
        for name in missing:
            self.__dict__[name] = derived[name]  # frozen: set as validation would have
        given.update(missing)
        return self


@contract
class StatusReportWithdrawn(ProjectEvent):
    """A status report was withdrawn (entered in error): it stays in the history but counts for nothing."""

    event_name = "StatusReportWithdrawn"
    portfolio_id: str
    report_id: str
    reason: str
    withdrawn_by: str
    withdrawn_at: UtcInstant


@contract
class AlignmentReviewed(ProjectEvent):
    """The periodic strategic-alignment review of a project."""

    event_name = "AlignmentReviewed"
    portfolio_id: str
    review_id: str
    still_aligned: bool
    recommendation: ReviewRecommendation
    notes: str
    reviewed_by: str
    reviewed_at: UtcInstant


@contract
class ChangeRequested(ProjectEvent):
    event_name = "ChangeRequested"
    portfolio_id: str
    change_request_id: str
    kind: ChangeKind
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    #: From when a budget change counts in the project's BAC (None: from the day it is approved).
    effective_on: date | None = None
    rationale: str
    requested_by: str
    requested_at: UtcInstant


@contract
class ChangeRequestDecided(ProjectEvent):
    """The board approved or rejected a change request; an approved budget change moved the envelope."""

    event_name = "ChangeRequestDecided"
    portfolio_id: str
    change_request_id: str
    kind: ChangeKind
    outcome: ChangeOutcome
    budget_delta: tuple[PeriodAmount, ...] = ()
    new_end: date | None = None
    #: From when an approved budget change counts in the project's BAC (None on older events: the
    #: day of `decided_at`). The envelope is committed at the decision, whatever this date.
    effective_on: date | None = None
    rationale: str
    decided_by: str
    decided_at: UtcInstant
    #: `board` (a motion; `motion_id`, every vote and the tally) or `delegated` (the portfolio manager alone).
    authority: Authority | None = None
    motion_id: str | None = None
    votes: tuple[Vote, ...] = ()
    tally: Tally | None = None
    conflicts: tuple[Conflict, ...] = ()


@contract
class ProjectPaused(ProjectEvent):
    event_name = "ProjectPaused"
    portfolio_id: str
    rationale: str
    paused_by: str
    paused_at: UtcInstant


@contract
class ProjectResumed(ProjectEvent):
    event_name = "ProjectResumed"
    portfolio_id: str
    rationale: str
    resumed_by: str
    resumed_at: UtcInstant


@contract
class ProjectCancelled(PortfolioEvent):
    """The project stopped (a gate's stop, or a cancellation): its unspent budget went back to the envelope."""

    event_name = "ProjectCancelled"
    related_fields = ("portfolio_id",)
    project_id: str
    effective_on: date | None = None
    reason: str | None = None
    portfolio_id: str | None = None
    cancelled_by: str | None = None
    released_budget: tuple[PeriodAmount, ...] = ()


@contract
class ProjectClosed(PortfolioEvent):
    """The project closed with its final cost and lessons; budget it did not spend went back."""

    event_name = "ProjectClosed"
    related_fields = ("portfolio_id",)
    project_id: str
    effective_on: date | None = None
    reason: str | None = None
    portfolio_id: str | None = None
    final_cost: Money | None = None
    notes: str | None = None
    closed_by: str | None = None
    released_budget: tuple[PeriodAmount, ...] = ()


@contract
class LessonRecorded(ProjectEvent):
    event_name = "LessonRecorded"
    related_fields = ("portfolio_id", "project_id")
    portfolio_id: str
    lesson_id: str
    title: str
    description: str
    category: str
    tags: tuple[str, ...] = ()
    decision_id: str | None = None
    recorded_by: str
    recorded_at: UtcInstant


@contract
class BenefitRealised(ProjectEvent):
    """A measurement of a planned benefit; benefits are realised long after delivery."""

    event_name = "BenefitRealised"
    related_fields = ("portfolio_id", "project_id")
    portfolio_id: str
    benefit_id: str
    #: A number (decimal string) for financial and quantitative benefits; free text for qualitative ones.
    measured_value: str
    #: The unit the value is in (the benefit's unit; a financial benefit's defaults to the currency);
    #: absent for qualitative benefits and on measurements recorded before units were recorded.
    unit: str | None = None
    measured_on: date
    note: str | None = None
    recorded_by: str
    recorded_at: UtcInstant
    #: This measurement's own stream (its key and `ce_subject`); absent on measurements recorded before
    #: they had streams of their own, which are on their project's stream.
    realisation_id: str | None = None


@contract
class ProjectManagerAssigned(ProjectEvent):
    """Who manages the project from now on: only they (of the project managers) report on it and raise changes."""

    event_name = "ProjectManagerAssigned"
    portfolio_id: str
    project_manager: str
    previous: str | None = None
    assigned_by: str
    assigned_at: UtcInstant
    #: Why the project changed hands (absent on the assignment at initiation).
    reason: str | None = None


BoardActionChoice = Literal["continue", "rescope", "pause", "cancel"]


@contract
class BoardActionOpened(ProjectEvent):
    """A review found the project no longer aligned (or recommended other than continue): the board must act."""

    event_name = "BoardActionOpened"
    portfolio_id: str
    action_id: str
    review_id: str
    still_aligned: bool
    recommendation: str
    due_on: date
    opened_at: UtcInstant


@contract
class BoardActionResolved(ProjectEvent):
    """The board resolved an open action (by a motion, or its portfolio manager under delegated authority): continue,
    re-scope, pause or cancel the project (a pause or cancellation follows in the same transaction)."""

    event_name = "BoardActionResolved"
    portfolio_id: str
    action_id: str
    resolution: BoardActionChoice
    motion_id: str | None = None
    rationale: str
    resolved_by: str
    resolved_at: UtcInstant
    votes: tuple[Vote, ...] = ()
    tally: Tally | None = None
    #: `board` (the motion `motion_id` carried; every vote and the tally) or `delegated` (the charter's
    #: portfolio manager alone, below the threshold); absent means `board`.
    authority: Authority | None = None
    conflicts: tuple[Conflict, ...] = ()


@contract
class BoardActionOverdue(ProjectEvent):
    """An open board action passed its due date unresolved (published once per action, for notifications)."""

    event_name = "BoardActionOverdue"
    portfolio_id: str
    action_id: str
    due_on: date
    noticed_at: UtcInstant


@contract
class ReviewOverdue(ProjectEvent):
    """A live project passed the date its strategic-alignment review was due (published once per due date)."""

    event_name = "ReviewOverdue"
    portfolio_id: str
    due_on: date
    last_reviewed_on: date | None = None
    noticed_at: UtcInstant


class _ProjectLessonFeedback(ProjectEvent):
    """Offers and acknowledgements of lessons for one project, on its own stream `lessons-<project_id>`
    (`feedback_id`), so the project's version (its ETag) does not move."""

    related_fields: ClassVar[tuple[str, ...]] = ("portfolio_id", "project_id")
    portfolio_id: str
    feedback_id: str


@contract
class ProjectLessonsOffered(_ProjectLessonFeedback):
    """The lessons of other projects most relevant to this one when it passed a gate, offered to its team."""

    event_name = "ProjectLessonsOffered"
    #: The gate the project passed (`plan`, `execute`, `close`).
    occasion: Gate
    lessons: tuple[OfferedLesson, ...]
    offered_at: UtcInstant


@contract
class ProjectLessonAcknowledged(_ProjectLessonFeedback):
    """The project's team read a lesson and said whether it applies to them, and why."""

    event_name = "ProjectLessonAcknowledged"
    related_fields = ("portfolio_id", "project_id", "lesson_id")
    lesson_id: str
    applies: bool
    note: str
    acknowledged_by: str
    acknowledged_at: UtcInstant

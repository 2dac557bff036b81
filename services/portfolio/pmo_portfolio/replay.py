"""`rebuild`'s fold of portfolio's per-event views in memory, each row written once.

Every view but the portfolios' (a `StreamView`, which a rebuild folds by itself) is folded here event by
event in the order the projectors run: the objectives, candidates, assessments, decisions, scenarios,
projects (with their lessons and realisations counted), lessons, programmes and who is in them, benefit
measurements, dependencies, RAID items and motions. The rows come from the same builders the projectors
write with; only the reads of the rows written before are dicts instead of SELECTs. A rebuild of 2,175
events was about 5,000 statements. `tests/test_rebuild.py` compares every row of every view after a
rebuild with the rows the commands and the intake subscription wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BenefitRealised,
    CandidateRegistered,
    CandidateScored,
    CandidateWithdrawn,
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    DependencyWithdrawn,
    InvestmentDecided,
    LessonRecorded,
    ProjectJoinedProgramme,
    ScenarioSaved,
)
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime.projection import InlineViews
from pmo_events.runtime.unit_of_work import InlineProjector
from pmo_events.runtime.views import insert_rows
from pmo_portfolio.candidates import views as candidate_views
from pmo_portfolio.candidates.domain.assessments import Assessment
from pmo_portfolio.delivery import views as delivery_views
from pmo_portfolio.delivery.domain import project as project_rules
from pmo_portfolio.dependencies import domain as dependency_rules
from pmo_portfolio.dependencies import views as dependency_views
from pmo_portfolio.governance import views as governance_views
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives import views as objective_views
from pmo_portfolio.programmes import domain as programme_rules
from pmo_portfolio.programmes import views as programme_views
from pmo_portfolio.raid import domain as raid_rules
from pmo_portfolio.raid import views as raid_views
from pmo_portfolio.scenarios import views as scenario_views
from pmo_portfolio.shared.projecting import projects

_CANDIDATE_EVENTS = (CandidateRegistered, InvestmentDecided, CandidateWithdrawn)


class _Kind(NamedTuple):
    """What `PortfolioReplay.fold` does with an event of one type: the `isinstance` tests it made per event,
    made once per concrete type (each ABC `isinstance` that misses costs about a microsecond)."""

    candidate: bool
    scored: bool
    decided: bool
    scenario: bool
    lesson: bool
    realised: bool
    joined: bool


_KINDS: dict[type[Event], _Kind] = {}


def _kind_of(cls: type[Event]) -> _Kind:
    kind = _KINDS[cls] = _Kind(
        candidate=issubclass(cls, _CANDIDATE_EVENTS),
        scored=issubclass(cls, CandidateScored),
        decided=issubclass(cls, InvestmentDecided),
        scenario=issubclass(cls, ScenarioSaved),
        lesson=issubclass(cls, LessonRecorded),
        realised=issubclass(cls, BenefitRealised),
        joined=issubclass(cls, ProjectJoinedProgramme),
    )
    return kind


class _StreamRows:
    """One row per stream of a type, as `update_objectives`, `update_projects`, `update_programmes` or
    `update_raid_items` leave it: the state folded from the stream's events, the columns after its last."""

    def __init__(
        self,
        table: Table,
        key: str,
        initial: Callable[[str], Any],
        evolve: Callable[[Any, Event], Any],
        columns: Callable[[Any, RecordedEvent], dict[str, Any]],
    ) -> None:
        self.table, self.key = table, key
        self.initial, self.evolve, self.columns = initial, evolve, columns
        self.states: dict[str, BaseModel] = {}
        #: Each stream's state after its last event and that event: its columns, made once when written (the
        #: state held then, not a lesson's or a realisation's count folded in after it, as the projector's row).
        self.last: dict[str, tuple[BaseModel, RecordedEvent]] = {}

    def fold(self, event: RecordedEvent, decoded: Event) -> None:
        stream = event.stream_id
        state = self.states[stream] if stream in self.states else self.initial(stream)
        state = self.states[stream] = self.evolve(state, decoded)
        self.last[stream] = (state, event)

    def written(self) -> list[dict[str, Any]]:
        states, key, columns = self.states, self.key, self.columns
        return [
            {key: stream, **columns(state, event), "state": states[stream].model_dump_json()}
            for stream, (state, event) in self.last.items()
        ]


class PortfolioReplay:
    """Portfolio's views (but the portfolios') as its projectors would leave them after the same events."""

    def __init__(self) -> None:
        self.objectives = _StreamRows(
            objective_views.objectives,
            "objective_id",
            objective_rules.initial,
            objective_rules.evolve,
            objective_views.objective_columns,
        )
        self.projects = _StreamRows(
            delivery_views.projects,
            "project_id",
            project_rules.initial,
            project_rules.evolve_owned,  # the fold holds the only reference to each project's state
            delivery_views.project_columns,
        )
        self.programmes = _StreamRows(
            programme_views.programmes,
            "programme_id",
            programme_rules.initial,
            programme_rules.evolve,
            programme_views.programme_columns,
        )
        self.raid_items = _StreamRows(
            raid_views.raid_items, "raid_item_id", raid_rules.initial, raid_rules.evolve, raid_views.raid_columns
        )
        self.candidates: dict[str, dict[str, Any]] = {}
        #: (candidate, assessor) → the latest assessment and its row.
        self.assessments: dict[tuple[str, str], tuple[Assessment, dict[str, Any]]] = {}
        self.decisions: list[dict[str, Any]] = []
        self.scenarios: list[dict[str, Any]] = []
        self.lessons: dict[str, LessonRecorded] = {}
        self.joined: dict[str, str] = {}
        self.measurements: list[dict[str, Any]] = []
        self.dependencies: dict[str, dict[str, Any]] = {}
        self.motions = governance_views.motion_rows.replay()

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        kinds = _KINDS
        for event in events:
            decoded = event.decode()
            kind = kinds.get(type(decoded)) or _kind_of(type(decoded))
            stream_type = event.stream_type
            if stream_type == "objective":
                self.objectives.fold(event, decoded)
            if kind.decided:
                # The decision's JSON made once, for the decision log's payload and the candidate's decision.
                decision = candidate_views.decision_row(cast(InvestmentDecided, decoded), event)
                self.decisions.append(decision)
                candidate_views.fold_candidate(event, decoded, self.candidates, {}, decision["payload"])
            elif kind.candidate:
                # Changes to a candidate with no row change nothing, as the UPDATE they are live.
                candidate_views.fold_candidate(event, decoded, self.candidates, {})
            elif kind.scored:
                self._scored(cast(CandidateScored, decoded))
            elif kind.scenario:
                self.scenarios.append(scenario_views.scenario_row(cast(ScenarioSaved, decoded), event))
            elif kind.lesson:
                lesson = cast(LessonRecorded, decoded)
                self._counted(lesson)
                self.lessons.pop(lesson.lesson_id, None)
                self.lessons[lesson.lesson_id] = lesson
            elif kind.realised:
                realised = cast(BenefitRealised, decoded)
                self._counted(realised)
                self.measurements.append(programme_views.measurement_row(realised, event))
            if stream_type == "project":
                self.projects.fold(event, decoded)
            elif stream_type == "programme":
                self.programmes.fold(event, decoded)
                if kind.joined:
                    joined = cast(ProjectJoinedProgramme, decoded)
                    if joined.project_id in self.joined:  # as the view's primary key refuses it
                        raise ValueError(f"project {joined.project_id} joined a second programme")
                    self.joined[joined.project_id] = joined.programme_id
            elif stream_type == "dependency_graph":
                self._dependency(event, decoded)
            elif stream_type == "raid_item":
                self.raid_items.fold(event, decoded)
            elif stream_type == "motion":
                self.motions.fold((event,))

    def _scored(self, scored: CandidateScored) -> None:
        """`update_assessments` on the rows in memory."""
        key = (scored.candidate_id, scored.assessor)
        current = self.assessments.get(key)
        candidate = self.candidates.get(scored.candidate_id)
        submission = candidate["submission"] if candidate is not None else None
        assessment = candidate_views.assessed(scored, submission, current[0] if current else None)
        if assessment is not None:
            row = {"candidate_id": scored.candidate_id, "assessor": scored.assessor}
            self.assessments[key] = (assessment, row | candidate_views.assessment_columns(scored, assessment))

    def _counted(self, fact: LessonRecorded | BenefitRealised) -> None:
        """`update_projects` counting a lesson or a realisation of a project that has its row."""
        states = self.projects.states
        if fact.project_id in states:
            states[fact.project_id] = delivery_views.counted_in(states[fact.project_id], fact)  # type: ignore[arg-type]

    def _dependency(self, event: RecordedEvent, decoded: Event) -> None:
        """`update_dependencies` on the rows in memory."""
        if isinstance(decoded, DependencyRegistered):
            if decoded.dependency_id in self.dependencies:  # as the view's primary key refuses it
                raise ValueError(f"dependency {decoded.dependency_id} registered twice")
            self.dependencies[decoded.dependency_id] = dependency_views.registered_row(decoded, event)
        elif isinstance(decoded, DependencyWithdrawn):
            self.dependencies.pop(decoded.dependency_id, None)
        elif isinstance(decoded, DependencyAtRisk | DependencyRiskCleared):
            row = self.dependencies.get(decoded.dependency_id)
            if row is not None:
                held = dependency_rules.Dependency.model_validate(loads(row["state"]))
                changed = dependency_views.risk_changed(held, decoded, event)
                row.update(
                    at_risk=changed.at_risk,
                    state=changed.model_dump_json(),
                    updated_at=event.time,
                )

    async def write(self, session: AsyncSession) -> None:
        await insert_rows(session, objective_views.objectives, self.objectives.written())
        await insert_rows(session, candidate_views.candidates, list(self.candidates.values()))
        await insert_rows(session, candidate_views.assessments, [row for _, row in self.assessments.values()])
        await insert_rows(session, candidate_views.decisions, self.decisions)
        await insert_rows(session, scenario_views.scenarios, self.scenarios)
        await insert_rows(session, delivery_views.projects, self.projects.written())
        for lesson in self.lessons.values():
            await delivery_views.lessons.learn(session, lesson)
        await insert_rows(session, programme_views.programmes, self.programmes.written())
        joined = [{"project_id": p, "programme_id": g} for p, g in self.joined.items()]
        await insert_rows(session, programme_views.programme_projects, joined)
        await insert_rows(session, programme_views.benefit_measurements, self.measurements)
        await insert_rows(session, dependency_views.dependencies, list(self.dependencies.values()))
        await insert_rows(session, raid_views.raid_items, self.raid_items.written())
        await self.motions.write(session)


@dataclass(frozen=True)
class PollViews(InlineViews):
    """`InlineViews` that a poll's unit of work runs projector by projector over all its events, each with
    its own `many` where it has one, as it ran them when they were listed one by one."""

    async def __call__(self, session: AsyncSession, event: RecordedEvent) -> None:
        for project in self.projectors:
            if projects(project, event):
                await project(session, event)

    async def many(self, session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        """Each projector on the events it declares (`projects_on`), in order: not called on the others, where
        it would return at once (a poll of registrations: eleven calls per event, for nothing)."""
        for project in self.projectors:
            many = getattr(project, "many", None)
            if many is not None:
                await many(session, events)
                continue
            for event in [event for event in events if projects(project, event)]:
                await project(session, event)


def _listed(*modules: Any) -> tuple[InlineProjector, ...]:
    return tuple(projector for module in modules for projector in module.PROJECTORS)


#: Every concept's views module but funding's (the portfolios view, folded from the aggregate's own state), in
#: the order the service lists them; `bootstrap.VIEWS` adds funding's to these, so a new view is listed once.
CONCEPT_VIEWS = (
    objective_views,
    candidate_views,
    scenario_views,
    delivery_views,
    programme_views,
    dependency_views,
    raid_views,
    governance_views,
)

#: Portfolio's views besides the portfolios': each command runs the projectors one by one; a rebuild folds them
#: in memory (`PortfolioReplay`).
# A status report's row goes with its event in one statement (`reports_rows`, `guard_report_row`).
PORTFOLIO_VIEWS = PollViews(_listed(*CONCEPT_VIEWS), replay=PortfolioReplay, upserts=delivery_views.reports_rows)

"""Test support: a small PMO history as recorded events, built from the published contracts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from pmo_events.contracts import Event, intake, portfolio, resourcing
from pmo_events.contracts.common import (
    Benefit,
    BusinessCase,
    ObjectiveContribution,
    OfferedLesson,
    PeriodAmount,
    Timeline,
)
from pmo_events.contracts.portfolio.candidates import DecisionEvidence
from pmo_events.contracts.portfolio.funding import PeriodEnvelope
from pmo_events.envelope import RecordedEvent

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class History:
    """Builds recorded events with increasing times and per-stream sequence numbers."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.events: list[RecordedEvent] = []
        self._sequences: dict[tuple[str, str], int] = {}

    def at(self, days: float) -> Self:
        self.now = T0 + timedelta(days=days)
        return self

    def add(self, event: Event, stream_id: str, *, actor: str = "tester") -> RecordedEvent:
        source = f"/pmo/{event.service}"
        sequence = self._next((source, stream_id))
        recorded = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=event.type_name(),
            source=source,
            stream_id=stream_id,
            sequence=sequence,
            time=self.now,
            data=event.model_dump(mode="json"),
            actor=actor,
        )
        self.events.append(recorded)
        return recorded

    def _next(self, stream: tuple[str, str]) -> int:
        """Sequences count per (source, stream): the subscription dedupes and orders on exactly that."""
        self._sequences[stream] = self._sequences.get(stream, 0) + 1
        return self._sequences[stream]

    def unknown(self, stream_id: str) -> RecordedEvent:
        """A type from a newer producer that this build does not know."""
        sequence = self._next(("/pmo/portfolio", stream_id))
        recorded = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type="pmo.portfolio.SomethingNew.v1",
            source="/pmo/portfolio",
            stream_id=stream_id,
            sequence=sequence,
            time=self.now,
            data={"project_id": stream_id, "note": "from the future"},
        )
        self.events.append(recorded)
        return recorded

    # The PMO's facts, in the words of the contracts.

    def portfolio(self, portfolio_id: str, budget: dict[str, str], *, currency: str = "EUR") -> None:
        self.add(
            portfolio.PortfolioCreated(
                portfolio_id=portfolio_id,
                name=f"Portfolio {portfolio_id}",
                currency=currency,
                owner="olga",
                budget=tuple(PeriodAmount(fiscal_period=p, amount=Decimal(a)) for p, a in budget.items()),
                board_members=("bob",),
                created_by="olga",
            ),
            portfolio_id,
        )

    def objective(self, objective_id: str, title: str = "Grow") -> None:
        self.add(
            portfolio.ObjectiveCreated(
                objective_id=objective_id,
                title=title,
                weight=Decimal("1"),
                period_start=date(2026, 1, 1),
                period_end=date(2027, 12, 31),
                created_by="ana",
            ),
            objective_id,
        )

    def submitted(self, proposal_id: str, portfolio_id: str, *, objective: str = "o-1", cost: str = "100000") -> None:
        content = _content(proposal_id, portfolio_id, objective, cost)
        self.add(intake.ProposalDrafted(requester="alice", **content), proposal_id)
        self.add(
            intake.ProposalSubmitted(requester="alice", submission=1, submitted_at=self.now, **content), proposal_id
        )

    def registered(self, proposal_id: str, portfolio_id: str, *, objective: str = "o-1", cost: str = "100000") -> None:
        content = _content(proposal_id, portfolio_id, objective, cost)
        self.add(
            portfolio.CandidateRegistered(
                candidate_id=proposal_id,
                proposal_id=proposal_id,
                submission=1,
                requester="alice",
                title=content["title"],
                sponsor=content["sponsor"],
                portfolio_id=portfolio_id,
                costs=content["business_case"].costs,
                benefits=content["business_case"].benefits,
                objective_contributions=content["objective_contributions"],
                timeline=content["timeline"],
            ),
            portfolio_id,
        )

    def decided(self, proposal_id: str, portfolio_id: str, outcome: str, *, budget: str = "100000") -> str:
        decision_id = str(uuid.uuid4())
        approved = (PeriodAmount(fiscal_period="FY2026", amount=Decimal(budget)),) if outcome == "approve" else ()
        self.add(
            portfolio.InvestmentDecided(
                decision_id=decision_id,
                portfolio_id=portfolio_id,
                candidate_id=proposal_id,
                proposal_id=proposal_id,
                outcome=outcome,  # type: ignore[arg-type]
                rationale=f"board says {outcome}",
                decided_by="bob",
                decided_at=self.now,
                approved_budget=approved,
                evidence=DecisionEvidence(
                    remaining_envelope=(
                        PeriodEnvelope(
                            fiscal_period="FY2026",
                            envelope=Decimal(500000),
                            committed=Decimal(0),
                            remaining=Decimal(500000),
                        ),
                    )
                ),
            ),
            portfolio_id,
            actor="bob",
        )
        return decision_id

    def initiated(self, project_id: str, portfolio_id: str, *, budget: str = "100000") -> None:
        self.add(
            portfolio.ProjectInitiated(
                project_id=project_id,
                portfolio_id=portfolio_id,
                proposal_id=project_id,
                title=f"Project {project_id}",
                baseline_budget=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(budget)),),
                timeline=Timeline(start=date(2026, 2, 1), end=date(2026, 12, 31)),
                benefits=_content(project_id, portfolio_id, "o-1", budget)["business_case"].benefits,
                initiated_by="bob",
            ),
            project_id,
        )

    def demand(self, project_id: str, role: str, fte: str, start: date, end: date) -> None:
        self.add(
            resourcing.DemandRaised(
                demand_id=str(uuid.uuid4()), project_id=project_id, role=role, fte=Decimal(fte), start=start, end=end
            ),
            f"demand-{project_id}-{role}",
        )

    def lesson(self, project_id: str, portfolio_id: str, lesson_id: str, title: str) -> None:
        self.add(
            portfolio.LessonRecorded(
                project_id=project_id, portfolio_id=portfolio_id, lesson_id=lesson_id, title=title,
                description="what we learnt", category="delivery", tags=("pilot",), recorded_by="pam",
                recorded_at=self.now,
            ),
            project_id,
        )  # fmt: skip

    def offered(
        self, subject_id: str, portfolio_id: str, occasion: str, *lesson_ids: str, project: bool = False
    ) -> None:
        """Lessons offered to a proposal's team (intake) or, with `project`, to a project's team at a gate."""
        lessons = tuple(OfferedLesson(lesson_id=i, relevance=Decimal("0.50"), reason=f"like {i}") for i in lesson_ids)
        feedback: dict[str, Any] = {"portfolio_id": portfolio_id, "feedback_id": str(uuid.uuid4()),
                                    "lessons": lessons, "occasion": occasion, "offered_at": self.now}  # fmt: skip
        if project:
            self.add(portfolio.ProjectLessonsOffered(project_id=subject_id, **feedback),
                     f"lessons-{subject_id}")  # fmt: skip
        else:
            self.add(intake.LessonsOffered(proposal_id=subject_id, **feedback),
                     f"lessons-{subject_id}")  # fmt: skip

    def acknowledged(
        self, subject_id: str, portfolio_id: str, lesson_id: str, applies: bool, *, project: bool = False
    ) -> None:
        feedback: dict[str, Any] = {"portfolio_id": portfolio_id, "feedback_id": str(uuid.uuid4()),
                                    "lesson_id": lesson_id, "applies": applies, "note": "read it",
                                    "acknowledged_by": "rita", "acknowledged_at": self.now}  # fmt: skip
        if project:
            self.add(portfolio.ProjectLessonAcknowledged(project_id=subject_id, **feedback), f"lessons-{subject_id}")
        else:
            self.add(intake.LessonAcknowledged(proposal_id=subject_id, **feedback), f"lessons-{subject_id}")


def with_lessons(h: History) -> History:
    """Project p-1 records two lessons; proposal p-4 is offered both when drafted and l-1 again when submitted,
    and says l-1 applies; project p-9 is offered l-2 at its plan gate and says it does not apply."""
    h.at(60).lesson("p-1", "pf-1", "l-1", "Pilot first")
    h.lesson("p-1", "pf-1", "l-2", "Freeze scope")
    h.at(61).offered("p-4", "pf-1", "drafted", "l-1", "l-2")
    h.at(62).offered("p-4", "pf-1", "submitted", "l-1")
    h.at(63).acknowledged("p-4", "pf-1", "l-1", True)
    h.at(64).offered("p-9", "pf-1", "plan", "l-2", project=True)
    h.at(65).acknowledged("p-9", "pf-1", "l-2", False, project=True)
    return h


def _content(proposal_id: str, portfolio_id: str, objective: str, cost: str) -> dict:
    return {
        "proposal_id": proposal_id,
        "portfolio_id": portfolio_id,
        "title": f"Initiative {proposal_id}",
        "summary": "why",
        "sponsor": "sam",
        "objective_contributions": (ObjectiveContribution(objective_id=objective, contribution=3),),
        "business_case": BusinessCase(
            currency="EUR",
            costs=(PeriodAmount(fiscal_period="FY2026", amount=Decimal(cost)),),
            benefits=(
                Benefit(benefit_id="b1", description="savings", kind="financial", value_amount=Decimal("50000")),
                Benefit(benefit_id="b2", description="happier staff", kind="non_financial"),
            ),
        ),
        "timeline": Timeline(start=date(2026, 2, 1), end=date(2026, 12, 31)),
    }


def standard_history(currency: str = "EUR") -> History:
    """Two objectives, one portfolio, four proposals: approved (with project), rejected, deferred, pending."""
    h = History()
    h.portfolio("pf-1", {"FY2026": "500000", "FY2027": "300000"}, currency=currency)
    h.objective("o-1", "Grow revenue")
    h.objective("o-2", "Cut cost")
    for n, proposal in enumerate(("p-1", "p-2", "p-3", "p-4")):
        h.at(1 + n).submitted(proposal, "pf-1")
        h.registered(proposal, "pf-1")
    h.at(6).decided("p-1", "pf-1", "approve", budget="120000")
    h.initiated("p-1", "pf-1", budget="120000")
    h.demand("p-1", "developer", "2", date(2026, 2, 1), date(2026, 3, 31))
    h.at(12).decided("p-2", "pf-1", "reject")
    h.at(23).decided("p-3", "pf-1", "defer")
    return h


class Staffing(History):
    """Resources and bookings, in the resourcing service's words."""

    def resource(self, resource_id: str, role: str, fte: str = "1") -> None:
        self.add(
            resourcing.ResourceRegistered(
                resource_id=resource_id,
                name=resource_id,
                kind="person",
                role=role,
                fte=Decimal(fte),
                registered_by="rm",
            ),
            resource_id,
        )

    def time_off(self, resource_id: str, start: date, end: date) -> None:
        self.add(
            resourcing.TimeOffRecorded(
                resource_id=resource_id,
                time_off_id=str(uuid.uuid4()),
                start=start,
                end=end,
                reason="leave",
                recorded_by="rm",
            ),
            resource_id,
        )

    def booked(self, allocation_id: str, resource_id: str, fte: str, start: date, end: date, status: str) -> None:
        self.add(
            resourcing.AllocationBooked(
                allocation_id=allocation_id,
                resource_id=resource_id,
                project_id="p-1",
                role="developer",
                start=start,
                end=end,
                fte=Decimal(fte),
                status=status,  # type: ignore[arg-type]
                booked_by="rm",
            ),
            resource_id,
        )

    def confirmed(self, allocation_id: str, resource_id: str) -> None:
        self.add(
            resourcing.AllocationConfirmed(
                allocation_id=allocation_id, resource_id=resource_id, project_id="p-1", confirmed_by="rm"
            ),
            resource_id,
        )

    def released(self, allocation_id: str, resource_id: str) -> None:
        self.add(
            resourcing.AllocationReleased(
                allocation_id=allocation_id, resource_id=resource_id, project_id="p-1", released_by="rm"
            ),
            resource_id,
        )

    def overallocated(self, resource_id: str, week: str) -> None:
        load = resourcing.WeekLoad(week=week, capacity=Decimal(1), load=Decimal("1.5"), excess=Decimal("0.5"))
        self.add(
            resourcing.ResourceOverallocated(
                resource_id=resource_id,
                cause="booking",
                project_id="p-1",
                weeks=(load,),
                reason="go-live",
                accepted_by="rm",
            ),
            resource_id,
        )


def _report(
    h: History, project_id: str, portfolio_id: str, period_end: date, cost: str, overall: str, **more: Any
) -> str:
    report_id = str(uuid.uuid4())
    rag = portfolio.RagRating(schedule=overall, cost="green", scope="green", overall=overall)  # type: ignore[arg-type]
    h.add(
        portfolio.StatusReported(
            project_id=project_id, portfolio_id=portfolio_id, report_id=report_id, period_end=period_end,
            percent_complete=Decimal(40), actual_cost=Decimal(cost), bac=Decimal(100000), earned_value=Decimal(40000),
            spi="1.0", cpi="1.0", rag=rag, derived_rag=rag, rag_source="derived", summary="s", reported_by="pam",
            reported_at=h.now, **more,
        ),
        project_id,
    )  # fmt: skip
    return report_id


def varied_history() -> History:
    """Two portfolios with every state the summary counts: proposals approved (with a project and without),
    rejected, deferred, submitted, under review and withdrawn; reports green, amber and red, corrected and
    withdrawn; approved and rejected budget changes; a closed project with its final cost; a cancelled one with
    a benefit measured and others forgone; a defeated motion; amounts with cents in several periods."""
    h = standard_history()
    h.portfolio("pf-2", {"FY2026": "250000.55", "FY2028": "90000"})
    h.objective("o-3", "Keep customers")
    for n, (proposal, pf) in enumerate((("p-5", "pf-1"), ("p-6", "pf-1"), ("p-7", "pf-1"), ("p-8", "pf-1"),
                                         ("q-1", "pf-2"), ("q-2", "pf-2"), ("q-3", "pf-2"))):  # fmt: skip
        h.at(30 + n).submitted(proposal, pf, objective="o-3" if n % 2 else "o-1", cost=f"{70000 + n * 1234}.25")
        h.registered(proposal, pf, objective="o-3" if n % 2 else "o-1", cost=f"{70000 + n * 1234}.25")
    h.at(40).decided("p-5", "pf-1", "approve", budget="80000.10")
    h.initiated("p-5", "pf-1", budget="80000.10")
    h.decided("p-6", "pf-1", "approve", budget="33333.33")  # approved, its project not there yet
    h.add(portfolio.CandidateScored(portfolio_id="pf-1", candidate_id="p-7", assessor="ann",
                                    scores={"value": 4}, scored_at=h.now), "pf-1")  # fmt: skip
    h.add(intake.ProposalWithdrawn(proposal_id="p-8", portfolio_id="pf-1", withdrawn_by="alice", reason="x"), "p-8")
    vote = portfolio.Vote(voter="carol", vote="against", rationale="too early", cast_at=h.now)
    h.add(portfolio.MotionDefeated(motion_id="m-1", portfolio_id="pf-1", kind="investment", subject_id="p-4",
                                   outcome="approve", tally=portfolio.Tally(votes_for=0, votes_against=1),
                                   votes=(vote,), defeated_at=h.now), "m-1")  # fmt: skip
    h.decided("q-1", "pf-2", "approve", budget="150000.45")
    h.initiated("q-1", "pf-2", budget="150000.45")
    h.decided("q-2", "pf-2", "reject")
    h.decided("q-3", "pf-2", "approve", budget="12000")
    h.initiated("q-3", "pf-2", budget="12000")
    h.at(45)
    first = _report(h, "p-1", "pf-1", date(2026, 5, 31), "20000.50", "green")
    _report(h, "p-1", "pf-1", date(2026, 4, 30), "21000.75", "amber", correction_of=first)  # a later period's
    wrong = _report(h, "p-1", "pf-1", date(2026, 6, 30), "99999", "red")
    h.add(portfolio.StatusReportWithdrawn(project_id="p-1", portfolio_id="pf-1", report_id=wrong, reason="error",
                                          withdrawn_by="pam", withdrawn_at=h.now), "p-1")  # fmt: skip
    _report(h, "p-5", "pf-1", date(2026, 6, 30), "15000", "red")
    _report(h, "q-1", "pf-2", date(2027, 2, 28), "70000.01", "amber")
    for project_id, pf, outcome, amount in (("p-1", "pf-1", "approve", "-3333.33"), ("p-5", "pf-1", "reject", "999"),
                                            ("q-1", "pf-2", "approve", "4000.40")):  # fmt: skip
        h.add(
            portfolio.ChangeRequestDecided(
                project_id=project_id, portfolio_id=pf, change_request_id=str(uuid.uuid4()), kind="budget",
                outcome=outcome, budget_delta=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(amount)),),  # type: ignore[arg-type]
                rationale="r", decided_by="bob", decided_at=h.now,
            ),
            project_id,
        )  # fmt: skip
    h.at(60).add(
        portfolio.BenefitRealised(
            project_id="p-5", portfolio_id="pf-1", benefit_id="b1", measured_value="1000", unit="EUR",
            measured_on=date(2026, 3, 1), recorded_by="pam", recorded_at=h.now, realisation_id="r-1",
        ),
        "r-1",
    )  # fmt: skip
    h.at(61).add(portfolio.ProjectCancelled(project_id="p-5", portfolio_id="pf-1", reason="no longer needed"), "p-5")
    h.at(62).add(portfolio.ProjectClosed(project_id="q-3", portfolio_id="pf-2", final_cost=Decimal("11500.99"),
                                         effective_on=date(2027, 3, 31)), "q-3")  # fmt: skip
    return h

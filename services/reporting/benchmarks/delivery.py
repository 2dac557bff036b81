"""The generated history with delivery recorded as the product records it (`Scale(delivery=True)`).

Every intake and project event comes out of the services' own decide functions, folded into their own
states as the command handlers do, so each is an event the product itself would accept:
- intake: `draft`, zero to two `edit`s, `submit` (checked for completeness), the board's first score
  mirrored by `start_review` and its decision by `record_decision`; a proposal sent back for changes is
  edited again;
- portfolio: the candidate pipeline as in `history.py`, then `initiate` on approval, `decide_gate` for the
  plan and execute gates, a monthly `report_status` (earned value from the budget in force, RAG derived
  from the portfolio's tolerances, some manual RAG with a justification, some same-period corrections),
  RAID items raised (`raise_item`), reassessed and closed, and `close` once the project is done.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from history import (
    OUTCOMES,
    SPAN_DAYS,
    START,
    Planned,
    Scale,
    _governance,
    _resources,
    portfolio_created,
)

from pmo_events.contracts import Event, portfolio, resourcing
from pmo_events.contracts.common import Benefit, BusinessCase, ObjectiveContribution, PeriodAmount, Timeline
from pmo_events.contracts.portfolio.governance import DelegatedAuthority
from pmo_intake.domain import lifecycle as intake
from pmo_intake.domain import proposal as intake_state
from pmo_intake.domain.completeness import ObjectiveFacts, PortfolioFacts, SubmissionContext
from pmo_portfolio.delivery.domain import project as project_state
from pmo_portfolio.delivery.domain.change_requests import RequestChange, decide_change, request_change
from pmo_portfolio.delivery.domain.gates import decide_gate
from pmo_portfolio.delivery.domain.lifecycle import Act, close
from pmo_portfolio.delivery.domain.status_reports import ReportStatus, report_status
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.funding.domain.portfolio import evolve as portfolio_evolve
from pmo_portfolio.funding.domain.portfolio import initial as portfolio_initial
from pmo_portfolio.governance.domain.charter import CharterTerms, initial_charter
from pmo_portfolio.raid import domain as raid

REQUESTER = intake.Actor("alice")
OBJECTIVES = 20
FISCAL = frozenset({"FY2024", "FY2025", "FY2026"})
#: The board of every portfolio: bob chairs, carol sits; pat, the portfolio manager, decides changes below
#: 1,000,000 alone.
TERMS = CharterTerms(
    members=("bob", "carol"),
    chair="bob",
    quorum=2,
    rule="simple_majority",
    delegated_authority=DelegatedAuthority(portfolio_manager="pat", up_to=Decimal(1_000_000)),
)


def generate_delivered(scale: Scale) -> list[Planned]:
    """The plan of every event, in time order (`history._number` numbers them)."""
    rng = random.Random(scale.seed)
    planned = [*_governance(scale, rng)]
    boards = {}
    for p in range(scale.portfolios):
        board = portfolio_evolve(portfolio_initial(f"pf-{p}"), portfolio_created(p))
        charter = initial_charter(TERMS, board.portfolio_id, "olga", START)
        boards[board.portfolio_id] = portfolio_evolve(board, charter)
        planned.append(Planned(START, board.portfolio_id, charter))
    approved = set(rng.sample(range(scale.proposals), min(scale.projects, scale.proposals)))
    for n in range(scale.proposals):
        planned.extend(_proposal(n, n in approved, scale, rng, boards))
    planned.extend(_resources(scale, rng))
    planned.sort(key=lambda p: p.at)
    return planned


class _Proposal:
    """One proposal's intake stream: each event decided on the state folded so far."""

    def __init__(self, proposal_id: str) -> None:
        self.id = proposal_id
        self.state = intake_state.initial(proposal_id)

    def record(self, at: datetime, events: list[Event]) -> Iterator[Planned]:
        for event in events:
            self.state = intake_state.evolve(self.state, event)
            yield Planned(at, self.id, event)


def _case(cost: Decimal, year: int) -> BusinessCase:
    return BusinessCase(
        currency="EUR",
        costs=(PeriodAmount(fiscal_period=f"FY{year}", amount=cost),),
        benefits=(Benefit(benefit_id="b1", description="savings", kind="financial", value_amount=cost * 2),),
    )


def _edits(rng: random.Random, cost: Decimal, year: int, count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        if rng.random() < 0.5:
            yield {"summary": f"why it matters, revision {i + 2}"}
        else:
            yield {"business_case": _case(cost + Decimal(rng.randint(1, 40) * 1000), year)}


def _proposal(
    n: int, approved: bool, scale: Scale, rng: random.Random, boards: dict[str, Portfolio]
) -> Iterator[Planned]:
    pid, portfolio_id = f"prop-{n}", f"pf-{n % scale.portfolios}"
    drafted = START + timedelta(days=rng.uniform(1, SPAN_DAYS - 200))
    submitted = drafted + timedelta(days=rng.uniform(1, 20))
    cost = Decimal(rng.randint(50, 900) * 1000)
    start = submitted.date() + timedelta(days=60)
    objective = f"o-{rng.randrange(OBJECTIVES)}"
    stream = _Proposal(pid)
    yield from stream.record(
        drafted,
        intake.draft(
            intake.DraftProposal(
                proposal_id=pid,
                requester="alice",
                title=f"Initiative {n}",
                portfolio_id=portfolio_id,
                summary="why it matters",
                sponsor="sam",
                objective_contributions=(ObjectiveContribution(objective_id=objective, contribution=3),),
                business_case=_case(cost, start.year),
                timeline=Timeline(start=start, end=start + timedelta(days=365)),
            )
        ),
    )
    edits = rng.choice((0, 0, 1, 1, 2))
    for i, changes in enumerate(_edits(rng, cost, start.year, edits)):
        at = drafted + (submitted - drafted) * (i + 1) / (edits + 1)
        yield from stream.record(at, intake.edit(stream.state, changes, actor=REQUESTER))
    context = SubmissionContext(
        portfolio=PortfolioFacts(portfolio_id=portfolio_id, fiscal_periods=FISCAL, currency="EUR"),
        objectives={objective: ObjectiveFacts(objective_id=objective, title=f"Objective {objective[2:]}")},
    )
    yield from stream.record(submitted, intake.submit(stream.state, context, actor=REQUESTER, now=submitted))
    content = stream.state
    candidate = portfolio.CandidateRegistered(
        portfolio_id=portfolio_id,
        candidate_id=pid,
        proposal_id=pid,
        submission=content.submission,
        title=content.title,
        requester="alice",
        costs=content.business_case.costs,
        benefits=content.business_case.benefits,
        objective_contributions=content.objective_contributions,
        timeline=content.timeline,
    )
    yield Planned(submitted + timedelta(minutes=1), portfolio_id, candidate)
    for assessor in ("bob", "carol"):
        at = submitted + timedelta(days=rng.uniform(1, 10))
        scored = portfolio.CandidateScored(
            portfolio_id=portfolio_id,
            candidate_id=pid,
            assessor=assessor,
            scores={"value": rng.randint(1, 5), "risk": rng.randint(1, 5)},
            scored_at=at,
        )
        yield Planned(at, portfolio_id, scored)
        review = intake.start_review(
            stream.state, assessor=assessor, scored_at=at, scoring_event_id=str(uuid.UUID(int=rng.getrandbits(128)))
        )
        yield from stream.record(at + timedelta(seconds=1), review)
    outcome = "approve" if approved else rng.choice(OUTCOMES[1:])
    decided = submitted + timedelta(days=rng.uniform(12, 60))
    decision = portfolio.InvestmentDecided(
        decision_id=str(uuid.UUID(int=rng.getrandbits(128))),
        portfolio_id=portfolio_id,
        candidate_id=pid,
        proposal_id=pid,
        outcome=outcome,
        rationale="as discussed",
        decided_by="bob",
        decided_at=decided,
        approved_budget=candidate.costs if approved else (),
    )
    yield Planned(decided, portfolio_id, decision)
    mirrored = intake.BoardDecision(
        outcome=outcome,
        rationale="as discussed",
        decided_by="bob",
        decided_at=decided,
        decision_event_id=str(uuid.UUID(int=rng.getrandbits(128))),
    )
    yield from stream.record(decided + timedelta(seconds=1), intake.record_decision(stream.state, mirrored))
    if outcome == "request_changes":
        changes = next(_edits(rng, cost, start.year, 1))
        yield from stream.record(decided + timedelta(days=3), intake.edit(stream.state, changes, actor=REQUESTER))
    if approved:
        yield from _project(pid, boards[portfolio_id], decision, candidate, scale, rng)


class _Project:
    def __init__(self, project_id: str) -> None:
        self.id = project_id
        self.state = project_state.initial(project_id)

    def record(self, at: datetime, events: list[Event]) -> Iterator[Planned]:
        for event in events:
            self.state = project_state.evolve(self.state, event)
            yield Planned(at, self.id, event)


def _raid(
    project: _Project, board: Portfolio, opened: datetime, months: int, rng: random.Random, n: int
) -> tuple[str, list[Planned]]:
    """One RAID item of the project: raised, sometimes reassessed, closed a few months later."""
    item_id = f"{project.id}-raid-{n}"
    kind = rng.choice(("risk", "risk", "issue", "assumption"))
    ladder = raid.Ladder(portfolio_id=board.portfolio_id, programme_of_project=None, tolerances={})
    command = raid.RaiseItem(
        raid_item_id=item_id,
        kind=kind,
        level="project",
        level_id=project.id,
        title=f"{kind} {n} of {project.id}",
        owner="pm",
        raised_by="pm",
        raised_at=opened,
        probability=rng.randint(1, 5) if kind == "risk" else None,
        impact=rng.randint(1, 5) if kind == "risk" else None,
        priority="medium" if kind == "issue" else None,
    )
    out, item = [], raid.initial(item_id)

    def keep(at: datetime, events: list[Event]) -> None:
        nonlocal item
        for event in events:
            item = raid.evolve(item, event)
            out.append(Planned(at, item_id, event))

    keep(opened, raid.raise_item(board.portfolio_id, command, ladder))
    if kind == "risk" and rng.random() < 0.5:
        at = opened + timedelta(days=30)
        keep(at, raid.assess(item, rng.randint(1, 5), rng.randint(1, 5), "reassessed", "pm", at, ladder))
    closed = opened + timedelta(days=30 * rng.randint(2, max(2, months)))
    keep(closed, raid.close(item, "resolved", "pm", closed))
    return item_id, out


def _project(
    pid: str,
    board: Portfolio,
    decision: portfolio.InvestmentDecided,
    candidate: portfolio.CandidateRegistered,
    scale: Scale,
    rng: random.Random,
) -> Iterator[Planned]:
    project = _Project(pid)
    at = decision.decided_at + timedelta(minutes=1)
    yield from project.record(at, project_state.initiate(project.state, decision, candidate))
    timeline = candidate.timeline
    for role in rng.sample(("developer", "analyst", "architect", "tester", "designer", "data engineer"), 2):
        yield Planned(
            at + timedelta(minutes=2),
            f"demand-{pid}-{role}",
            resourcing.DemandRaised(
                demand_id=f"{pid}-{role}", project_id=pid, role=role, fte=Decimal("1.5"),
                start=timeline.start, end=timeline.end,
            ),
        )  # fmt: skip
    assert timeline.start is not None
    months = scale.status_months
    bac = sum((amount.amount for amount in candidate.costs), Decimal(0))
    pace = Decimal(rng.uniform(0.7, 1.2)).quantize(Decimal("0.01"))  # progress against plan
    overrun = Decimal(rng.uniform(0.9, 1.3)).quantize(Decimal("0.01"))  # cost per unit of progress
    gates = {2: "plan", 5: "execute"}
    raids = {rng.randint(1, months - 1): n for n in range(rng.randint(1, 3))}
    open_items: list[str] = []
    change_month = rng.randint(3, months - 1) if rng.random() < 0.4 else None
    for month in range(1, months + 1):
        period_end = timeline.start + timedelta(days=30 * month - 1)
        reported = datetime.combine(period_end + timedelta(days=2), datetime.min.time(), at.tzinfo) + timedelta(hours=9)
        if month in gates:
            act = Act(by="bob", at=reported - timedelta(days=1), rationale="gate criteria met")
            yield from project.record(act.at, decide_gate(board, project.state, gates[month], "proceed", act))
        if month in raids:
            item_id, events = _raid(project, board, reported - timedelta(hours=2), months - month, rng, raids[month])
            open_items.append(item_id)
            yield from events
        if month == change_month:
            yield from _change(project, board, reported - timedelta(days=5), rng)
        planned = min(Decimal(100), Decimal(100 * month) / 12)
        percent = min(Decimal(100), (planned * pace).quantize(Decimal("0.1")))
        actual = (bac * percent / 100 * overrun).quantize(Decimal("0.01"))
        manual = rng.random() < 0.1
        command = ReportStatus(
            period_end=period_end,
            percent_complete=percent,
            actual_cost=actual,
            summary=f"month {month}: on track" if pace >= 1 else f"month {month}: behind plan",
            reported_by="pm",
            reported_at=reported,
            rag=("green", "green", "green") if manual else None,
            justification="recovery plan agreed" if manual else None,
            risks=("supplier delay",) if rng.random() < 0.3 else (),
            raid_item_ids=tuple(open_items[-2:]),
            forecast_end=timeline.end + timedelta(days=30) if pace < 1 else None,
        )
        yield from project.record(reported, report_status(board, project.state, command))
        if rng.random() < 0.05:  # re-reported the same period with corrected figures
            fixed = ReportStatus(
                **{
                    **command.__dict__,
                    "actual_cost": actual + Decimal(1000),
                    "reported_at": reported + timedelta(hours=3),
                }
            )
            yield from project.record(fixed.reported_at, report_status(board, project.state, fixed))
    closed = datetime.combine(timeline.start + timedelta(days=30 * months + 5), datetime.min.time(), at.tzinfo)
    final_cost = (bac * overrun).quantize(Decimal("0.01"))
    yield from project.record(
        closed, close(board, project.state, final_cost, Act(by="bob", at=closed, rationale="done"))
    )


def _change(project: _Project, board: Portfolio, at: datetime, rng: random.Random) -> Iterator[Planned]:
    """A budget increase or a later end, requested by the project manager, decided by the portfolio manager."""
    state = project.state
    if rng.random() < 0.7:
        period = next(iter(state.budget))
        delta = (state.budget[period] * Decimal(rng.choice(("0.05", "0.1", "0.15")))).quantize(Decimal(1))
        command = RequestChange(
            kind="budget", rationale="scope grew", budget_delta=(PeriodAmount(fiscal_period=period, amount=delta),)
        )
    else:
        assert state.timeline.end is not None
        command = RequestChange(
            kind="schedule", rationale="supplier late", new_end=state.timeline.end + timedelta(days=60)
        )
    requested = request_change(state, command, Act(by="pm", at=at, rationale=command.rationale))
    yield from project.record(at, requested)
    decided_at = at + timedelta(days=2)
    outcome = "approve" if rng.random() < 0.8 else "reject"
    act = Act(by="pat", at=decided_at, rationale="within delegation")
    yield from project.record(
        decided_at, decide_change(board, project.state, requested[0].change_request_id, outcome, act)
    )

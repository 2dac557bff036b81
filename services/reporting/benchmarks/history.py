"""A realistic generated PMO history: portfolios, proposals through decision, projects, status, bookings."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pmo_events.contracts import Event, intake, portfolio, resourcing
from pmo_events.contracts.common import Benefit, BusinessCase, ObjectiveContribution, PeriodAmount, Timeline
from pmo_events.envelope import RecordedEvent

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 700
ROLES = ("developer", "analyst", "architect", "tester", "designer", "data engineer")
OUTCOMES = ("approve", "reject", "defer", "request_changes")
#: Monthly status reports have no published contract yet: generated under a type no build knows, so the
#: log has the issue's volume and the read models show that they keep, and skip, unknown types.
STATUS_REPORTED = "pmo.portfolio.BenchmarkStatusReported.v1"


@dataclass(frozen=True)
class Planned:
    at: datetime
    stream: str
    event: Event | None
    raw: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class Scale:
    portfolios: int = 5
    proposals: int = 5000
    projects: int = 1500
    resources: int = 500
    status_months: int = 24
    bookings_per_resource: int = 40
    seed: int = 7
    #: True: each project's delivery is recorded as the product records it (real status reports with their
    #: earned value, stage gates, RAID items) and proposals are edited and mirrored through review and
    #: decision (`delivery.py`); False: the earlier history (its monthly reports under a type no build knows).
    delivery: bool = False


def scaled(factor: float) -> Scale:
    """The default history with `factor` times its proposals, projects and resources (0.5: about 65,000 events,
    1.5: about 196,000)."""
    base = Scale()
    return replace(
        base,
        proposals=int(base.proposals * factor),
        projects=int(base.projects * factor),
        resources=int(base.resources * factor),
    )


def generate(scale: Scale) -> list[RecordedEvent]:
    """Every event in time order, with per-(source, stream) sequences as producers would number them."""
    if scale.delivery:
        from delivery import generate_delivered

        return _number(generate_delivered(scale))
    rng = random.Random(scale.seed)
    planned = [*_governance(scale, rng)]
    approved = rng.sample(range(scale.proposals), min(scale.projects, scale.proposals))
    approved_set = set(approved)
    for n in range(scale.proposals):
        planned.extend(_proposal(n, n in approved_set, scale, rng))
    planned.extend(_resources(scale, rng))
    planned.sort(key=lambda p: p.at)
    return _number(planned)


def _number(planned: list[Planned]) -> list[RecordedEvent]:
    sequences: dict[tuple[str, str], int] = {}
    out = []
    for item in planned:
        type_name, data = item.raw if item.raw else (item.event.type_name(), item.event.model_dump(mode="json"))  # type: ignore[union-attr]
        source = "/pmo/" + type_name.split(".")[1]
        key = (source, item.stream)
        sequences[key] = sequences.get(key, 0) + 1
        out.append(
            RecordedEvent(
                event_id=str(uuid.uuid4()),
                type=type_name,
                source=source,
                stream_id=item.stream,
                sequence=sequences[key],
                time=item.at,
                data=data,
                actor="bench",
            )
        )
    return out


def _periods() -> tuple[PeriodAmount, ...]:
    return tuple(PeriodAmount(fiscal_period=f"FY{y}", amount=Decimal(40_000_000)) for y in (2024, 2025, 2026))


def portfolio_created(p: int) -> portfolio.PortfolioCreated:
    return portfolio.PortfolioCreated(
        portfolio_id=f"pf-{p}",
        name=f"Portfolio {p}",
        currency="EUR",
        owner="olga",
        budget=_periods(),
        board_members=("bob", "carol"),
        created_by="olga",
    )


def _governance(scale: Scale, rng: random.Random) -> Iterator[Planned]:
    for p in range(scale.portfolios):
        yield Planned(START, f"pf-{p}", portfolio_created(p))
    for o in range(20):
        yield Planned(
            START,
            f"o-{o}",
            portfolio.ObjectiveCreated(
                objective_id=f"o-{o}",
                title=f"Objective {o}",
                weight=Decimal(rng.randint(1, 5)),
                period_start=date(2024, 1, 1),
                period_end=date(2026, 12, 31),
                created_by="ana",
            ),
        )


def _proposal(n: int, approved: bool, scale: Scale, rng: random.Random) -> Iterator[Planned]:
    pid, portfolio_id = f"prop-{n}", f"pf-{n % scale.portfolios}"
    drafted = START + timedelta(days=rng.uniform(1, SPAN_DAYS - 200))
    submitted = drafted + timedelta(days=rng.uniform(1, 20))
    cost = Decimal(rng.randint(50, 900) * 1000)
    start = submitted.date() + timedelta(days=60)
    content: dict[str, Any] = {
        "proposal_id": pid,
        "portfolio_id": portfolio_id,
        "title": f"Initiative {n}",
        "summary": "why it matters",
        "sponsor": "sam",
        "objective_contributions": (ObjectiveContribution(objective_id=f"o-{rng.randrange(20)}", contribution=3),),
        "business_case": BusinessCase(
            currency="EUR",
            costs=(PeriodAmount(fiscal_period=f"FY{start.year}", amount=cost),),
            benefits=(Benefit(benefit_id="b1", description="savings", kind="financial", value_amount=cost * 2),),
        ),
        "timeline": Timeline(start=start, end=start + timedelta(days=365)),
    }
    yield Planned(drafted, pid, intake.ProposalDrafted(requester="alice", **content))
    yield Planned(
        submitted, pid, intake.ProposalSubmitted(requester="alice", submission=1, submitted_at=submitted, **content)
    )
    case = content["business_case"]
    yield Planned(
        submitted + timedelta(minutes=1),
        portfolio_id,
        portfolio.CandidateRegistered(
            portfolio_id=portfolio_id,
            candidate_id=pid,
            proposal_id=pid,
            submission=1,
            title=content["title"],
            requester="alice",
            costs=case.costs,
            benefits=case.benefits,
            objective_contributions=content["objective_contributions"],
            timeline=content["timeline"],
        ),
    )
    for assessor in ("bob", "carol"):
        at = submitted + timedelta(days=rng.uniform(1, 10))
        yield Planned(
            at,
            portfolio_id,
            portfolio.CandidateScored(
                portfolio_id=portfolio_id,
                candidate_id=pid,
                assessor=assessor,
                scores={"value": rng.randint(1, 5), "risk": rng.randint(1, 5)},
                scored_at=at,
            ),
        )
    outcome = "approve" if approved else rng.choice(OUTCOMES[1:])
    decided = submitted + timedelta(days=rng.uniform(12, 60))
    yield Planned(
        decided,
        portfolio_id,
        portfolio.InvestmentDecided(
            decision_id=str(uuid.UUID(int=rng.getrandbits(128))),
            portfolio_id=portfolio_id,
            candidate_id=pid,
            proposal_id=pid,
            outcome=outcome,
            rationale="as discussed",
            decided_by="bob",
            decided_at=decided,
            approved_budget=case.costs if approved else (),
        ),
    )
    if approved:
        yield from _project(pid, portfolio_id, decided, content, scale, rng)


def _project(
    pid: str, portfolio_id: str, decided: datetime, content: dict[str, Any], scale: Scale, rng: random.Random
) -> Iterator[Planned]:
    at = decided + timedelta(minutes=1)
    yield Planned(
        at,
        pid,
        portfolio.ProjectInitiated(
            project_id=pid,
            portfolio_id=portfolio_id,
            proposal_id=pid,
            title=content["title"],
            baseline_budget=content["business_case"].costs,
            timeline=content["timeline"],
            benefits=content["business_case"].benefits,
            initiated_by="bob",
        ),
    )
    for role in rng.sample(ROLES, 2):
        yield Planned(
            at + timedelta(minutes=2),
            f"demand-{pid}-{role}",
            resourcing.DemandRaised(
                demand_id=f"{pid}-{role}",
                project_id=pid,
                role=role,
                fte=Decimal("1.5"),
                start=content["timeline"].start,
                end=content["timeline"].end,
            ),
        )
    for month in range(1, scale.status_months + 1):
        data = {"project_id": pid, "percent_complete": min(100, month * 8), "actual_cost": str(month * 10000)}
        yield Planned(at + timedelta(days=30 * month), pid, None, (STATUS_REPORTED, data))


def _resources(scale: Scale, rng: random.Random) -> Iterator[Planned]:
    for r in range(scale.resources):
        rid, role = f"res-{r}", ROLES[r % len(ROLES)]
        yield Planned(
            START,
            rid,
            resourcing.ResourceRegistered(
                resource_id=rid, name=f"Person {r}", kind="person", role=role, fte=Decimal(1), registered_by="rm"
            ),
        )
        for b in range(scale.bookings_per_resource):
            yield from _booking(rid, role, f"{rid}-{b}", rng)


def _booking(rid: str, role: str, allocation_id: str, rng: random.Random) -> Iterator[Planned]:
    """Proposed, confirmed a week later, released when the work is done."""
    at = START + timedelta(days=rng.uniform(1, SPAN_DAYS - 90))
    start = at.date() + timedelta(days=14)
    ids = {"allocation_id": allocation_id, "resource_id": rid, "project_id": f"prop-{rng.randrange(1000)}"}
    yield Planned(
        at,
        rid,
        resourcing.AllocationBooked(
            **ids,
            role=role,
            start=start,
            end=start + timedelta(days=60),
            fte=Decimal("0.5"),
            status="proposed",
            booked_by="rm",
        ),
    )
    yield Planned(at + timedelta(days=7), rid, resourcing.AllocationConfirmed(**ids, confirmed_by="rm"))
    yield Planned(at + timedelta(days=80), rid, resourcing.AllocationReleased(**ids, released_by="rm"))

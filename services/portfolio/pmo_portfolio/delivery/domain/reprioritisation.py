"""The portfolio review cycle: running projects re-scored with today's scoring model, ranked with the pipeline.

A running project is an approved candidate whose project is neither closed nor cancelled; its recorded scores
are weighed with the CURRENT criteria (`ranking.assess`), so a changed model can move it below candidates the
board has not funded yet. Unscored lines are listed after the ranked ones, never ranked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import PortfolioReprioritised, ReprioritisedItem, ReviewCycleIntervalSet
from pmo_portfolio.candidates.domain import RankedCandidate, Scorecard, assess
from pmo_portfolio.funding.domain import AWAITING_DECISION, Portfolio, existing
from pmo_portfolio.shared.errors import InvalidCommand, NotAuthorised

#: A project in one of these states no longer competes for the portfolio's money.
FINISHED = frozenset({"closed", "cancelled"})


def cycle_stream(portfolio_id: str) -> str:
    """A portfolio's review cycles are a stream of their own: running one moves no decision's version."""
    return f"review-cycles-{portfolio_id}"


def running(portfolio: Portfolio, project_statuses: Mapping[str, str]) -> list[str]:
    """Approved candidates whose project is not closed or cancelled (`project_statuses`: project id -> status)."""
    return sorted(
        c.candidate_id
        for c in portfolio.candidates.values()
        if c.status == "approved" and project_statuses.get(c.candidate_id) not in FINISHED
    )


def _order(line: tuple[str, RankedCandidate]) -> tuple[object, ...]:
    kind, a = line
    # Ties: alignment, then value per cost, then a running project before a candidate (it is already funded),
    # then the id, so the same facts always give the same ranking.
    return (-(a.weighted_score or 0), -a.strategic_alignment, -(a.value_per_cost or 0), kind != "running",
            a.candidate_id)  # fmt: skip


def reprioritise(
    portfolio: Portfolio,
    scorecard: Scorecard,
    project_statuses: Mapping[str, str],
    *,
    cycle: int,
    model_version: int,
    run_by: str,
    run_at: datetime,
) -> list[Event]:
    """One review cycle: running projects and undecided candidates ranked together with the current model."""
    existing(portfolio)
    if portfolio.scoring_model is None:
        raise InvalidCommand("scoring_model", "the portfolio has no scoring model to re-score its projects with")
    lines = [
        ("running", assess(portfolio, portfolio.candidates[i], scorecard)) for i in running(portfolio, project_statuses)
    ]
    lines += [
        ("candidate", assess(portfolio, c, scorecard))
        for c in portfolio.candidates.values()
        if c.status in AWAITING_DECISION
    ]
    scored = sorted((line for line in lines if line[1].weighted_score is not None), key=_order)
    unscored = sorted((line for line in lines if line[1].weighted_score is None), key=lambda line: line[1].candidate_id)
    items: list[ReprioritisedItem] = []
    candidates_above: list[str] = []
    for position, (kind, a) in enumerate(scored, start=1):
        above = tuple(candidates_above) if kind == "running" else ()
        items.append(ReprioritisedItem(id=a.candidate_id, kind=kind, title=a.title, rank=position,  # type: ignore[arg-type]
                                       weighted_score=a.weighted_score, outranked_by=above))  # fmt: skip
        if kind == "candidate":
            candidates_above.append(a.candidate_id)
    items += [ReprioritisedItem(id=a.candidate_id, kind=kind, title=a.title) for kind, a in unscored]  # type: ignore[arg-type]
    return [
        PortfolioReprioritised(
            cycles_id=cycle_stream(portfolio.portfolio_id),
            portfolio_id=portfolio.portfolio_id,
            cycle=cycle,
            run_by=run_by,
            run_at=run_at,
            model_version=model_version,
            criteria=portfolio.scoring_model.criteria,
            ranking=tuple(items),
            below_pipeline=tuple(i.id for i in items if i.outranked_by),
        )
    ]


def set_interval(portfolio: Portfolio, every_days: int, set_by: str, *, is_analyst: bool = False) -> list[Event]:
    """The portfolio's owner, a PMO analyst or an admin (`is_analyst`) sets how often its cycle runs."""
    existing(portfolio)
    if not is_analyst and set_by != portfolio.owner:
        raise NotAuthorised(f"only the owner of portfolio {portfolio.name} ({portfolio.owner}), a PMO analyst or "
                            "an admin sets its review cycle")  # fmt: skip
    if not 1 <= every_days <= 3660:
        raise InvalidCommand("every_days", "a review cycle's interval is between 1 and 3660 days")
    return [ReviewCycleIntervalSet(portfolio_id=portfolio.portfolio_id, every_days=every_days, set_by=set_by)]


def is_due(every_days: int, last_run_at: datetime | None, now: datetime) -> bool:
    """A portfolio that never had a cycle is due; otherwise `every_days` after the last one."""
    return last_run_at is None or now >= last_run_at + timedelta(days=every_days)

"""Candidate command handlers: registration and withdrawal from intake's events, and the board's decisions."""

from __future__ import annotations

from typing import Any

from pmo_events.contracts.intake import ProposalSubmitted, ProposalWithdrawn
from pmo_events.runtime import UnitOfWork, fold
from pmo_portfolio.candidates import queries
from pmo_portfolio.candidates.domain import decisions, registration, scoring
from pmo_portfolio.candidates.domain.decisions import DecideInvestment
from pmo_portfolio.candidates.domain.scoring import ScoreCandidate
from pmo_portfolio.funding import PORTFOLIO, apply_to_portfolio
from pmo_portfolio.shared.errors import NotFound

#: Each score is a stream of its own: a fact that moves no envelope and contends with nothing.
SCORE = "score"


async def register_candidate(uow: UnitOfWork, submitted: ProposalSubmitted) -> None:
    """From intake's event: the proposal becomes (or updates) a candidate of its portfolio."""
    loaded = await uow.load(PORTFOLIO, submitted.portfolio_id)
    new_events = registration.register_candidate(loaded.state, submitted)
    state_after = fold(PORTFOLIO, loaded.state, new_events)
    await uow.append(PORTFOLIO, submitted.portfolio_id, loaded.version, new_events, state_after)


async def withdraw_candidate(uow: UnitOfWork, withdrawn: ProposalWithdrawn) -> None:
    """From intake's event: a withdrawn proposal stops awaiting the board's decision."""
    loaded = await uow.load(PORTFOLIO, withdrawn.portfolio_id)
    new_events = registration.withdraw_candidate(loaded.state, withdrawn)
    if new_events:
        after = fold(PORTFOLIO, loaded.state, new_events)
        await uow.append(PORTFOLIO, withdrawn.portfolio_id, loaded.version, new_events, after)


async def decide_investment(
    uow: UnitOfWork, portfolio_id: str, command: DecideInvestment
) -> tuple[dict[str, Any], int]:
    """The board's decision, with the scorecard as it stands in its evidence; an approval initiates the project
    (a policy of delivery's). Answers the decision and the portfolio's version after it."""
    board_scores = await queries.scorecard(uow.session, portfolio_id)
    changed = await apply_to_portfolio(uow, portfolio_id, lambda state: decisions.decide(state, command, board_scores))
    decision = changed.new_events[0].model_dump(mode="json")
    return {"id": decision["decision_id"], **decision}, changed.version


async def score_candidate(uow: UnitOfWork, portfolio_id: str, command: ScoreCandidate) -> tuple[dict[str, Any], int]:
    """An assessor's scores, on a stream of their own (a score moves no envelope, so it never waits for the
    portfolio's stream); answered with the candidate's standing after them (means, weighted score, rank)."""
    portfolio = await uow.load(PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    [scored] = scoring.score(portfolio.state, command)
    await uow.open_stream(SCORE, scored.score_id or "", [scored])
    standing = await queries.standing(uow.session, portfolio_id, command.candidate_id)
    return {**scored.model_dump(mode="json"), "standing": standing}, 1

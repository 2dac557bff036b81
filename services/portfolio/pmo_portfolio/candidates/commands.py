"""Candidate command handlers: registration and withdrawal from intake's events, and the board's decisions."""

from __future__ import annotations

import uuid
from typing import Any

from pmo_events.contracts.intake import ProposalSubmitted, ProposalWithdrawn
from pmo_events.contracts.portfolio import InvestmentDecided, MotionCarried
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import UnitOfWork, reacts_to
from pmo_portfolio import governance
from pmo_portfolio.candidates import queries
from pmo_portfolio.candidates.domain import decisions, registration, scoring
from pmo_portfolio.candidates.domain.decisions import DecideInvestment
from pmo_portfolio.candidates.domain.scoring import ScoreCandidate
from pmo_portfolio.funding import PORTFOLIO, apply_to_portfolio
from pmo_portfolio.shared.errors import BoardVoteNeeded, NotFound

#: Each score is a stream of its own: a fact that moves no envelope and contends with nothing.
SCORE = "score"


async def register_candidate(uow: UnitOfWork, submitted: ProposalSubmitted) -> None:
    """From intake's event: the proposal becomes (or updates) a candidate of its portfolio."""
    loaded = await uow.load(PORTFOLIO, submitted.portfolio_id)
    new_events = registration.register_candidate(loaded.state, submitted)
    state_after = uow.state_after(PORTFOLIO, submitted.portfolio_id, loaded.state, new_events)
    await uow.append(PORTFOLIO, submitted.portfolio_id, loaded.version, new_events, state_after)


async def withdraw_candidate(uow: UnitOfWork, withdrawn: ProposalWithdrawn) -> None:
    """From intake's event: a withdrawn proposal stops awaiting the board's decision."""
    loaded = await uow.load(PORTFOLIO, withdrawn.portfolio_id)
    new_events = registration.withdraw_candidate(loaded.state, withdrawn)
    if new_events:
        after = uow.state_after(PORTFOLIO, withdrawn.portfolio_id, loaded.state, new_events)
        await uow.append(PORTFOLIO, withdrawn.portfolio_id, loaded.version, new_events, after)


async def decide_investment(
    uow: UnitOfWork, portfolio_id: str, command: DecideInvestment
) -> tuple[dict[str, Any], int]:
    """A decision taken now: by the portfolio manager alone below the delegated threshold, or by a board member
    whose own vote on the motion meets the charter's rule (a board of one). Otherwise nothing is recorded and
    the answer says the board votes (`move_investment`). An approval initiates the project (a policy of
    delivery's), in this transaction. Answers the decision and the version of the stream it is on."""
    board_scores = await queries.scorecard(uow.session, portfolio_id)
    portfolio = await uow.load(PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    if decisions.is_delegated(portfolio.state, command):
        changed = await apply_to_portfolio(
            uow, portfolio_id, lambda state: decisions.decide(state, command, board_scores)
        )
        decision = changed.new_events[0].model_dump(mode="json")
        return {"id": decision["decision_id"], **decision}, changed.version
    motion, _ = await move_investment(uow, portfolio_id, command)
    decided = [e for e in uow.recorded if e.type == InvestmentDecided.type_name()]
    if not decided:
        # Rolled back with the transaction: the motion was never proposed.
        raise BoardVoteNeeded(
            f"the board of portfolio {portfolio.state.name} decides this by a vote ({motion['quorum']} needed): "
            f"put it to the board with POST /portfolios/{portfolio_id}/motions"
        )
    decision = decided[-1].decode().model_dump(mode="json")
    return {"id": decision["decision_id"], **decision}, decided[-1].sequence


async def move_investment(uow: UnitOfWork, portfolio_id: str, command: DecideInvestment) -> tuple[dict[str, Any], int]:
    """A board member puts the decision to the board's vote and votes for it; when that vote meets the charter's
    rule the motion carries and the decision is taken in this transaction. Answers the motion."""
    board_scores = await queries.scorecard(uow.session, portfolio_id)
    portfolio = await uow.load(PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    terms = decisions.motion_terms(portfolio.state, command, board_scores)
    motion_id = str(uuid.uuid4())
    await governance.propose_motion(uow, portfolio_id, motion_id, terms, command.decided_by, command.decided_at)
    motion, version = await governance.vote(
        uow, motion_id, command.decided_by, "for", command.rationale, command.decided_at
    )
    return governance.motion_view(motion, version, portfolio.state.currency), version


@reacts_to(MotionCarried)
async def decide_carried_motion(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: the vote that carries an investment motion records the decision, in the vote's transaction."""
    if recorded.type != MotionCarried.type_name():
        return
    carried = recorded.decode()
    if not isinstance(carried, MotionCarried) or carried.kind != decisions.INVESTMENT:
        return
    motion = await uow.load(governance.MOTION, carried.motion_id)
    board_scores = await queries.scorecard(uow.session, carried.portfolio_id)
    await apply_to_portfolio(
        uow, carried.portfolio_id, lambda state: decisions.carried(state, motion.state, carried, board_scores)
    )


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

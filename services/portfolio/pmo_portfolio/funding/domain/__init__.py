"""Funding's pure rules, and what other concepts' rules may use of them: the Portfolio, its envelope, its board."""

from pmo_portfolio.funding.domain.board import check_board_member
from pmo_portfolio.funding.domain.envelope import ZERO, add, check_within_envelope, negated, remaining_envelope
from pmo_portfolio.funding.domain.portfolio import (
    AWAITING_DECISION,
    STATUS_AFTER,
    Candidate,
    CandidateStatus,
    DecisionOutcome,
    Portfolio,
    ScoringModel,
    existing,
)

__all__ = [
    "AWAITING_DECISION",
    "STATUS_AFTER",
    "ZERO",
    "Candidate",
    "CandidateStatus",
    "DecisionOutcome",
    "Portfolio",
    "ScoringModel",
    "add",
    "check_board_member",
    "check_within_envelope",
    "existing",
    "negated",
    "remaining_envelope",
]

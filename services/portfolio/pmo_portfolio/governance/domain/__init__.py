"""Governance's pure rules: the charter, motions and the voting rule, separation of duties, delegated authority.

What other concepts' rules may use of them is exported here.
"""

from pmo_portfolio.governance.domain.charter import Governor, charter_of, check_board_member
from pmo_portfolio.governance.domain.delegation import (
    approval_amount,
    increase_amount,
    is_delegate,
    within_delegation,
)
from pmo_portfolio.governance.domain.duties import automatic_conflicts, check_not_conflicted, check_override
from pmo_portfolio.governance.domain.motions import Motion, MotionTerms

__all__ = [
    "Governor",
    "Motion",
    "MotionTerms",
    "approval_amount",
    "automatic_conflicts",
    "charter_of",
    "check_board_member",
    "check_not_conflicted",
    "check_override",
    "increase_amount",
    "is_delegate",
    "within_delegation",
]

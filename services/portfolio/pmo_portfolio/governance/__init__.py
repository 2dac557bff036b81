"""Governance: the board's charter, motions and votes, separation of duties and delegated authority.

Other concepts use only what this module and `governance.domain` export.
"""

from pmo_portfolio.governance.commands import MOTION, apply_to_motion, propose_motion, vote
from pmo_portfolio.governance.queries import motion_view

__all__ = ["MOTION", "apply_to_motion", "motion_view", "propose_motion", "vote"]

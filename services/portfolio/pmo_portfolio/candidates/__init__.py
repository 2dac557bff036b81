"""Candidates: proposals before the board; scoring, ranking and the board's investment decisions.

Other concepts use only what this module and `candidates.domain` export.
"""

from pmo_portfolio.candidates.queries import registration, scorecard

__all__ = ["registration", "scorecard"]

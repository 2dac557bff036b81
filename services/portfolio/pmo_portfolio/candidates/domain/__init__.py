"""Candidates' pure rules: registration from intake, scoring (weighted or AHP), ranking, the board's decisions.

What other concepts' rules may use of them is exported here.
"""

from pmo_portfolio.candidates.domain.assessments import Scorecard
from pmo_portfolio.candidates.domain.ranking import RankedCandidate, assess

__all__ = ["RankedCandidate", "Scorecard", "assess"]

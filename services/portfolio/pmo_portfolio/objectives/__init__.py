"""Strategic objectives: weighted, time-boxed goals. Other concepts use only what this module exports."""

from pmo_portfolio.objectives.queries import active_objective_weights

__all__ = ["active_objective_weights"]

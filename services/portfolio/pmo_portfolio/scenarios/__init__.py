"""Scenarios: what-if optimisation of the portfolio under budget and capacity, saved when the board asks."""

"""Interdependencies: what projects of a portfolio need from each other by when, and when that is at risk."""

"""Delivery: projects from approval to closure; gates, status reports, change requests, lessons, benefits.

Programmes, dependencies and the RAID log read projects through what this module exports.
"""

from pmo_portfolio.delivery.commands import PROJECT
from pmo_portfolio.delivery.domain.benefits import is_quantitative, unit_of
from pmo_portfolio.delivery.domain.project import LIVE, Project
from pmo_portfolio.delivery.queries import project_states

__all__ = ["LIVE", "PROJECT", "Project", "is_quantitative", "project_states", "unit_of"]

"""Programmes: a portfolio's projects grouped toward shared outcomes (SRO, tranches, ring-fence, status).

Other concepts (the RAID log, interdependencies on a programme milestone) use only what this module exports.
"""

from pmo_portfolio.programmes.commands import PROGRAMME
from pmo_portfolio.programmes.domain import Programme, Tranche
from pmo_portfolio.programmes.queries import programme_of, programme_portfolio, programme_states

__all__ = ["PROGRAMME", "Programme", "Tranche", "programme_of", "programme_portfolio", "programme_states"]

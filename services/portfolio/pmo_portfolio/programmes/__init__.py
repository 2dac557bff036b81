"""Programmes: a portfolio's projects grouped toward shared outcomes (SRO, tranches, ring-fence, status).

Other concepts (the RAID log) use only what this module exports.
"""

from pmo_portfolio.programmes.queries import programme_of, programme_portfolio

__all__ = ["programme_of", "programme_portfolio"]

"""The read models reporting keeps, by name: what `/admin/projections` lists and rebuilds."""

from __future__ import annotations

from pmo_reporting.projections import (
    calendar,
    capacity,
    delivery,
    governance,
    lessons,
    programmes,
    proposals,
    raid,
)
from pmo_reporting.projections.base import Projection, handlers_of

PORTFOLIO = Projection(
    name="portfolio",
    description="Portfolios, objectives, proposals and candidates, decisions, projects, benefits, lessons "
    "(and the lessons offered to each proposal and project, with their teams' acknowledgements), "
    "programmes, the RAID log and the dependency graph",
    handlers=handlers_of(
        *governance.EFFECTS,
        *proposals.EFFECTS,
        *delivery.EFFECTS,
        *calendar.EFFECTS,
        *programmes.EFFECTS,
        *raid.EFFECTS,
        *lessons.EFFECTS,
    ),
)

CAPACITY = Projection(
    name="capacity",
    description="Demand, resources, capacity and bookings by fiscal period",
    handlers=handlers_of(*capacity.EFFECTS, *calendar.EFFECTS),
)

PROJECTIONS: dict[str, Projection] = {p.name: p for p in (PORTFOLIO, CAPACITY)}

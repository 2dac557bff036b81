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

#: Each read model as parts whose effects keep to documents of their own kinds: no part reads a kind another
#: part writes, and no two write one document (governance and delivery both write decisions, each only under
#: the ids of its own decisions, never reading one). A rebuild may fold the parts in different processes and
#: write them into one generation (`test_projection_parts`: the parts' documents are disjoint and together
#: equal the whole fold's). A part's effects for a type keep the read model's order.
PARTS: dict[str, tuple[Projection, ...]] = {
    PORTFOLIO.name: tuple(
        Projection(name=PORTFOLIO.name, description=module.__name__, handlers=handlers_of(*module.EFFECTS))
        for module in (governance, proposals, delivery, calendar, programmes, raid, lessons)
    ),
    CAPACITY.name: (CAPACITY,),
}

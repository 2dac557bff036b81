"""Project demand: each initiated project's resource estimate becomes demand lines by role."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import ProjectInitiated
from pmo_events.contracts.resourcing import DemandCancelled, DemandRaised

DemandStatus = Literal["open", "partially_filled", "filled", "cancelled"]


class ProjectDemand(BaseModel):
    """The demand a project places on resourcing; the stream id is the project id."""

    project_id: str
    raised: bool = False
    demand_ids: tuple[str, ...] = ()
    cancelled_ids: tuple[str, ...] = ()


def demand_id_for(project_id: str, line: int) -> str:
    """Stable ids: the same project line always gets the same demand id, on any replay."""
    return str(uuid.uuid5(uuid.UUID(project_id), f"demand-{line}")) if _is_uuid(project_id) else f"{project_id}-{line}"


def raise_demand(state: ProjectDemand, initiated: ProjectInitiated) -> list[Event]:
    """One demand line per resource-estimate line; raised once per project."""
    if state.raised:
        return []
    return [
        DemandRaised(
            demand_id=demand_id_for(initiated.project_id, i),
            project_id=initiated.project_id,
            role=line.role,
            fte=line.fte,
            start=line.start,
            end=line.end,
        )
        for i, line in enumerate(initiated.resource_estimate)
    ]


def cancel_demand(state: ProjectDemand, *, reason: str) -> list[Event]:
    """Every open line of the project is cancelled once; lines already cancelled stay as they are."""
    return [
        DemandCancelled(demand_id=demand_id, project_id=state.project_id, reason=reason)
        for demand_id in state.demand_ids
        if demand_id not in state.cancelled_ids
    ]


def evolve(state: ProjectDemand, event: Event) -> ProjectDemand:
    if isinstance(event, DemandRaised):
        return state.model_copy(update={"raised": True, "demand_ids": (*state.demand_ids, event.demand_id)})
    if isinstance(event, DemandCancelled):
        return state.model_copy(update={"cancelled_ids": (*state.cancelled_ids, event.demand_id)})
    return state


def initial(project_id: str) -> ProjectDemand:
    return ProjectDemand(project_id=project_id)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

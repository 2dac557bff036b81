"""The resourcing service's HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from pmo_resourcing.application.handlers import list_demands
from pmo_servicekit.auth import CurrentPrincipal

router = APIRouter()


@router.get("/demands", tags=["demand"], responses={401: {}, 422: {}})
async def demands(
    _principal: CurrentPrincipal,
    request: Request,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["open", "partially_filled", "filled", "cancelled"] | None = None,
) -> dict[str, Any]:
    """Demand lines raised by initiated projects, with how much confirmed bookings cover."""
    items = await list_demands(request.app.state.runtime.db, project_id=project_id, role=role, status=status)
    return {"items": items}

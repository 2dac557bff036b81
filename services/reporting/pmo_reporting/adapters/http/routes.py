"""Reporting's HTTP API: the decision audit trail and entity history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from pmo_reporting.application.queries import decision_log, entity_history
from pmo_servicekit.auth import CurrentPrincipal

router = APIRouter()


@router.get("/reports/decisions", tags=["reports"], responses={401: {}, 422: {}})
async def decisions(
    _principal: CurrentPrincipal,
    request: Request,
    portfolio_id: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Literal["approve", "reject", "defer", "request_changes"] | None = None,
    decided_by: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
) -> dict[str, Any]:
    """The audit trail: every decision with who, when, outcome, rationale and evidence."""
    items = await decision_log(
        request.app.state.runtime.db,
        portfolio_id=portfolio_id,
        outcome=outcome,
        decided_by=decided_by,
        decided_from=from_,
        decided_to=to,
    )
    return {"items": items}


@router.get("/history/{entity_id}", tags=["history"], responses={401: {}})
async def history(entity_id: str, _principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """Every event about one proposal, candidate, project, resource or objective, across services."""
    return {"entity_id": entity_id, "events": await entity_history(request.app.state.runtime.db, entity_id)}

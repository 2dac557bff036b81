"""Reporting's HTTP API: an entity's history across services."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from pmo_reporting.adapters.http.rendering import REPORT_RESPONSES, AsOf, respond
from pmo_reporting.application.queries import entity_history
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.http import service_runtime

router = APIRouter()


@router.get("/history/{entity_id}", tags=["history"], responses=REPORT_RESPONSES)
async def history(entity_id: str, as_of: AsOf, _principal: CurrentPrincipal, request: Request) -> Response:
    """Every event about one proposal, candidate, project, resource or objective, across services."""
    events = await entity_history(service_runtime(request).db, entity_id, as_of=as_of)
    body = {"entity_id": entity_id, "as_of": as_of.isoformat() if as_of else None, "events": events}
    return respond(request, body, events, f"history-{entity_id}")

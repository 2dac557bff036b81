"""Reporting's HTTP API: an entity's history across services."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from pmo_reporting.adapters.http.rendering import AsOf, report_responses, respond
from pmo_reporting.adapters.http.responses import EntityHistory
from pmo_reporting.application.queries import entity_history
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.paging import Paging
from pmo_servicekit.http import service_runtime

router = APIRouter()


@router.get(
    "/history/{entity_id}",
    tags=["history"],
    summary="List an entity's history across services",
    response_model=EntityHistory,
    responses=report_responses(),
    **allow("viewer"),
)
async def list_entity_history(
    entity_id: str, as_of: AsOf, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> Response:
    """Every event about one proposal, candidate, project, resource or objective, across services, in the
    order they happened (an unknown id has an empty history)."""
    events = await entity_history(service_runtime(request).db, entity_id, as_of=as_of)
    body = {"entity_id": entity_id, "as_of": as_of}
    page = (paging, lambda e: [e["event_id"]])
    return respond(request, EntityHistory, body, events, f"history-{entity_id}", page=page)

"""Reporting's HTTP API: an entity's history across services."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from pmo_events.contracts.intake import DRAFT_READERS
from pmo_reporting.adapters.http.rendering import AsOf, report_responses, respond
from pmo_reporting.adapters.http.responses import EntityHistory
from pmo_reporting.application.queries import entity_history, hidden_drafts
from pmo_servicekit.access import Ownership, allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.paging import Paging
from pmo_servicekit.http import PathId, service_runtime
from pmo_servicekit.problems import Problem
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
#: Intake's rule (`pmo_events.contracts.intake.sees_proposal`), applied to what reporting logged.
OWN_DRAFTS = Ownership(
    "own-drafts",
    "a proposal that was still a draft at `as_of` is seen only by its requester (and pmo_analysts, admins): its "
    "history answers 404 and other histories leave its events out; once submitted, anyone who may read sees it",
)


@router.get(
    "/history/{entity_id}",
    tags=["history"],
    summary="List an entity's history across services",
    response_model=EntityHistory,
    responses=report_responses(404),
    **allow("viewer", owner=OWN_DRAFTS, exempt=sorted(DRAFT_READERS)),
)
async def list_entity_history(
    entity_id: PathId, as_of: AsOf, principal: CurrentPrincipal, request: Request, paging: Paging
) -> Response:
    """Every event about one proposal, candidate, project, resource or objective, across services, in the
    order they happened (an unknown id has an empty history). Someone else's draft proposal (a draft at
    `as_of`) is 404 unless the caller is a pmo_analyst or admin, as in intake; its events are left out of any
    other history (its portfolio's)."""
    db = service_runtime(request).db
    events = await entity_history(db, entity_id, as_of=as_of)
    hidden = await hidden_drafts(db, events, principal.subject, principal.roles, as_of=as_of)
    if entity_id in hidden:
        raise Problem(404, "not-found", f"no proposal {entity_id} is known to reporting")
    events = [e for e in events if e["data"].get("proposal_id") not in hidden]
    body = {"entity_id": entity_id, "as_of": as_of}
    page = (paging, lambda e: [e["event_id"]])
    return respond(request, EntityHistory, body, events, f"history-{entity_id}", page=page)

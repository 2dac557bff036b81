"""HTTP API of strategic objectives: create, read, list, update (If-Match) and retire."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response

from pmo_events.contracts.base import Event
from pmo_portfolio.objectives import commands, queries
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective, ObjectiveDefinition
from pmo_portfolio.objectives.responses import ObjectivePage, ObjectiveView
from pmo_portfolio.objectives.schemas import ObjectiveCreate, ObjectivePatch, ObjectiveRetire
from pmo_portfolio.shared.http import ANALYST
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import invalid_field
from pmo_servicekit.routing import FlatRoute

router = APIRouter(tags=["objectives"], route_class=FlatRoute)
NOT_FOUND = {404: "no such objective"}


@router.post(
    "/objectives",
    status_code=201,
    summary="Create a strategic objective",
    response_model=ObjectiveView,
    responses=answers(status=201, etag=True, location=True),
    **ANALYST,
)
async def create_objective(
    body: ObjectiveCreate, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    objective_id = str(uuid.uuid4())
    definition = ObjectiveDefinition(
        body.title, body.description, body.weight, body.period.start, body.period.end, tuple(body.portfolio_ids)
    )
    new_events = objective_rules.create(objective_id, definition, principal.subject)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(ObjectiveView, commands.create_objective(uow, objective_id, new_events)),
            status_code=201,
            location=f"/objectives/{objective_id}",
        ),
    )


@router.get("/objectives", summary="List the strategic objectives", response_model=ObjectivePage, **allow("viewer"))
async def list_objectives(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    status: Literal["active", "retired"] | None = None,
) -> ObjectivePage:
    """Strategic objectives in id order, active or retired."""
    items = await queries.list_objectives(service_runtime(request).db, status, paging.limit + 1, paging.after_id())
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return ObjectivePage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/objectives/{objective_id}",
    summary="Read one strategic objective",
    response_model=ObjectiveView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_objective(
    objective_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    view, version = await queries.get_objective(service_runtime(request).db, objective_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.patch(
    "/objectives/{objective_id}",
    summary="Change a strategic objective",
    response_model=ObjectiveView,
    responses=answers(404, 409, 412, etag=True, notes=NOT_FOUND),
    **ANALYST,
)
async def update_objective(
    objective_id: PathId,
    body: ObjectivePatch,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change title, description, weight or period; `If-Match` guards against overwriting a newer version."""
    if not body.model_fields_set:
        raise invalid_field("", "name at least one of title, description, weight, period, portfolio_ids")

    def rule(objective: Objective) -> list[Event]:
        current, period = objective_rules.definition_of(objective), body.period
        definition = ObjectiveDefinition(
            title=body.title if body.title is not None else current.title,
            description=body.description if "description" in body.model_fields_set else current.description,
            weight=body.weight if body.weight is not None else current.weight,
            period_start=period.start if period else current.period_start,
            period_end=period.end if period else current.period_end,
            portfolio_ids=tuple(body.portfolio_ids) if body.portfolio_ids is not None else current.portfolio_ids,
        )
        return objective_rules.update(objective, definition, principal.subject)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(ObjectiveView, commands.change_objective(uow, objective_id, rule, if_match=if_match))
        ),
    )


@router.post(
    "/objectives/{objective_id}/retire",
    summary="Retire a strategic objective",
    response_model=ObjectiveView,
    responses=answers(404, 409, 412, etag=True, notes=NOT_FOUND),
    **ANALYST,
)
async def retire_objective(
    objective_id: PathId,
    principal: CurrentPrincipal,
    request: Request,
    body: ObjectiveRetire | None = None,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Retired objectives stay in history; proposals can no longer contribute to them."""
    reason = body.reason if body else None

    def rule(objective: Objective) -> list[Event]:
        return objective_rules.retire(objective, principal.subject, reason)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(ObjectiveView, commands.change_objective(uow, objective_id, rule, if_match=if_match))
        ),
    )

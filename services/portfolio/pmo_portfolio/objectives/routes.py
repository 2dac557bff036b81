"""HTTP API of strategic objectives: create, read, list, update (If-Match) and retire."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.base import Event
from pmo_portfolio.objectives import commands, queries
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective, ObjectiveDefinition
from pmo_portfolio.objectives.schemas import ObjectiveCreate, ObjectivePatch, ObjectiveRetire
from pmo_portfolio.shared.http import PROBLEMS, Analyst, Cursor, Limit
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import IfMatch, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import invalid_field

router = APIRouter(tags=["objectives"], responses=PROBLEMS)


@router.post("/objectives", status_code=201)
async def create_objective(
    body: ObjectiveCreate, principal: Analyst, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    objective_id = str(uuid.uuid4())
    definition = ObjectiveDefinition(body.title, body.description, body.weight, body.period.start, body.period.end)
    new_events = objective_rules.create(objective_id, definition, principal.subject)
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            commands.create_objective(uow, objective_id, new_events),
            status_code=201,
            location=f"/objectives/{objective_id}",
        ),
    )


@router.get("/objectives")
async def list_objectives(
    _principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(pattern="^(active|retired)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    items, next_cursor = await queries.list_objectives(service_runtime(request).db, status, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/objectives/{objective_id}")
async def read_objective(
    objective_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    view, version = await queries.get_objective(service_runtime(request).db, objective_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.patch("/objectives/{objective_id}")
async def update_objective(
    objective_id: str,
    body: ObjectivePatch,
    principal: Analyst,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change title, description, weight or period; `If-Match` guards against overwriting a newer version."""
    if not body.model_fields_set:
        raise invalid_field("", "name at least one of title, description, weight, period")

    def rule(objective: Objective) -> list[Event]:
        period = body.period
        definition = ObjectiveDefinition(
            title=body.title if body.title is not None else objective.title,
            description=body.description if "description" in body.model_fields_set else objective.description,
            weight=body.weight if body.weight is not None else objective.weight,
            period_start=period.start if period else objective.period_start,  # type: ignore[arg-type]
            period_end=period.end if period else objective.period_end,  # type: ignore[arg-type]
        )
        return objective_rules.update(objective, definition, principal.subject)

    return await run_command(
        request, principal, lambda uow: answered(commands.change_objective(uow, objective_id, rule, if_match=if_match))
    )


@router.post("/objectives/{objective_id}/retire")
async def retire_objective(
    objective_id: str,
    principal: Analyst,
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
        request, principal, lambda uow: answered(commands.change_objective(uow, objective_id, rule, if_match=if_match))
    )

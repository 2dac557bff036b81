"""HTTP API of strategic objectives: create, read, list, update (If-Match) and retire."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.contracts.base import Event
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.objectives import commands, queries
from pmo_portfolio.objectives import domain as objective_rules
from pmo_portfolio.objectives.domain import Objective, ObjectiveDefinition
from pmo_portfolio.objectives.schemas import ObjectiveCreate, ObjectivePatch, ObjectiveRetire
from pmo_portfolio.shared.http import PROBLEMS, Analyst, Cursor, Limit, service
from pmo_portfolio.shared.problems import DOMAIN_ERRORS, invalid, problem_for
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.http import etag, metadata_for, parse_if_match
from pmo_servicekit.idempotency import IdempotencyKeyHeader, run_command

router = APIRouter(tags=["objectives"], responses=PROBLEMS)
IfMatch = Annotated[str | None, Header(alias="If-Match")]


async def _answer(request: Request, response: Response, objective_id: str) -> dict[str, Any]:
    view, version = await queries.get_objective(service(request).db, objective_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.post("/objectives", status_code=201)
async def create_objective(
    body: ObjectiveCreate, principal: Analyst, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    objective_id = str(uuid.uuid4())
    definition = ObjectiveDefinition(body.title, body.description, body.weight, body.period.start, body.period.end)

    async def action(uow: UnitOfWork) -> Response:
        new_events = objective_rules.create(objective_id, definition, principal.subject)
        state, version = await commands.create_objective(uow, objective_id, new_events)
        view = queries.objective_view(state.model_dump(mode="json"))
        headers = {"Location": f"/objectives/{objective_id}", "ETag": etag(version)}
        return JSONResponse({**view, "version": version}, status_code=201, headers=headers)

    try:
        runtime = service(request).commands
        return await run_command(runtime, metadata_for(request, principal), request, principal, action)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.get("/objectives")
async def list_objectives(
    _principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(pattern="^(active|retired)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    items, next_cursor = await queries.list_objectives(service(request).db, status, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/objectives/{objective_id}")
async def read_objective(
    objective_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    try:
        return await _answer(request, response, objective_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.patch("/objectives/{objective_id}")
async def update_objective(
    objective_id: str,
    body: ObjectivePatch,
    principal: Analyst,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change title, description, weight or period; `If-Match` guards against overwriting a newer version."""
    if not body.model_fields_set:
        raise invalid("", "name at least one of title, description, weight, period")

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

    try:
        await commands.change_objective(
            service(request).commands,
            objective_id,
            rule,
            metadata_for(request, principal),
            if_match=parse_if_match(if_match),
        )
        return await _answer(request, response, objective_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc


@router.post("/objectives/{objective_id}/retire")
async def retire_objective(
    objective_id: str,
    principal: Analyst,
    request: Request,
    response: Response,
    body: ObjectiveRetire | None = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Retired objectives stay in history; proposals can no longer contribute to them."""
    reason = body.reason if body else None
    try:
        await commands.change_objective(
            service(request).commands,
            objective_id,
            lambda objective: objective_rules.retire(objective, principal.subject, reason),
            metadata_for(request, principal),
            if_match=parse_if_match(if_match),
        )
        return await _answer(request, response, objective_id)
    except DOMAIN_ERRORS as exc:
        raise problem_for(exc) from exc

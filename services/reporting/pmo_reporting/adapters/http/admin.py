"""Operations on the read models: their positions, lag and state, and online rebuilds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from pmo_reporting.adapters.http.responses import ProjectionsStatus, RebuildStarted
from pmo_reporting.application.rebuild import RebuildRefused, Rebuilds
from pmo_reporting.application.status import projections_status
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, service_runtime
from pmo_servicekit.problems import Problem, ProblemTable
from pmo_servicekit.routing import FlatRoute

router = APIRouter(prefix="/admin/projections", tags=["operations"], route_class=FlatRoute)


def rebuild_running(exc: RebuildRefused) -> Problem:
    detail = f"a rebuild of {exc} is already running; force=true takes over one whose process died"
    return Problem(409, "rebuild-running", detail)


#: How reporting's errors answer over HTTP (registered on its ServiceDefinition).
PROBLEM_TABLE: ProblemTable = {RebuildRefused: rebuild_running}


def rebuilds_of(request: Request) -> Rebuilds:
    """One rebuild registry per app, made on first use."""
    state = request.app.state
    if getattr(state, "rebuilds", None) is None:
        runtime = service_runtime(request)
        state.rebuilds = Rebuilds(runtime.db, workers=runtime.settings.rebuild_processes)
    return state.rebuilds


async def stop_rebuilds(app: FastAPI) -> None:
    """At shutdown, before the database is disposed: the rebuilds still running are cancelled (their forked
    workers killed and reaped), not left to the event loop's teardown."""
    rebuilds = getattr(app.state, "rebuilds", None)
    if rebuilds is not None:
        await rebuilds.stop()


def _log_end(request: Request) -> dict[str, int]:
    subscription = service_runtime(request).subscription
    return dict(subscription.status.log_end) if subscription is not None else {}


@router.get(
    "",
    summary="List the read models and their positions",
    response_model=ProjectionsStatus,
    **allow("pmo_analyst", "admin"),
)
async def list_projections(_principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """Each read model: position per topic partition, lag, generation and state (with rebuild progress)."""
    return await projections_status(service_runtime(request).db, _log_end(request), rebuilds_of(request).progress)


@router.post(
    "/{name}/rebuild",
    status_code=202,
    summary="Rebuild a read model online",
    response_model=RebuildStarted,
    responses=answers(
        404, 409, status=202, location=True, notes={202: "the rebuild started; `Location` is where its progress shows"}
    ),
    **allow("admin"),
)
async def rebuild_projection(
    name: PathId,
    principal: CurrentPrincipal,
    request: Request,
    force: Annotated[bool, Query(description="take over a rebuild whose process died")] = False,
) -> JSONResponse:
    """Rebuild from the log's beginning into a new generation; the current one answers until the swap."""
    projection = PROJECTIONS.get(name)
    if projection is None:
        raise Problem(404, "not-found", f"no read model is named {name}; known: {', '.join(sorted(PROJECTIONS))}")
    (progress,) = await rebuilds_of(request).start(projection, force=force)
    body = {"name": name, "requested_by": principal.subject, **progress.as_json()}
    return JSONResponse(body, status_code=202, headers={"Location": "/admin/projections"})

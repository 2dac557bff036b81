"""Every HTTP operation of the four services is written out where a reader searching for it looks: a
module-level function under its own `@router.<method>("<path>")` decorator, never a route added at run time
by a loop or a factory (issue 13: pause, resume and cancel once were, and searching for them found nothing)."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from pmo_devstack.testing import openapi_of
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceDefinition

DEFINITIONS = (INTAKE, PORTFOLIO, RESOURCING, REPORTING)
#: What pmo_servicekit serves for every service (health, metrics, documents), written out there once.
SHARED = {"/metrics", "/health/live", "/health/ready"}


def service_routes(definition: ServiceDefinition) -> list[APIRoute]:
    """The routes the service's own routers declare (not the shared health, metrics and docs ones)."""
    return [route for router in definition.routers for route in router.routes if isinstance(route, APIRoute)]


def written_out(route: APIRoute) -> str | None:
    """Why `route` is not written out where a reader would look for it, or None when it is."""
    module = sys.modules[route.endpoint.__module__]
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    function = functions.get(route.endpoint.__name__)
    if function is None:
        return f"{route.path}: {route.endpoint.__name__} is not a module-level function of {module.__name__}"
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in {method.lower() for method in route.methods or ()}
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
            and isinstance(decorator.args[0].value, str)
            and route.path.endswith(decorator.args[0].value)
        ):
            return None
    return f"{route.path}: {module.__name__}.{function.name} has no @router.<method>({route.path!r}) decorator"


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_every_operation_is_a_decorated_function_naming_its_path(definition: ServiceDefinition) -> None:
    routes = service_routes(definition)
    served = {path for path in openapi_of(definition)["paths"] if path not in SHARED}
    assert {route.path for route in routes} >= served, "an operation the service serves is on none of its routers"
    assert [why for route in routes if (why := written_out(route))] == []


#: How pause, resume and cancel were once registered: in a loop, so no search for "/pause" found them.
looped = APIRouter()
for _action in ("pause", "resume", "cancel"):

    async def _act(project_id: str) -> None:
        """One endpoint for every action, registered at run time."""

    looped.add_api_route(f"/projects/{{project_id}}/{_action}", _act, methods=["POST"])

written = APIRouter()


@written.post("/projects/{project_id}/close")
async def close_project(project_id: str) -> None:
    """Written out where a reader looks for it."""


def test_a_route_registered_at_run_time_is_caught() -> None:
    assert all(isinstance(route, APIRoute) and written_out(route) for route in looped.routes)
    [close] = written.routes
    assert isinstance(close, APIRoute) and written_out(close) is None

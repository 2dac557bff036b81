"""The OpenAPI document every service serves, finished the same way: ids, security, roles, problems.

- operationIds are the route functions' names in camelCase (`create_proposal` → `createProposal`);
- operations without a token say so (`security: []`); the bearer scheme says `bearerFormat: JWT`;
- each secured operation lists the roles it needs in `x-required-roles` and in its description, from
  the route's one access declaration (`x-required-roles` and `x-ownership` its `openapi_extra` sets),
  else read from the dependency that enforces them (`required_roles` on the dependency's callable);
- the statuses every operation of a kind can answer are added (400, 401, 403, 413, 422, 503), and every
  4xx/5xx without its own model answers the one `Problem` schema as `application/problem+json`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from pmo_servicekit.contract.responses import HEADERS, Problem, problem_response

_FASTAPI_VALIDATION = "#/components/schemas/HTTPValidationError"


def operation_id(route: APIRoute) -> str:
    """`create_proposal` → `createProposal`."""
    first, *rest = route.name.strip("_").split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def required_roles(route: APIRoute) -> tuple[str, ...]:
    """The roles any one of which an operation needs (empty: any signed-in caller)."""
    roles: set[str] = set()
    for call in _calls(route.dependant):
        roles.update(getattr(call, "required_roles", ()))
    return tuple(sorted(roles))


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def install_contract(app: FastAPI) -> None:
    """Serve the finished document at `/openapi.json` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = finish(document, list(_api_routes(app)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Each operation's route with its full path (routers are included with their prefixes)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            yield context.path_format, route


def finish(document: dict[str, Any], routes: list[tuple[str, APIRoute]]) -> dict[str, Any]:
    for path, route in routes:
        for method in route.methods or ():
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is not None:
                _finish_operation(operation, route)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["FieldError"] = schemas["Problem"].pop("$defs")["FieldError"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for scheme in components.get("securitySchemes", {}).values():
        if scheme.get("scheme") == "bearer":
            scheme["bearerFormat"] = "JWT"
    return document


def _finish_operation(operation: dict[str, Any], route: APIRoute) -> None:
    responses = operation.setdefault("responses", {})
    secured = bool(operation.get("security"))
    if not secured:
        operation["security"] = []
    else:
        roles = operation.setdefault("x-required-roles", list(required_roles(route)))
        who = ", ".join(f"`{r}`" for r in roles) if roles else "any signed-in caller"
        ownership = operation.get("x-ownership", {}).get("description")
        access = " ".join([f"**Roles:** {who}.", *([ownership] if ownership else [])])
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{access}".lstrip()
        responses.setdefault("401", {})
        if roles:
            responses.setdefault("403", {})
        responses.setdefault("503", {})
    if operation.get("parameters") or operation.get("requestBody"):
        responses.setdefault("422", {})
    if operation.get("requestBody"):
        responses.setdefault("413", {})
    if operation.get("requestBody") or any(
        p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", [])
    ):  # a body that cannot be read (nested past the parser's depth), an If-Match that is not an ETag
        responses.setdefault("400", {})
    for status, response in responses.items():
        if status[:1] in ("4", "5"):
            _as_problem(int(status), response)
    operation["responses"] = dict(sorted(responses.items()))


def _as_problem(status: int, response: dict[str, Any]) -> None:
    """A 4xx/5xx without a model of its own answers `Problem` (FastAPI's own 422 model included)."""
    content = response.get("content", {})
    schemas = [media.get("schema", {}) for media in content.values()]
    if not schemas or all(not s or s.get("$ref") == _FASTAPI_VALIDATION for s in schemas):
        default = problem_response(status)
        description = response.get("description")
        response["content"] = default["content"]
        if not description or description == "Validation Error":
            response["description"] = default["description"]
        response.setdefault("headers", {}).update(default.get("headers", {}))
    if status == 503:
        response.setdefault("headers", {}).setdefault("Retry-After", HEADERS["Retry-After"])
    if not response.get("headers"):
        response.pop("headers", None)

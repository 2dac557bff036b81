"""A route whose dependencies are solved from a plan made once, not walked again on every request (issue 17).

FastAPI's `solve_dependencies` walks a route's whole dependency tree per request: for a command route that is
six solves (the roles check, authentication and the bearer scheme, then authentication and the bearer scheme
again for the endpoint's own principal), each computing its cache key, classifying its callable and building
a result object; and it checks a JSON body's content type by building an `email.message.Message`. Together
about two thirds of FastAPI's own CPU per command. `FlatRoute` keeps what a route means (the same OpenAPI
document: `dependant` is FastAPI's own; the same values, errors, 401/403/422 answers, in the same order) and
runs it from a plan made when the route is built: each dependency once per request by its cache key (a
dependency met again answers its first value, or its first errors), parameters validated by FastAPI's own
`request_params_to_args` and `request_body_to_args`, answers serialized by FastAPI's `serialize_response`.

Routes the plan does not cover are left to FastAPI's handler: generator dependencies (their teardown needs
FastAPI's exit stacks), OAuth scopes, background tasks, forms, streams, a custom response class, a body size
limit; and, per request, dependency overrides (tests) and FastAPI's own request telemetry when it is on.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _effective_route_context_var,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _update_scope,
    serialize_response,
)
from fastapi.telemetry import get_telemetry_data
from fastapi.utils import is_body_allowed_for_status_code
from pydantic_core import PydanticUndefined as Undefined
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def is_json_content_type(value: str) -> bool:
    """FastAPI's test of a body's `Content-Type` (`application/json` or `application/*+json`), without the
    `email.message.Message` it builds for it: the same parse (`Message.get_content_type`)."""
    ctype = value.partition(";")[0].strip().lower()
    if ctype.count("/") != 1:
        return False  # email reads it as text/plain
    main, sub = ctype.split("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


#: Defaults FastAPI would copy (`deepcopy(field.default)`) that are their own copy.
_IMMUTABLE = (type(None), str, int, float, bool)


@dataclass(frozen=True, eq=False)
class _Absent:
    """Optional parameters of one place (headers, query) that a request most often sends none of (an
    `Idempotency-Key`, `If-Match`, paging): when no key FastAPI would look them up by is there, their values are
    their defaults, as `request_params_to_args` answers them, without its per-field work (the field's sequence
    test, its aliases, a multidict lookup, a validation of the default it skips anyway)."""

    keys: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, fields: list[Any]) -> _Absent | None:
        """None when a field needs FastAPI's own path even when absent: a parameter model, a required value,
        a default it validates or copies."""
        keys: list[str] = []
        for field in fields:
            info = field.field_info
            if (
                _get_param_model(field) is not None
                or info.is_required()
                or info.validate_default
                or type(field.default) not in _IMMUTABLE
            ):
                return None
            keys += [key for _alias, key in _get_param_aliases(field)]
        return cls(tuple(dict.fromkeys(keys)), {field.name: field.default for field in fields})


@dataclass(frozen=True, eq=False)
class _Step:
    """One dependant of the tree: what to validate, what to solve first, what to call."""

    key: tuple[Any, str]
    name: str | None
    call: Callable[..., Any] | None
    is_coroutine: bool
    subs: tuple[_Step, ...]
    params: tuple[tuple[list[Any], str, _Absent | None], ...]  # (fields, where, absent): path, query, header, cookie
    request_name: str | None
    connection_name: str | None
    response_name: str | None


def _plan(dependant: Dependant) -> _Step | None:
    """The dependant as a plan, or None when it uses something only FastAPI's handler does."""
    if (
        dependant.own_oauth_scopes
        or dependant.parent_oauth_scopes
        or dependant.security_scopes_param_name
        or dependant.background_tasks_param_name
        or dependant.websocket_param_name
        or dependant.concurrency is not None
        or not dependant.use_cache
    ):
        return None
    function = _function_of(dependant.call)
    if function is None or inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        return None
    subs = []
    for sub in dependant.dependencies:
        step = _plan(sub)
        if step is None or sub.body_params:
            return None
        subs.append(step)
    call = dependant.call
    is_coroutine = inspect.iscoroutinefunction(function)
    where = ("path", "query", "header", "cookie")
    fields = (dependant.path_params, dependant.query_params, dependant.header_params, dependant.cookie_params)
    return _Step(
        key=(call, dependant.scope or ""),
        name=dependant.name,
        call=call,
        is_coroutine=is_coroutine,
        subs=tuple(subs),
        params=tuple(
            (f, w, _Absent.of(f) if w in ("query", "header") else None) for f, w in zip(fields, where, strict=True) if f
        ),
        request_name=dependant.request_param_name,
        connection_name=dependant.http_connection_param_name,
        response_name=dependant.response_param_name,
    )


def _function_of(call: Any) -> Any:
    """The function a dependency runs: itself, or its type's `__call__` for an instance (`HTTPBearer()`);
    None for anything else (a class, a partial), which is left to FastAPI."""
    if inspect.isfunction(call) or inspect.ismethod(call):
        return call
    if call is None or inspect.isclass(call):
        return None
    dunder = inspect.getattr_static(type(call), "__call__", None)
    return dunder if inspect.isfunction(dunder) else None


def _needs_response(step: _Step) -> bool:
    return step.response_name is not None or any(_needs_response(sub) for sub in step.subs)


class _Solving:
    """One request's solve: values by cache key, errors in FastAPI's order."""

    __slots__ = ("cache", "failed", "request", "response", "sources")

    def __init__(self, request: Request, response: Response | None) -> None:
        self.request = request
        self.response = response
        self.cache: dict[tuple[Any, str], Any] = {}
        self.failed: dict[tuple[Any, str], list[Any]] = {}
        self.sources: dict[str, Any] = {}

    def source(self, where: str) -> Any:
        found = self.sources.get(where)
        if found is None:
            request = self.request
            found = {
                "path": lambda: request.path_params,
                "query": lambda: request.query_params,
                "header": lambda: request.headers,
                "cookie": lambda: request.cookies,
            }[where]()
            self.sources[where] = found
        return found

    async def arguments(self, step: _Step, errors: list[Any]) -> dict[str, Any]:
        """The values `step`'s call takes; its sub-dependencies solved (and called) first, errors added."""
        values: dict[str, Any] = {}
        for sub in step.subs:
            if sub.key in self.cache:
                value = self.cache[sub.key]
            elif sub.key in self.failed:
                errors.extend(self.failed[sub.key])
                continue
            else:
                sub_errors: list[Any] = []
                arguments = await self.arguments(sub, sub_errors)
                if sub_errors:
                    self.failed[sub.key] = sub_errors
                    errors.extend(sub_errors)
                    continue
                assert sub.call is not None
                if sub.is_coroutine:
                    value = await sub.call(**arguments)
                else:
                    value = await run_in_threadpool(sub.call, **arguments)
                self.cache[sub.key] = value
            if sub.name is not None:
                values[sub.name] = value
        for fields, where, absent in step.params:
            source = self.source(where)
            if absent is not None and not any(key in source for key in absent.keys):
                values.update(absent.defaults)
                continue
            found, found_errors = request_params_to_args(fields, source)
            values.update(found)
            errors += found_errors
        if step.request_name:
            values[step.request_name] = self.request
        if step.connection_name:
            values[step.connection_name] = self.request
        if step.response_name:
            values[step.response_name] = self.response
        return values


class FlatRoute(APIRoute):
    """An `APIRoute` that solves its dependencies from a plan (see the module's docstring)."""

    def get_route_handler(self) -> Handler:
        fastapi_handler = super().get_route_handler()
        # FastAPI builds a route's handler once per inclusion, with what the including router adds (its
        # dependencies, prefix, the app as the provider of dependency overrides) in this context variable,
        # as its own `APIRoute.get_route_handler` reads it.
        # No such context (the router's own copy of the route, or a FastAPI that passes it another way): FastAPI's
        # own handler, never a plan that could miss an including router's dependencies (its role checks).
        effective = _effective_route_context_var.get()
        if effective is None or effective.original_route is not self:
            return fastapi_handler
        route: Any = effective
        plan = _plan(route.dependant)
        if (
            plan is None
            or (route.body_field is not None and isinstance(route.body_field.field_info, params.Form))
            or route.stream_item_field is not None
            or route.is_json_stream
            or not isinstance(route.response_class, DefaultPlaceholder)
            or route.max_body_size is not None
            or not plan.is_coroutine
        ):
            return fastapi_handler
        return _flat_handler(route, plan, fastapi_handler)


def _endpoint_context(route: Any) -> dict[str, Any]:
    """What FastAPI puts in a validation error about the endpoint (its file, line, name and path)."""
    context: dict[str, Any] = {}
    try:
        context["file"] = inspect.getsourcefile(route.endpoint)
        context["line"] = inspect.getsourcelines(route.endpoint)[1]
    except (OSError, TypeError):
        pass
    context["function"] = getattr(route.endpoint, "__name__", None)
    return context


def _flat_handler(route: Any, plan: _Step, fastapi_handler: Handler) -> Handler:
    body_field, body_fields, embed = route.body_field, route.dependant.body_params, route._embed_body_fields
    strict_content_type = route.strict_content_type
    strict = strict_content_type.value if isinstance(strict_content_type, DefaultPlaceholder) else strict_content_type
    overrides = route.dependency_overrides_provider
    needs_response = _needs_response(plan)
    endpoint_context = _endpoint_context(route)
    status_code, response_field = route.status_code, route.response_field
    use_dump_json = response_field is not None  # the response class is the default one (checked above)

    async def handler(request: Request) -> Response:
        if (overrides is not None and getattr(overrides, "dependency_overrides", None)) or (
            get_telemetry_data() is not None
        ):
            return await fastapi_handler(request)
        root = request.scope.get("root_path", "").rstrip("/")
        context: Any = {**endpoint_context, "path": f"{request.method} {root}{route.dependant.path}"}
        body: Any = Undefined
        if body_field is not None:
            body = await _read_body(request, strict, context)
        response = None
        if needs_response:
            response = Response()
            del response.headers["content-length"]
            response.status_code = None  # type: ignore[assignment]
        solving = _Solving(request, response)
        errors: list[Any] = []
        values = await solving.arguments(plan, errors)
        if body_fields:
            found, body_errors = await request_body_to_args(
                body_fields=body_fields, received_body=body, embed_body_fields=embed
            )
            values.update(found)
            errors.extend(body_errors)
        if errors:
            raise RequestValidationError(errors, body=None if body is Undefined else body, endpoint_ctx=context)
        assert route.dependant.call is not None
        raw = await route.dependant.call(**values)
        if isinstance(raw, Response):
            return raw
        content = await serialize_response(
            field=response_field,
            response_content=raw,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
            is_coroutine=True,
            endpoint_ctx=context,
            dump_json=use_dump_json,
        )
        arguments: dict[str, Any] = {"background": None}
        if status_code:
            arguments["status_code"] = status_code
        if response is not None and response.status_code:
            arguments["status_code"] = response.status_code
        if use_dump_json:
            answer: Response = Response(content=content, media_type="application/json", **arguments)
        else:
            answer = JSONResponse(content, **arguments)
        if not is_body_allowed_for_status_code(answer.status_code):
            answer.body = b""
        if response is not None:
            answer.headers.raw.extend(response.headers.raw)
        return answer

    return handler


async def _read_body(request: Request, strict: bool, context: Any) -> Any:
    """The body as FastAPI reads it for a JSON body parameter: parsed when its content type is JSON (or absent
    and the route is not strict), else the bytes; `Undefined` when empty."""
    try:
        body_bytes = await request.body()
        if not body_bytes:
            return Undefined
        content_type = request.headers.get("content-type")
        if (not strict) if not content_type else is_json_content_type(content_type):
            return await request.json()
        return body_bytes
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {},
                 "ctx": {"error": exc.msg}}  # fmt: skip
        raise RequestValidationError([error], body=exc.doc, endpoint_ctx=context) from exc
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def flat_dispatch(router: APIRouter) -> None:
    """The app's router finds an HTTP request's route matching each included router's routes once (issue 17).

    FastAPI 0.165 keeps every included router as one `_IncludedRouter`: the app's router asks each in turn
    whether it `matches` (its routes scanned), then hands the request to the one that did, which scans its routes
    again (`_handle_selected`) to find the same route, through two more indirections. About a quarter of a
    draft's HTTP layer. Here the routers are tried in the same order, each by FastAPI's own `_match` (its routes
    in order, each route matched under its effective context, as FastAPI does); the route found is handled with
    the scope FastAPI gives it (form limits, the included router, the path parameters, the effective context,
    `scope["route"]`). Anything else goes to FastAPI's dispatch from the start, the scope untouched: a route
    of the app's own that matches first (the OpenAPI document, docs), a route below a nested router, no full
    match (404, 405, a slash redirect, low-priority routes), FastAPI's request telemetry, a lifespan or a
    websocket, a router with middleware or a body limit of its own.

    An included router none of whose routes can match the request's path (each route's path begins with a
    fixed first segment, and none is the request's: `_first_segments`) is passed over without matching its
    routes one by one: it could not have matched in full."""
    fastapi_dispatch = router.middleware_stack
    if fastapi_dispatch != router.app:  # middleware or a body limit: not ours
        return
    heads: dict[int, tuple[tuple[int, int] | None, list[Any], frozenset[str] | None]] = {}

    def first_segments(route: _IncludedRouter) -> frozenset[str] | None:
        # A router whose routes include no router (its segments are known then) has not changed while its own
        # routes version and count are what they were: its first segments are taken without asking FastAPI for
        # its candidates, whose version walks every route of the router on every request.
        original = route.original_router
        stamp = (original._routes_version, len(original.routes))
        known = heads.get(id(route))
        if known is not None and known[0] == stamp:
            return known[2]
        candidates = route.effective_candidates()  # the same list until its router's routes change
        segments = _first_segments(candidates) if known is None or known[1] is not candidates else known[2]
        heads[id(route)] = (stamp if segments is not None else None, candidates, segments)
        return segments

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "fastapi.telemetry" not in scope:
            path = get_route_path(scope)
            head = path.split("/", 2)[1] if path.startswith("/") else None
            for route in router.routes:
                if isinstance(route, _IncludedRouter):
                    segments = first_segments(route) if head is not None else None
                    if segments is not None and head not in segments:
                        continue  # none of its routes can match this path
                    match, child_scope, selected, context = route._match(scope)
                    if match is not Match.FULL:
                        continue
                    if isinstance(selected, APIRoute) and context is not None and context.original_route is selected:
                        _apply_router_form_limits(scope, router.form_limits)
                        scope.setdefault("router", router)
                        _apply_router_form_limits(scope, route.include_context.form_limits)
                        fastapi_scope = _get_fastapi_scope(scope)
                        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = route
                        _update_scope(scope, child_scope)
                        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
                        scope["route"] = selected
                        await selected.handle(scope, receive, send)
                        return
                    break
                if route.matches(scope)[0] is Match.FULL:
                    break
        await fastapi_dispatch(scope, receive, send)

    router.middleware_stack = dispatch


def _first_segments(candidates: list[Any]) -> frozenset[str] | None:
    """The first segments of the paths an included router's routes match (`/projects/{id}/gates`: `projects`),
    or None when one of them could match any (a parameter there, a nested router, a route of another kind)."""
    found = set()
    for candidate in candidates:
        if not isinstance(candidate, _EffectiveRouteContext) or not isinstance(candidate.original_route, APIRoute):
            return None
        path = candidate.path_format
        if not path.startswith("/"):
            return None
        head = path.split("/", 2)[1]
        if "{" in head or "}" in head:
            return None
        found.add(head)
    return frozenset(found)

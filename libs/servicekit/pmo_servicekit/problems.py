"""RFC 9457 problem documents: every error a client sees, with a stable `type` and field paths."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pmo_events.runtime import ConcurrencyConflict, StaleVersion
from pmo_events.runtime.store import EventTooLarge

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:pmo:problem:"

_STATUS_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    500: "internal-error",
    503: "unavailable",
}


class Problem(Exception):
    """Raise from any handler: becomes `application/problem+json` with `status` and `type`."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or kind.replace("-", " ").capitalize()
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as `{field, location, message, code}`, the field as a dotted path."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else None
        path = loc[1:] if location else loc
        out.append(
            {
                "field": ".".join(path) or (location or ""),
                "location": location,
                "message": error.get("msg", "invalid"),
                "code": error.get("type", "invalid"),
            }
        )
    return out


#: How one kind of error answers: its problem document (status, stable type, detail, extra members).
ProblemFor = Callable[[Any], Problem]
#: A service's errors and how each answers; a subclass not listed answers as its nearest listed base.
ProblemTable = Mapping[type[Exception], ProblemFor]


def stale_version(exc: StaleVersion) -> Problem:
    return Problem(412, "stale-version", f"{exc}; read it again", headers={"ETag": f'"{exc.current}"'})


def lost_race(exc: ConcurrencyConflict) -> Problem:
    return Problem(409, "concurrent-change", "other changes to the same record kept landing first; try again")


#: What every service answers the same way (see `pmo_servicekit.commands`).
COMMON_PROBLEMS: ProblemTable = {StaleVersion: stale_version, ConcurrencyConflict: lost_race}


def invalid_field(field: str, message: str, *, location: str = "body", code: str = "rule") -> Problem:
    """A 422 naming the one field a rule refused."""
    error = {"field": field, "location": location, "message": message, "code": code}
    return Problem(422, "validation-error", message, errors=[error])


def install_problem_handlers(app: FastAPI, table: ProblemTable | None = None) -> None:
    """Errors answer as problem documents: the service's table (and the common one), validation, HTTP, database."""
    for error, problem_for in {**COMMON_PROBLEMS, **(table or {})}.items():
        app.add_exception_handler(error, _answer_with(problem_for))

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
        detail = f"the request is not valid: {fields}" if fields else "the request is not valid"
        return problem_response(Problem(422, "validation-error", detail, errors=errors), request)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _STATUS_TYPES.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else kind
        return problem_response(Problem(exc.status_code, kind, detail, headers=dict(exc.headers or {})), request)

    @app.exception_handler(EventTooLarge)
    async def on_event_too_large(request: Request, exc: EventTooLarge) -> JSONResponse:
        # Raised before the transaction commits: nothing was stored, the broker would have refused it.
        detail = f"the request would record an event of {exc.size} bytes; at most {exc.limit} are allowed"
        return problem_response(Problem(413, "event-too-large", detail, event_type=exc.event_type), request)

    @app.exception_handler(DBAPIError)
    async def on_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if _sqlstate(exc).startswith("22"):
            # A value the database cannot store is the client's input, not our fault: 422, nothing stored.
            log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
            detail = "a value in the request cannot be stored (out of range or not representable)"
            return problem_response(Problem(422, "unstorable-value", detail), request)
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
            problem = Problem(
                503, "unavailable", "the database is unavailable; retry shortly", headers={"Retry-After": "2"}
            )
            return problem_response(problem, request)
        log.exception("database error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "internal-error", "an unexpected error occurred"), request)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "internal-error", "an unexpected error occurred"), request)


def _answer_with(problem_for: ProblemFor) -> Callable[[Request, Exception], Any]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(problem_for(exc), request)

    return handle


def _sqlstate(exc: DBAPIError) -> str:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return ""

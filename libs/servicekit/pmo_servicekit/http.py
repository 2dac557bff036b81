"""Small HTTP conventions every service follows: the runtime, ETags and If-Match, request metadata, answers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pmo_events.runtime import Metadata
from pmo_events.runtime.tracing import current_traceparent
from pmo_servicekit.auth import Principal
from pmo_servicekit.problems import Problem, invalid_field

if TYPE_CHECKING:
    from pmo_servicekit.service import ServiceRuntime

#: An id in a path (`/projects/{project_id}`): ids are at most 64 characters (a stream's id), so a longer one is a
#: 422 naming it, never a lookup or a write of a value no column holds (session 10: lengths at the edge).
PathId = Annotated[str, Path(max_length=64)]
#: A person (a board member's `subject`) or a free-form key (a benefit's id) in a path: at most 200 characters.
PathText = Annotated[str, Path(max_length=200)]


def service_runtime(request: Request) -> ServiceRuntime:
    """The service's runtime (database, store, commands, subscription), one per process."""
    return request.app.state.runtime


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: "3"` → 3; absent → None (no precondition); anything else → 400-class problem."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise Problem(400, "bad-precondition", 'If-Match must be an ETag this API gave, such as "3"')
    return int(text)


# The dependencies below do no I/O: as coroutines FastAPI calls them on the event loop instead of handing each
# request to its thread pool (a thread hop per command that sends If-Match).
async def _if_match(
    value: Annotated[
        str | None,
        Header(alias="If-Match", max_length=64, description='The ETag you read, e.g. "3": 412 if it changed since'),
    ] = None,
) -> int | None:
    return parse_if_match(value)


async def _required_if_match(expected: Annotated[int | None, Depends(_if_match)]) -> int:
    if expected is None:
        raise Problem(428, "precondition-required", 'send If-Match with the ETag you read, e.g. If-Match: "3"')
    return expected


#: The version the client read, from `If-Match` (None when it sent none): a command on a newer one answers 412.
IfMatch = Annotated[int | None, Depends(_if_match)]
#: The same, for updates that must not run blind: no `If-Match` answers 428.
RequiredIfMatch = Annotated[int, Depends(_required_if_match)]


#: The longest `X-Correlation-Id` taken: every event's `correlation_id` column holds this many characters.
CORRELATION_ID_MAX = 64


def metadata_for(request: Request, principal: Principal) -> Metadata:
    """Who (the token's subject), the correlation id (the client's, else the request id) and the trace context.
    A client's correlation id longer than the events' column is a 422 naming the header (it was cut to 64
    characters, so the events no longer carried the id the client would search them by)."""
    correlation = (
        request.headers.get("x-correlation-id") or getattr(request.state, "request_id", None) or str(uuid.uuid4())
    )
    if len(correlation) > CORRELATION_ID_MAX:
        message = f"an X-Correlation-Id has at most {CORRELATION_ID_MAX} characters"
        raise invalid_field("X-Correlation-Id", message, location="header", code="string_too_long")
    return Metadata(actor=principal.subject, correlation_id=correlation, traceparent=current_traceparent())


def answer(body: Any, version: int, *, status_code: int = 200, location: str | None = None) -> Response:
    """A command's answer: the body, `ETag` = the version it is at, `Location` for what it created.

    A pydantic model as `body` is written by pydantic straight to JSON bytes: the same bytes as
    `JSONResponse(body.model_dump(mode="json"))` for models without floats (no `model_dump` dict, no `json.dumps`
    pass over it), so pass the model rather than its dump where no field is a float."""
    headers = {"ETag": etag(version)} | ({"Location": location} if location else {})
    if isinstance(body, BaseModel):
        return Response(
            body.model_dump_json().encode(), status_code=status_code, headers=headers, media_type="application/json"
        )
    return JSONResponse(body, status_code=status_code, headers=headers)


async def answered(
    outcome: Awaitable[tuple[Any, int]], *, status_code: int = 200, location: str | None = None
) -> Response:
    """`answer` of what a command handler gives back: (body, version)."""
    body, version = await outcome
    return answer(body, version, status_code=status_code, location=location)

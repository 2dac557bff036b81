"""Small HTTP conventions every service follows: ETags from stream versions, request metadata."""

from __future__ import annotations

import uuid

from fastapi import Request

from pmo_events.runtime import Metadata
from pmo_events.runtime.tracing import current_traceparent
from pmo_servicekit.auth import Principal
from pmo_servicekit.problems import Problem


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


def metadata_for(request: Request, principal: Principal) -> Metadata:
    """Who (the token's subject), the correlation id (the client's, else the request id) and the trace context."""
    correlation = (
        request.headers.get("x-correlation-id") or getattr(request.state, "request_id", None) or str(uuid.uuid4())
    )
    return Metadata(actor=principal.subject, correlation_id=correlation[:64], traceparent=current_traceparent())

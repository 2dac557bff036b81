"""Input guards at the edge: what no service should ever pass on to its database."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_048_576


class InputGuard:
    """Refuses NUL characters (PostgreSQL cannot store them) in path, query and body, and oversized bodies.

    A 422 names each offending field, so the client knows what to fix; nothing reaches a handler.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = _query_errors(scope)
        if "\x00" in scope.get("path", ""):
            errors.append({"field": "path", "location": "path", "message": "the path contains a NUL character"})
        if errors:
            await _problem(send, 422, "validation-error", "the request contains NUL characters", errors)
            return
        body, too_large = await _read_body(receive, self.max_body_bytes)
        if too_large:
            detail = f"the request body is larger than {self.max_body_bytes} bytes"
            await _problem(send, 413, "payload-too-large", detail, [])
            return
        if b"\\u0000" in body or b"\x00" in body:
            await _problem(send, 422, "validation-error", "the request contains NUL characters", _body_errors(body))
            return
        await self.app(scope, _replay(body, receive), send)


def _query_errors(scope: Scope) -> list[dict[str, Any]]:
    raw = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in raw and "\x00" not in raw:
        return []
    errors = []
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            field = name.replace("\x00", "\\0")
            errors.append(
                {"field": field, "location": "query", "message": "contains a NUL character", "code": "nul_character"}
            )
    return errors


def _body_errors(body: bytes) -> list[dict[str, Any]]:
    """Each JSON field (dotted path) whose text holds a NUL; the body as a whole when it is not JSON."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [_nul("body")]
    paths: list[str] = []
    _find_nul(document, "", paths)
    return [_nul(path or "body") for path in paths] or [_nul("body")]


def _find_nul(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                found.append(path or "body")
            _find_nul(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_nul(item, f"{path}.{index}" if path else str(index), found)


def _nul(field: str) -> dict[str, Any]:
    return {"field": field, "location": "body", "message": "contains a NUL character", "code": "nul_character"}


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read once, then the client's own messages: a streamed answer (a file) must not see a
    disconnect that did not happen."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _problem(send: Send, status: int, kind: str, detail: str, errors: list[dict[str, Any]]) -> None:
    body = orjson.dumps(
        {
            "type": f"urn:pmo:problem:{kind}",
            "title": kind.replace("-", " ").capitalize(),
            "status": status,
            "detail": detail,
            **({"errors": errors} if errors else {}),
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

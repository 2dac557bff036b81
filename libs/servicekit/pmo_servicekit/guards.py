"""Input guards at the edge: what no service should ever pass on to its database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_048_576
#: A JSON escape of a UTF-16 surrogate (`\ud800`): harmless in a pair, undecodable alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def screen(scope: Scope, receive: Receive, send: Send, max_body_bytes: int = MAX_BODY_BYTES) -> Receive | None:
    """The input guard of one HTTP request (`pmo_servicekit.edge.Edge` runs it for every request).

    Refuses NUL characters (PostgreSQL cannot store them) in path, query and body, oversized bodies, and JSON
    bodies holding text that is not Unicode (bytes that are not UTF-8, a lone surrogate `"\\ud800"`: no
    database, encoder or broker can carry them). A 422 names each offending field, so the client knows what to
    fix; nothing reaches a handler. Answers the `receive` the app reads the (already read) body from, or None
    once it has sent the refusal.
    """
    errors = _query_errors(scope)
    if "\x00" in scope.get("path", ""):
        errors.append({"field": "path", "location": "path", "message": "the path contains a NUL character"})
    if errors:
        await _problem(send, 422, "validation-error", "the request contains NUL characters", errors)
        return None
    body, too_large = await _read_body(receive, max_body_bytes)
    if too_large:
        detail = f"the request body is larger than {max_body_bytes} bytes"
        await _problem(send, 413, "payload-too-large", detail, [])
        return None
    if b"\\u0000" in body or b"\x00" in body:
        await _problem(send, 422, "validation-error", "the request contains NUL characters", _body_errors(body))
        return None
    if _is_json(scope) and (undecodable := _undecodable(body)):
        await _problem(send, 422, "validation-error", "the request contains text that is not Unicode", undecodable)
        return None
    return _replay(body, receive)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _undecodable(body: bytes) -> list[dict[str, Any]]:
    """Each JSON field whose text cannot be UTF-8 (a lone surrogate); the body when its bytes are not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [_not_unicode("body", "the body is not UTF-8")]
    if not _SURROGATE_ESCAPE.search(body):
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []  # not JSON: the handler's own parser answers
    paths: list[str] = []
    _find(document, "", paths, _is_not_unicode)
    return [_not_unicode(path or "body", "contains a lone UTF-16 surrogate, which is not text") for path in paths]


def _is_not_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _not_unicode(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "location": "body", "message": message, "code": "invalid_unicode"}


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
    _find(document, "", paths, lambda text: "\x00" in text)
    return [_nul(path or "body") for path in paths] or [_nul("body")]


def _find(value: Any, path: str, found: list[str], bad: Callable[[str], bool]) -> None:
    """The dotted path of each string in `value` that is `bad` (a bad key names the object holding it)."""
    if isinstance(value, str):
        if bad(value):
            found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if bad(str(key)):
                found.append(path or "body")
            _find(item, f"{path}.{_printable(key)}" if path else _printable(key), found, bad)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find(item, f"{path}.{index}" if path else str(index), found, bad)


def _printable(key: Any) -> str:
    """A key as a field name that can itself be sent back (a lone surrogate escaped)."""
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")


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

"""Structured logs (structlog over stdlib logging): JSON lines for machines, readable lines for people.

Every line carries timestamp, level, service, logger and message, plus, when known, the trace and
span id of the current OpenTelemetry span, the request id and the actor (bound per request).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Libraries that narrate routine work below WARNING (aiokafka: every reassignment; aiosqlite: every query).
_CHATTY = ("aiokafka", "aiosqlite", "asyncio", "httpcore", "httpx")

access_log = logging.getLogger("pmo.access")


def configure_logging(*, service: str, level: str, json: bool) -> None:
    """Route every stdlib logger (ours, uvicorn's, the libraries') through one structlog formatter."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _service(service),
        _trace_context,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    rendering: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        rendering += [
            structlog.processors.dict_tracebacks,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    else:
        rendering.append(structlog.dev.ConsoleRenderer(colors=False))
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=rendering))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _dumps(value: Any, **_kw: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _service(name: str) -> Processor:
    def add(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("service", name)
        event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
        return event

    return add


def _trace_context(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


def bind_actor(actor: str) -> None:
    """Every later line of this request names who made it."""
    structlog.contextvars.bind_contextvars(actor=actor)


class RequestContext:
    """Pure ASGI middleware: a request id (the client's `X-Request-ID` or a new one) on every log line
    and on the response, and one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}

        async def with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, with_request_id)
            finally:
                _log_access(scope, status["code"], time.perf_counter() - started)
                structlog.contextvars.unbind_contextvars("actor")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    path = scope.get("path", "")
    if path.startswith(("/health/", "/metrics")):
        return  # probes and scrapes every few seconds would drown the lines that matter
    route = getattr(scope.get("route"), "path", None)
    access_log.info(
        "%s %s %d",
        scope.get("method"),
        path,
        status,
        extra={
            "http_method": scope.get("method"),
            "http_route": route,
            "http_status": status,
            "duration_ms": round(seconds * 1000, 2),
        },
    )

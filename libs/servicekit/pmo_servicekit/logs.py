"""Structured logs (structlog over stdlib logging): JSON lines for machines, readable lines for people.

Every line carries timestamp, level, service, logger and message, plus, when known, the trace and
span id of the current OpenTelemetry span, the request id and the actor (bound per request).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from starlette.types import Scope
from structlog.typing import EventDict, Processor, WrappedLogger

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
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


def request_id_of(scope: Scope) -> str:
    """The client's `X-Request-ID` when it is a sane one, else a new one (`pmo_servicekit.edge.Edge` puts it
    on every log line of the request and on the response)."""
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_BYTES:
            text = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """One access line per request (not for probes and scrapes)."""
    path = scope.get("path", "")
    if path.startswith(("/health/", "/metrics")):
        return  # probes and scrapes every few seconds would drown the lines that matter
    if not access_log.isEnabledFor(logging.INFO):
        return  # `PMO_LOG_LEVEL=warning`: not even the line's fields are worth building
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

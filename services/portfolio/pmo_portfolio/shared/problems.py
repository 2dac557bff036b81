"""Domain errors as RFC 9457 problem documents."""

from __future__ import annotations

from pmo_events.runtime import ConcurrencyConflict
from pmo_portfolio.shared.errors import (
    DomainError,
    EnvelopeExceeded,
    InvalidCommand,
    NotBoardMember,
    NotFound,
    StaleVersion,
)
from pmo_servicekit.http import etag
from pmo_servicekit.problems import Problem


def invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        message,
        errors=[{"field": field, "location": "body", "message": message, "code": "rule"}],
    )


def problem_for(exc: Exception) -> Problem:
    if isinstance(exc, NotFound):
        return Problem(404, "not-found", f"no {exc}")
    if isinstance(exc, NotBoardMember):
        return Problem(403, "not-board-member", str(exc))
    if isinstance(exc, InvalidCommand):
        return invalid(exc.field, exc.message)
    if isinstance(exc, StaleVersion):
        return Problem(412, "precondition-failed", str(exc), headers={"ETag": etag(exc.current)})
    if isinstance(exc, EnvelopeExceeded):
        return Problem(
            409,
            "envelope-exceeded",
            str(exc),
            fiscal_period=exc.fiscal_period,
            remaining=format(exc.remaining, "f"),
            asked=format(exc.asked, "f"),
        )
    if isinstance(exc, ConcurrencyConflict):
        return Problem(409, "concurrent-change", "another change to this portfolio landed first; try again")
    return Problem(409, "rule-violation", str(exc))


DOMAIN_ERRORS = (DomainError, ConcurrencyConflict)

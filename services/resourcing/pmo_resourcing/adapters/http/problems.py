"""How resourcing's domain and application errors answer over HTTP (RFC 9457 problem documents)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pmo_events.runtime import ConcurrencyConflict
from pmo_resourcing.application.resources import StaleVersion
from pmo_resourcing.domain.errors import (
    AllocationNotFound,
    DemandNotFound,
    DomainError,
    InvalidCommand,
    OverAllocated,
    ResourceNotFound,
    RuleViolation,
)
from pmo_servicekit.problems import Problem

PROBLEMS: dict[int | str, dict[str, object]] = {s: {} for s in (401, 403, 404, 409, 412, 422, 428)}


@contextmanager
def answered_as_problems() -> Iterator[None]:
    try:
        yield
    except (DomainError, StaleVersion, ConcurrencyConflict) as exc:
        raise problem_for(exc) from exc


def problem_for(exc: Exception) -> Problem:
    if isinstance(exc, ResourceNotFound):
        return Problem(404, "resource-not-found", f"no resource {exc}")
    if isinstance(exc, AllocationNotFound):
        return Problem(404, "allocation-not-found", f"no allocation {exc}")
    if isinstance(exc, DemandNotFound):
        return Problem(404, "demand-not-found", f"no demand {exc}")
    if isinstance(exc, InvalidCommand):
        error = {"field": exc.field, "location": "body", "message": exc.message, "code": "invalid"}
        return Problem(422, "validation-error", f"the request is not valid: {exc.field}", errors=[error])
    if isinstance(exc, OverAllocated):
        weeks = [w.model_dump(mode="json") for w in exc.weeks]
        return Problem(409, "over-allocation", str(exc), resource_id=exc.resource_id, weeks=weeks)
    if isinstance(exc, RuleViolation):
        return Problem(409, "rule-violation", str(exc))
    if isinstance(exc, StaleVersion):
        return Problem(412, "stale-version", f"{exc} changed since you read it; read it again")
    if isinstance(exc, ConcurrencyConflict):
        return Problem(409, "concurrent-change", "the resource's calendar is busy with other changes; try again")
    return Problem(409, "conflict", str(exc))


def required_if_match(value: int | None) -> int:
    if value is None:
        raise Problem(428, "precondition-required", "this update needs an If-Match header with the ETag you read")
    return value

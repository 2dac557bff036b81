"""How resourcing's domain errors answer over HTTP: its problem table (RFC 9457 problem documents)."""

from __future__ import annotations

from pmo_resourcing.domain.errors import (
    AllocationNotFound,
    DemandNotFound,
    DomainError,
    InvalidCommand,
    OverAllocated,
    ResourceNotFound,
    RuleViolation,
)
from pmo_servicekit.contract.wire import fte_text
from pmo_servicekit.problems import Problem, ProblemTable


def invalid(exc: InvalidCommand) -> Problem:
    error = {"field": exc.field, "location": "body", "message": exc.message, "code": "invalid"}
    return Problem(422, "validation-error", f"the request is not valid: {exc.field}", errors=[error])


def over_allocated(exc: OverAllocated) -> Problem:
    weeks = [
        {"week": w.week, "capacity": fte_text(w.capacity), "load": fte_text(w.load), "excess": fte_text(w.excess)}
        for w in exc.weeks
    ]
    return Problem(409, "over-allocation", str(exc), resource_id=exc.resource_id, weeks=weeks)


PROBLEM_TABLE: ProblemTable = {
    ResourceNotFound: lambda exc: Problem(404, "resource-not-found", f"no resource {exc}"),
    AllocationNotFound: lambda exc: Problem(404, "allocation-not-found", f"no allocation {exc}"),
    DemandNotFound: lambda exc: Problem(404, "demand-not-found", f"no demand {exc}"),
    InvalidCommand: invalid,
    OverAllocated: over_allocated,
    RuleViolation: lambda exc: Problem(409, "rule-violation", str(exc)),
    DomainError: lambda exc: Problem(409, "conflict", str(exc)),
}

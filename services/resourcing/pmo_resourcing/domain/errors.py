"""Domain errors of resourcing, in PMO words (the HTTP edge maps them to 4xx)."""

from __future__ import annotations

from collections.abc import Sequence

from pmo_events.contracts.resourcing import WeekLoad


class DomainError(Exception):
    """A rule refused the command."""


class ResourceNotFound(DomainError):
    pass


class AllocationNotFound(DomainError):
    pass


class DemandNotFound(DomainError):
    pass


class RuleViolation(DomainError):
    """The state of the resource, booking or project forbids this (answered 409)."""


class InvalidCommand(DomainError):
    """A value is unusable whatever the state (answered 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class OverAllocated(RuleViolation):
    """The booking would take these weeks above capacity; nobody accepted that with a reason."""

    def __init__(self, resource_id: str, weeks: Sequence[WeekLoad]) -> None:
        listed = ", ".join(f"{w.week} (capacity {w.capacity}, load {w.load}, excess {w.excess})" for w in weeks)
        super().__init__(f"resource {resource_id} would be over-allocated in {listed}")
        self.resource_id = resource_id
        self.weeks = tuple(weeks)

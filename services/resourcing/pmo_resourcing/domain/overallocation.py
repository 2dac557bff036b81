"""The over-allocation rule: refuse, or book knowingly with a reason and record the fact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pmo_events.contracts.resourcing import OverallocationCause, ResourceOverallocated, WeekLoad
from pmo_resourcing.domain.errors import InvalidCommand, OverAllocated


@dataclass(frozen=True)
class Acceptance:
    """A manager's explicit acceptance of over-allocation; without a reason it accepts nothing."""

    allow: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.allow and not (self.reason and self.reason.strip()):
            raise InvalidCommand("reason", "allow_overallocation needs a reason")


REFUSE = Acceptance()


def settle(
    resource_id: str,
    weeks: Sequence[WeekLoad],
    *,
    cause: OverallocationCause,
    acceptance: Acceptance,
    by: str,
    allocation_id: str | None = None,
    project_id: str | None = None,
) -> list[ResourceOverallocated]:
    """No weeks: nothing to record. Weeks and acceptance: the fact. Weeks alone: refused, naming them."""
    if not weeks:
        return []
    if not acceptance.allow:
        raise OverAllocated(resource_id, weeks)
    return [
        ResourceOverallocated(
            resource_id=resource_id,
            cause=cause,
            allocation_id=allocation_id,
            project_id=project_id,
            weeks=tuple(weeks),
            reason=acceptance.reason or "",
            accepted_by=by,
        )
    ]

"""Separation of duties: nobody decides on what they requested or sponsor; an unscored approval says why."""

from __future__ import annotations

from collections.abc import Iterable

from pmo_events.contracts.portfolio import Conflict
from pmo_portfolio.shared.errors import ConflictOfInterest, InvalidCommand


def automatic_conflicts(**roles: str | None) -> tuple[Conflict, ...]:
    """`requester="rita", sponsor="carol"` → each named person is conflicted, for that reason."""
    found: dict[str, Conflict] = {}
    for reason, subject in roles.items():
        if subject and subject not in found:
            found[subject] = Conflict(subject=subject, reason=reason)
    return tuple(found.values())


def conflicted(conflicts: Iterable[Conflict]) -> frozenset[str]:
    return frozenset(c.subject for c in conflicts)


def check_not_conflicted(conflicts: Iterable[Conflict], who: str, what: str) -> None:
    """Refuse `who` when they are conflicted on `what`, naming the reason."""
    for conflict in conflicts:
        if conflict.subject == who:
            raise ConflictOfInterest(f"{who} may not decide on {what}: conflict of interest ({conflict.reason})")


def check_override(unscored: bool, approving: bool, override_reason: str | None) -> None:
    """Approving a candidate nobody scored needs an explicit override reason."""
    if approving and unscored and not (override_reason or "").strip():
        raise InvalidCommand(
            "override_reason", "the candidate has no weighted score: approving it needs an override reason"
        )

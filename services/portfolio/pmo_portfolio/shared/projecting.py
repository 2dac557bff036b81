"""Which events an inline projector writes anything for, so a poll calls it on those only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pmo_events.contracts import registry
from pmo_events.contracts.base import Event
from pmo_events.envelope import RecordedEvent

F = TypeVar("F", bound=Callable[..., Any])


def projects_on(*event_types: type[Event], stream_types: Sequence[str] = ()) -> Callable[[F], F]:
    """Declares that a projector does nothing (returns at once) on an event unless its type is one of
    `event_types` (or an older version of one) or it is on a stream of one of `stream_types`."""
    names = frozenset(name for t in event_types for name in (t.type_name(), *registry.older_types(t.type_name())))
    streams = frozenset(stream_types)

    def declare(projector: F) -> F:
        projector.projects_on = (names, streams)  # type: ignore[attr-defined]
        return projector

    return declare


def projects(projector: Any, event: RecordedEvent) -> bool:
    """Whether `projector` may write anything for `event` (True for one that declared nothing)."""
    declared = getattr(projector, "projects_on", None)
    return declared is None or event.type in declared[0] or event.stream_type in declared[1]

"""A projection: a named, pure fold of (documents, event); the same code serves live, `as_of` and rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import TzInfo

from pmo_events.contracts import Event, registry
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.documents import Documents

#: One event type's effect: reads and writes documents, does no I/O.
Apply = Callable[[Documents, Any, RecordedEvent], None]


@dataclass(frozen=True)
class Projection:
    """The event types a read model takes, each with its pure effect on the documents."""

    name: str
    description: str
    handlers: dict[str, tuple[Apply, ...]] = field(default_factory=dict)

    @property
    def handles(self) -> frozenset[str]:
        return frozenset(self.handlers)

    def apply(self, docs: Documents, event: RecordedEvent) -> bool:
        """Fold one event into `docs`; events of other types (also unknown ones) change nothing."""
        effects = self.handlers.get(event.type)
        if not effects:
            return False
        try:
            decoded = event.decode()
        except ValidationError:
            # Kept in the log for history; the read model skips it the same way live and on rebuild.
            return False
        for effect in effects:
            effect(docs, decoded, event)
        return True


def on(*contracts: type[Event]) -> Callable[[Apply], Apply]:
    """Mark a function as the effect of the given contracts (collected by `handlers_of`)."""

    def mark(fn: Apply) -> Apply:
        fn.__dict__["contracts"] = contracts
        return fn

    return mark


def handlers_of(*effects: Apply) -> dict[str, tuple[Apply, ...]]:
    """Group effects by the type names they declared with `on`, in the order given; a contract's superseded
    major versions (recorded before, read as it) take the same effects."""
    handlers: dict[str, tuple[Apply, ...]] = {}
    for effect in effects:
        for contract in effect.__dict__["contracts"]:
            for type_name in (contract.type_name(), *registry.older_types(contract.type_name())):
                handlers[type_name] = (*handlers.get(type_name, ()), effect)
    return handlers


def instant(value: Any) -> str:
    """Times are kept as RFC 3339 strings in UTC so documents stay plain JSON: `value.isoformat()`'s text.

    Written by orjson where its text is `isoformat`'s (a `datetime` naive or at a fixed offset of whole
    minutes: every time decoded from JSON or read from a table): `isoformat` of an aware time costs several
    times as much (about 7,000 instructions a call against 1,000; reporting makes about one per event)."""
    if type(value) is datetime:
        zone = value.tzinfo
        same = _ORJSON_WRITES_ISOFORMAT.get(zone)
        if same or (same is None and _orjson_writes_isoformat(zone)):
            return _dumps(value)[1:-1].decode()
    return value.isoformat()


_dumps = orjson.dumps
#: Per time zone: whether orjson writes a time in it as `isoformat` does (naive times: yes).
_ORJSON_WRITES_ISOFORMAT: dict[tzinfo | None, bool] = {None: True}


def _orjson_writes_isoformat(zone: tzinfo | None) -> bool:
    """A fixed offset of whole minutes: orjson writes `+HH:MM` as `isoformat` does (for an offset with seconds
    `isoformat` writes them, orjson does not). Any other zone's offset depends on the time: never cached."""
    if zone is None or type(zone) not in (timezone, TzInfo):
        return zone is None
    offset = zone.utcoffset(None)
    same = _ORJSON_WRITES_ISOFORMAT[zone] = offset is not None and offset.seconds % 60 == 0 and not offset.microseconds
    return same

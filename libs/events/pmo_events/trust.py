"""Trust at the consumer: a topic belongs to one producing service, and only that service's signed events count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pmo_events.contracts.base import EventRegistry, registry
from pmo_events.envelope import RecordedEvent
from pmo_events.signing import (
    BAD_SIGNATURE,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    UNKNOWN_KEY,
    UNSIGNED,
    PublicKeyDirectory,
    Rejection,
)

FOREIGN_SOURCE = "foreign_source"
FOREIGN_TYPE = "foreign_type"
#: Every reason a consumer refuses an event as not authentic (dead-letter header and metric label).
REJECTION_REASONS = (FOREIGN_SOURCE, FOREIGN_TYPE, UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE)


def topic_owner(topic: str) -> str:
    """`pmo.<service>.events` (or `<prefix>.<service>.events` in tests) belongs to `<service>`."""
    parts = topic.split(".")
    if len(parts) < 3 or parts[-1] != "events" or not parts[-2]:
        raise ValueError(f"topic {topic!r} does not name its owner: expected pmo.<service>.events")
    return parts[-2]


def owner_source(topic: str) -> str:
    """The only `ce_source` a topic may carry; also the key of the consumer's stream bookkeeping."""
    return f"/pmo/{topic_owner(topic)}"


@dataclass(frozen=True)
class EventTrust:
    """Decides whether a consumed event is authentic: right owner, owner's type, owner's signature."""

    keys: PublicKeyDirectory = field(default_factory=PublicKeyDirectory)
    contracts: EventRegistry = registry

    def rejection(
        self, topic: str, event: RecordedEvent, headers: Mapping[str, bytes], value: bytes, *, by_batch: bool = False
    ) -> Rejection | None:
        """Why `event`, read from `topic`, must not be applied; None when it is authentic. `by_batch`: the
        owner's batch signature was verified over this record's signed bytes (`signing.record_digest`), so its
        own signature need not be (it must still carry one: a batch never vouches for an unsigned record)."""
        owner = topic_owner(topic)
        if event.source != f"/pmo/{owner}":
            return Rejection(FOREIGN_SOURCE, f"forged source: {topic} carries only /pmo/{owner}, not {event.source!r}")
        if not self.contracts.belongs_to(event.type, owner):
            return Rejection(FOREIGN_TYPE, f"forged type: {event.type!r} is not a registered event of {owner}")
        if by_batch and headers.get(SIGNATURE_HEADER) and headers.get(KEY_ID_HEADER):
            return None
        return self.keys.rejection(owner, headers, value)

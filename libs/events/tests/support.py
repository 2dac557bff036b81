"""Test contracts and helpers for the runtime tests (a tiny counter aggregate)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

from pmo_events.contracts.base import Event, contract
from pmo_events.runtime import AggregateType, Database
from pmo_events.runtime.migrate import upgrade
from pmo_events.runtime.schema import metadata


@contract
class Incremented(Event):
    service = "test"
    event_name = "Incremented"
    counter_id: str
    by: int


class Counter(BaseModel):
    counter_id: str
    total: int = 0


def evolve(state: Counter, event: Event) -> Counter:
    if isinstance(event, Incremented):
        return state.model_copy(update={"total": state.total + event.by})
    return state


COUNTER = AggregateType("counter", lambda i: Counter(counter_id=i), evolve, Counter, snapshot_every=5)


async def migrated(url: str, tmp: Path) -> Database:
    versions = tmp / "no-service-versions"
    versions.mkdir(exist_ok=True)
    await asyncio.to_thread(upgrade, url, versions, metadata)
    return Database(url)

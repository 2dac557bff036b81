"""Sweeps: a service's periodic triggers (a deadline passed, a review is due), run by a scheduler.

A service declares its sweeps on its `ServiceDefinition`; each is an application function that decides
what is due *now* and records it, one transaction per aggregate, appended on its version, so running it
twice, or on two machines at once, records each effect once. Three callers run the same functions:
its HTTP endpoint (an analyst's token), `python -m pmo_<service> sweep` (a CronJob, compose's scheduler,
cron on a host) and, when `PMO_SWEEP_EVERY_SECONDS` is set, the serving process itself (`make run`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pmo_events.runtime import CommandRuntime, Metadata

log = logging.getLogger(__name__)

#: Who a scheduled sweep records as the actor of what it decides (an HTTP call records its caller).
SCHEDULER = "scheduler"

SweepRun = Callable[[CommandRuntime, datetime, Metadata], Awaitable[Mapping[str, int]]]
"""`run(commands, now, meta)` → counts of what it recorded, e.g. `{"lapsed": 1}` (the endpoint's answer)."""


@dataclass(frozen=True)
class Sweep:
    """One periodic trigger: its CLI name, what it does (the CLI's help) and the application function."""

    name: str
    help: str
    run: SweepRun


def scheduled(sweep: Sweep, now: datetime) -> Metadata:
    """The scheduler as actor; the correlation id names the sweep and its instant, so the audit trail says
    why an event was recorded (`sweep:lapse-due:2026-11-29T19:05:00+00:00`)."""
    return Metadata(actor=SCHEDULER, correlation_id=f"sweep:{sweep.name}:{now.isoformat(timespec='seconds')}")


def chosen(sweeps: Sequence[Sweep], names: Sequence[str]) -> list[Sweep]:
    """The sweeps `names` ask for, in declaration order; `all` (or nothing) means every one."""
    if not names or "all" in names:
        return list(sweeps)
    return [sweep for sweep in sweeps if sweep.name in names]


async def run_sweeps(
    commands: CommandRuntime, sweeps: Sequence[Sweep], *, now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Run each sweep once as the scheduler, in order; their counts by sweep name."""
    counts: dict[str, dict[str, int]] = {}
    for sweep in sweeps:
        at = now or datetime.now(UTC)
        counts[sweep.name] = dict(await sweep.run(commands, at, scheduled(sweep, at)))
        if any(counts[sweep.name].values()):
            log.info("sweep %s: %s", sweep.name, counts[sweep.name], extra={"sweep": sweep.name})
    return counts

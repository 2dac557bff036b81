"""The one HTTP command path of every service: one unit of work, idempotent by key, a lost race decided again.

`run_command(request, principal, action)` runs `action(uow)` in one transaction (made idempotent when
the request carries an `Idempotency-Key`) and returns the `Response` it built. Statuses it stands for:

- 412 `stale-version`: the client sent `If-Match` and the aggregate has moved on since (`StaleVersion`,
  raised by `Loaded.expect`); never retried, the client must read again.
- 409 `concurrent-change`: another writer appended to the same stream between load and commit, and the
  command lost that race `ATTEMPTS` times in a row (`ConcurrencyConflict`). Each retry reloads and
  decides again on the fresh state, so a rule the winner's change now breaks answers its own 4xx. A command
  whose premise failed when it wrote (`PremiseFailed`: it wrote nothing) is decided again at once.
- anything else a rule refuses: the service's own table (`ServiceDefinition.problem_table`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from pmo_events.runtime import ConcurrencyConflict, PremiseFailed, UnitOfWork
from pmo_servicekit.auth import Principal
from pmo_servicekit.http import metadata_for, service_runtime
from pmo_servicekit.idempotency import run_idempotent

#: How often a command that lost a race on a stream is decided again before it answers 409.
ATTEMPTS = 12
#: The longest pause (seconds) before retry number n is n times this, drawn at random (writers who
#: collided must not collide again in lockstep).
JITTER = 0.01

CommandAction = Callable[[UnitOfWork], Awaitable[Response]]


async def run_command(request: Request, principal: Principal, action: CommandAction) -> Response:
    """Run `action` in one unit of work; retry it on a lost race; let the service's problem table answer errors."""
    commands, meta = service_runtime(request).commands, metadata_for(request, principal)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await run_idempotent(commands, meta, request, principal, action)
        except ConcurrencyConflict as lost:
            if attempt == ATTEMPTS:
                raise
            if not isinstance(lost, PremiseFailed):  # no other writer to step aside for after a failed premise
                await asyncio.sleep(random.uniform(0, JITTER * attempt))
    raise AssertionError("unreachable")

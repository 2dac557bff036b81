"""Running a command from HTTP: one unit of work, idempotent by key, retried when another writer won."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from pmo_events.runtime import ConcurrencyConflict, UnitOfWork
from pmo_resourcing.adapters.http.problems import problem_for
from pmo_resourcing.application.resources import Outcome, StaleVersion
from pmo_resourcing.domain.errors import DomainError
from pmo_servicekit.auth import Principal
from pmo_servicekit.http import etag, metadata_for
from pmo_servicekit.idempotency import run_command
from pmo_servicekit.service import ServiceRuntime

#: Two managers booking one calendar at once: the loser reloads and decides again on what won.
ATTEMPTS = 5

Action = Callable[[UnitOfWork], Awaitable[Outcome]]
View = Callable[[Outcome], tuple[dict[str, Any], int]]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def run(
    request: Request, principal: Principal, action: Action, view: View, *, status_code: int = 200, location: str = ""
) -> Response:
    """Run `action`; answer `view` of its outcome with the ETag it names (and `Location` on create)."""
    commands, meta = runtime_of(request).commands, metadata_for(request, principal)

    async def respond(uow: UnitOfWork) -> Response:
        body, version = view(await action(uow))
        headers = {"ETag": etag(version)} | ({"Location": location} if location else {})
        return JSONResponse(body, status_code=status_code, headers=headers)

    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await run_command(commands, meta, request, principal, respond)
        except ConcurrencyConflict as exc:
            if attempt == ATTEMPTS:
                raise problem_for(exc) from exc
        except (DomainError, StaleVersion) as exc:
            raise problem_for(exc) from exc
    raise AssertionError("unreachable")

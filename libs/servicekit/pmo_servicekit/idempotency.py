"""`Idempotency-Key` on commands: a retry answers the first response and records nothing new.

The key is claimed in the command's own transaction, before the command runs, and the response is
written there too; so the key, the events and the outbox rows commit or roll back together. A twin
request racing on the same key blocks on the key's primary key (PostgreSQL) or on the single writer
(SQLite) and, once the first commits, answers its stored response. A command that fails leaves no
trace, so the key stays free for a corrected retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import Header, Request, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import dumps, loads
from pmo_events.runtime import CommandRuntime, Metadata, UnitOfWork
from pmo_events.runtime.schema import idempotency_keys
from pmo_servicekit.auth import Principal
from pmo_servicekit.problems import Problem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 200
#: Response headers worth replaying (the body's media type, where it lives, its version).
_KEPT_HEADERS = ("content-type", "location", "etag")

#: Declare on a command route so the key appears in the OpenAPI document and is bounded.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=KEY_MAX,
        description="Send a unique key per intended command; a retry with the same key and body "
        "answers the first response and records nothing new.",
    ),
]

CommandAction = Callable[[UnitOfWork], Awaitable[Response]]


@dataclass(frozen=True)
class IdempotentRequest:
    """A command request that carries a key: scoped to the caller, fingerprinted by its content."""

    principal: str
    key: str
    request_hash: str

    @classmethod
    async def of(cls, request: Request, principal: Principal) -> IdempotentRequest | None:
        key = request.headers.get(HEADER)
        if key is None:
            return None
        if not 0 < len(key) <= KEY_MAX:
            raise _header_problem(f"an {HEADER} has 1 to {KEY_MAX} characters", "string_too_long")
        return cls(
            principal.subject[:200], key, request_fingerprint(request.method, request.url.path, await request.body())
        )


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Same method, path and JSON body (whatever its key order or spacing) → same fingerprint."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(b"\n".join([method.upper().encode(), path.encode(), canonical])).hexdigest()


async def run_idempotent(
    commands: CommandRuntime, meta: Metadata, request: Request, principal: Principal, action: CommandAction
) -> Response:
    """Run `action` in one unit of work, made idempotent when the request carries a key."""
    claim = await IdempotentRequest.of(request, principal)
    if claim is None:
        async with commands.unit_of_work(meta) as uow:
            return await action(uow)
    try:
        async with commands.unit_of_work(meta) as uow:
            first = await _claim(uow.session, claim)
            if first is not None:
                return first
            response = await action(uow)
            await _remember(uow.session, claim, response)
            return response
    except Exception:
        # A twin with the same key may have committed while this one ran: answer as it did.
        async with commands.db.sessions() as session:
            first = await _stored(session, claim)
        if first is None:
            raise
        return first


async def _claim(session: AsyncSession, claim: IdempotentRequest) -> Response | None:
    """The first response for this key, or None after claiming the key in this transaction."""
    first = await _stored(session, claim)
    if first is not None:
        return first
    await session.execute(
        idempotency_keys.insert().values(
            principal=claim.principal,
            key=claim.key,
            request_hash=claim.request_hash,
            status_code=0,  # filled in before commit; nobody outside this transaction sees it
            headers="{}",
            body=b"",
            created_at=datetime.now(UTC),
        )
    )
    return None


async def _stored(session: AsyncSession, claim: IdempotentRequest) -> Response | None:
    query = select(idempotency_keys).where(
        idempotency_keys.c.principal == claim.principal, idempotency_keys.c.key == claim.key
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    if row.request_hash != claim.request_hash:
        raise _header_problem(
            f"this {HEADER} was already used for a different request; use a new key", "idempotency_key_reused"
        )
    headers = {**loads(row.headers), REPLAYED_HEADER: "true"}
    return Response(content=row.body, status_code=row.status_code, headers=headers)


async def _remember(session: AsyncSession, claim: IdempotentRequest, response: Response) -> None:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    await session.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.principal == claim.principal, idempotency_keys.c.key == claim.key)
        .values(status_code=response.status_code, headers=dumps(headers).decode(), body=bytes(response.body))
    )


def _header_problem(message: str, code: str) -> Problem:
    error = {"field": HEADER, "location": "header", "message": message, "code": code}
    return Problem(422, "idempotency-key-reused" if code == "idempotency_key_reused" else "validation-error",
                   message, errors=[error])  # fmt: skip

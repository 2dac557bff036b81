"""`Idempotency-Key` on commands: a retry answers the first response and records nothing new.

The key is looked up before the command runs; the key and its response are written with the command's
last write (`UnitOfWork.insert_at_end`: on PostgreSQL in the same statement as a draft's events, outbox
records and view row), so the key, the events and the outbox rows commit or roll back together. A twin
request racing on the same key fails on the key's primary key (PostgreSQL: it waits for the first to
commit) or waits for the single writer (SQLite) and answers the first's stored response. A command that
fails leaves no trace, so the key stays free for a corrected retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.envelope import dumps, loads
from pmo_events.runtime import CommandRuntime, Metadata, UnitOfWork, pgdirect
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
        return cls(principal.subject, key, request_fingerprint(request.method, request.url.path, await request.body()))


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
            first = await _stored(uow.reads, claim)
            if first is not None:
                return first
            response = await action(uow)
            uow.insert_at_end(idempotency_keys, _remembered(claim, response))
            return response
    except Exception:
        # A twin with the same key may have committed while this one ran: answer as it did.
        async with commands.db.sessions() as session:
            first = await _stored(session, claim)
        if first is None:
            raise
        return first


_STORED = (
    f"SELECT request_hash, status_code, headers, body FROM {idempotency_keys.name} WHERE principal = $1 AND key = $2"
)


async def _stored(session: AsyncSession | pgdirect.Direct, claim: IdempotentRequest) -> Response | None:
    """The first response for this key (a read: on PostgreSQL it needs no session), or None."""
    if pgdirect.on_asyncpg(session):
        found = await pgdirect.fetch(session, _STORED, claim.principal, claim.key, begin=False)
        row: Any = found[0] if found else None
    else:
        assert isinstance(session, AsyncSession)
        query = select(
            idempotency_keys.c.request_hash,
            idempotency_keys.c.status_code,
            idempotency_keys.c.headers,
            idempotency_keys.c.body,
        ).where(idempotency_keys.c.principal == claim.principal, idempotency_keys.c.key == claim.key)
        row = (await session.execute(query)).first()
    if row is None:
        return None
    request_hash, status_code, stored_headers, body = row
    if request_hash != claim.request_hash:
        raise _header_problem(
            f"this {HEADER} was already used for a different request; use a new key", "idempotency_key_reused"
        )
    headers = {**loads(stored_headers), REPLAYED_HEADER: "true"}
    return Response(content=bytes(body), status_code=status_code, headers=headers)


def _remembered(claim: IdempotentRequest, response: Response) -> dict[str, Any]:
    """The key's row: the request's fingerprint and the response a retry answers."""
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    return {
        "principal": claim.principal,
        "key": claim.key,
        "request_hash": claim.request_hash,
        "status_code": response.status_code,
        "headers": dumps(headers).decode(),
        "body": bytes(response.body),
        "created_at": datetime.now(UTC),
    }


def _header_problem(message: str, code: str) -> Problem:
    error = {"field": HEADER, "location": "header", "message": message, "code": code}
    return Problem(422, "idempotency-key-reused" if code == "idempotency_key_reused" else "validation-error",
                   message, errors=[error])  # fmt: skip

"""Bearer JWT authentication (PyJWT) and role checks; the token's subject is every event's actor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pmo_servicekit.logs import bind_actor
from pmo_servicekit.problems import Problem
from pmo_servicekit.settings import ServiceSettings

ROLES = frozenset(
    {"requester", "pmo_analyst", "board_member", "project_manager", "resource_manager", "viewer", "admin"}
)


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class Authenticator:
    """Verifies signature, expiry, audience and (when configured) issuer."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._key: Any = None
        self._jwks: jwt.PyJWKClient | None = None
        if settings.auth_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True)
        elif settings.auth_public_key:
            self._key = load_pem_public_key(settings.auth_public_key.encode())
        elif settings.auth_public_key_file:
            # Parsed once: PyJWT would otherwise parse the PEM on every request.
            self._key = load_pem_public_key(settings.auth_public_key_file.read_bytes())

    @property
    def fetches_keys(self) -> bool:
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
        if key is None:
            raise jwt.InvalidTokenError("no verification key is configured")
        claims = jwt.decode(
            token,
            key,
            algorithms=list(self.settings.auth_algorithms),
            audience=self.settings.auth_audience,
            issuer=self.settings.auth_issuer,
            options={"require": ["exp", "sub"]},
        )
        if not str(claims["sub"]).strip():
            raise jwt.InvalidTokenError("the token's subject is empty: every change records who made it")
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = roles.split()
        return Principal(subject=str(claims["sub"]), roles=frozenset(str(r) for r in roles))


_bearer = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="A JWT from the identity provider; its `sub` is the actor"
)


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="pmo"'})


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthenticated("a bearer token is required")
    authenticator: Authenticator = request.app.state.authenticator
    try:
        if authenticator.fetches_keys:  # a JWKS refresh is blocking HTTP: keep it off the event loop
            principal = await asyncio.to_thread(authenticator.verify, credentials.credentials)
        else:
            principal = authenticator.verify(credentials.credentials)
    except (jwt.PyJWTError, ValueError) as exc:
        raise _unauthenticated(f"the bearer token is not valid: {exc}") from exc
    bind_actor(principal.subject)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that answers 403 unless the caller holds one of `roles`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Problem(403, "forbidden", f"this needs one of the roles: {', '.join(sorted(roles))}")
        return principal

    # The OpenAPI document reads the roles from here (`x-required-roles`): one declaration, enforced and documented.
    check.required_roles = tuple(sorted(roles))  # type: ignore[attr-defined]
    return check

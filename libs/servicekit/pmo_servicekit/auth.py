"""Bearer JWT authentication (PyJWT) and role checks; the token's subject is every event's actor."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pmo_servicekit.logs import bind_actor
from pmo_servicekit.problems import Problem
from pmo_servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)

ROLES = frozenset(
    {"requester", "pmo_analyst", "board_member", "project_manager", "resource_manager", "viewer", "admin"}
)


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


#: The longest token subject taken (characters): the subject is every event's `actor` and the requester, decider,
#: assessor or author of what it records, all columns of this length (docs/api.md, "Security and roles"). A longer
#: one is a 401, never a value a database cuts or refuses after the command was decided.
SUBJECT_MAX_LENGTH = 200

#: Verified tokens remembered (by the token's text) until their `exp`; past this many, the oldest go first.
VERIFIED_CACHE_SIZE = 4096


class Authenticator:
    """Verifies signature, expiry, audience and (when configured) issuer.

    A client sends the same token with every request until it expires: the verified principal is kept
    until the token's `exp`, so the signature is checked once per token, not once per request (the cache
    is keyed by the whole token, so a changed byte is a new token and is verified)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        #: token → (principal, exp as a POSIX timestamp); insertion order is age.
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._evicting = threading.Lock()
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
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                return cached[0]
            self._verified.pop(token, None)
        principal, expires = self._verify(token)
        with self._evicting:  # JWKS verification runs in worker threads
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                now = time.time()
                self._verified = {t: entry for t, entry in self._verified.items() if entry[1] > now}
                while len(self._verified) >= VERIFIED_CACHE_SIZE:
                    del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
        if key is None:
            raise jwt.InvalidTokenError("no verification key is configured")
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms_for(key, self.settings.auth_algorithms),
            audience=self.settings.auth_audience,
            issuer=self.settings.auth_issuer,
            options={"require": ["exp", "sub"]},
        )
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise jwt.InvalidTokenError(
                "the token's subject must be a non-empty string: every change records who made it"
            )
        if len(subject) > SUBJECT_MAX_LENGTH:
            raise jwt.InvalidTokenError(
                f"the token's subject is {len(subject)} characters long, at most {SUBJECT_MAX_LENGTH} are taken: "
                "every change records it whole as its actor"
            )
        if "\x00" in subject or not _encodable(subject):
            raise jwt.InvalidTokenError(
                "the token's subject holds a NUL or a lone surrogate: no column stores it as every change's actor"
            )
        return Principal(subject=subject, roles=_roles(claims.get("roles"))), float(claims["exp"])


def _encodable(text: str) -> bool:
    """Whether `text` is valid UTF-8 text (a JSON `\\ud800` escape decodes to a lone surrogate, which no database
    driver encodes: every command of such a subject was a 500)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _roles(claim: object) -> frozenset[str]:
    """The `roles` claim: a list of strings (or one space-separated string); anything else is not a token we issue."""
    if claim is None:
        return frozenset()
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list) and all(isinstance(role, str) for role in claim):
        return frozenset(claim)
    raise jwt.InvalidTokenError("the token's roles must be a list of strings")


#: Which algorithms each kind of public key verifies: a token whose header names another is refused (401)
#: before any key is used with the wrong algorithm.
_FAMILIES: tuple[tuple[type, str], ...] = (
    (rsa.RSAPublicKey, "RS PS"),
    (ec.EllipticCurvePublicKey, "ES"),
    (ed25519.Ed25519PublicKey, "EdDSA"),
    (ed448.Ed448PublicKey, "EdDSA"),
)


def algorithms_for(key: object, configured: Sequence[str]) -> list[str]:
    """The configured algorithms that `key`'s type can verify (RS256 for an RSA key, never ES256)."""
    for key_type, prefixes in _FAMILIES:
        if isinstance(key, key_type):
            return [alg for alg in configured if alg.startswith(tuple(prefixes.split()))]
    return list(configured)


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
    except Exception as exc:
        # A token no key can verify (a key of another type than its header names, a mangled segment the
        # crypto library chokes on) is still the caller's token: 401, never a 500 with a traceback.
        log.warning("a bearer token failed verification with %s", type(exc).__name__)
        raise _unauthenticated("the bearer token is not valid: it cannot be verified") from exc
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

"""The access matrix walk: every operation of a served OpenAPI document, called with every role and with none.

Each call is checked against what the operation declares (`x-required-roles`, `pmo_servicekit.access`): a
role the operation does not let in must get the role gate's 403 `forbidden`, whatever the input; a role it
lets in must get past the gate (its answer may still be a 404 or 422: the walk aims at objects that do not
exist with empty bodies); nothing may answer 5xx or 401 to a valid token. An operation that forgets to
check answers something else than 403 to a token without a role, and the walk names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pmo_servicekit.access import ROLE_ORDER, Operation, operations

#: The role gate's refusal (`pmo_servicekit.access.allow`); a domain rule's 403 says something else.
GATE = "this needs one of the roles"
#: A path parameter no object has (a UUID, so services that parse ids reach their lookup).
NOBODY = "00000000-0000-4000-8000-000000000000"
NO_ROLE = ""


@dataclass(frozen=True)
class Call:
    operation: Operation
    role: str
    status: int
    body: str

    @property
    def gated(self) -> bool:
        """Refused by the role gate itself (not by a domain rule that happens to answer 403 too)."""
        return self.status == 403 and GATE in self.body

    def __str__(self) -> str:
        who = self.role or "no role"
        return f"{self.operation.method} {self.operation.path} as {who}: {self.status} {self.body[:160]}"


def roles_to_try() -> tuple[str, ...]:
    """Every role, and none at all."""
    return (NO_ROLE, *ROLE_ORDER)


def call(client: httpx.Client, operation: Operation, role: str, headers: Mapping[str, str]) -> Call:
    path = operation.path
    for name in _parameters(path):
        path = path.replace("{" + name + "}", NOBODY)
    body: Any = {} if operation.method in {"POST", "PUT", "PATCH"} else None
    try:
        answer = client.request(operation.method, path, json=body, headers=dict(headers))
    except httpx.TimeoutException:
        return Call(operation, role, 599, "no answer in time")
    return Call(operation, role, answer.status_code, answer.text)


def violations(
    client: httpx.Client,
    document: Mapping[str, Any],
    headers_for: Callable[[str], Mapping[str, str]],
    *,
    roles: Iterable[str] = (),
    refused: bool = True,
    allowed: bool = True,
) -> tuple[list[str], int]:
    """Every call whose answer disagrees with the declared matrix, and how many calls were made: the calls the
    matrix refuses (a walk that must change nothing), the calls it allows, or both."""
    found, made = [], 0
    for operation in operations(document):
        for role in roles or roles_to_try():
            lets_in = bool(role) and operation.mark(role) != ""
            if not (allowed if lets_in else refused):
                continue
            made += 1
            answer = call(client, operation, role, headers_for(role))
            if answer.status >= 500 or answer.status == 401:
                found.append(f"{answer} (never a 5xx or a 401 to a valid token)")
            elif not lets_in and not answer.gated:
                found.append(f"{answer} (the matrix refuses this role: expected 403 {GATE})")
            elif lets_in and answer.gated:
                found.append(f"{answer} (the matrix lets this role in)")
    return found, made


def _parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]

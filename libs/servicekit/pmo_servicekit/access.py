"""Who may call each operation, declared once per route: the roles it needs and the ownership rule it checks.

`@router.post(path, **allow("board_member", owner=PORTFOLIO_BOARD))` does three things from one declaration:
answers 403 `forbidden` to a token holding none of the roles (before the body is read), documents the
operation in OpenAPI (`x-required-roles`, `x-ownership`), and feeds `docs/access.md` (`render_matrix`).
`viewer` is the floor: every role includes it, so `allow("viewer")` means "any role"; a token with no role
reads nothing. The ownership rule itself (is this caller on THIS portfolio's board?) is checked where the
facts are, in the service's domain code; the declaration names it and says it in PMO words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends

from pmo_servicekit.auth import ROLES, CurrentPrincipal, Principal
from pmo_servicekit.problems import Problem

#: The role every other role includes: reading needs at least this.
FLOOR = "viewer"
#: Column order of the matrix in docs/access.md.
ROLE_ORDER = ("viewer", "requester", "pmo_analyst", "board_member", "project_manager", "resource_manager", "admin")
ROLES_KEY = "x-required-roles"
OWNERSHIP_KEY = "x-ownership"


@dataclass(frozen=True)
class Ownership:
    """An object-level rule on top of the roles: which callers holding the role may act on WHICH object."""

    name: str
    description: str


def effective_roles(roles: Iterable[str]) -> frozenset[str]:
    """The known roles a token holds, plus the floor when it holds any."""
    known = frozenset(roles) & ROLES
    return known | {FLOOR} if known else known


def permits(principal: Principal, required: Iterable[str]) -> bool:
    return bool(effective_roles(principal.roles) & set(required))


def allow(*roles: str, owner: Ownership | None = None, exempt: Iterable[str] = ()) -> dict[str, Any]:
    """Route keyword arguments: the role check as a dependency, and the declaration in the OpenAPI document.

    `exempt` names roles among `roles` (any role when `roles` has the `viewer` floor) that the ownership rule
    does not bind (an analyst scores any candidate; a board member only in their own portfolio).
    """
    unknown = set(roles) - ROLES
    if not roles or unknown:
        raise ValueError(f"allow() needs known roles, got {sorted(roles)}")
    required, free = frozenset(roles), frozenset(exempt)
    if not (free <= required or FLOOR in required) or (free and owner is None):
        raise ValueError("exempt roles are some of the allowed roles of an operation with an ownership rule")

    async def check_roles(principal: CurrentPrincipal) -> None:
        if not permits(principal, required):
            raise Problem(403, "forbidden", f"this needs one of the roles: {', '.join(sorted(required))}")

    extra: dict[str, Any] = {ROLES_KEY: sorted(required, key=ROLE_ORDER.index)}
    if owner is not None:
        extra[OWNERSHIP_KEY] = {
            "rule": owner.name,
            "description": owner.description,
            "exempt": sorted(free, key=ROLE_ORDER.index),
        }
    return {"dependencies": [Depends(check_roles)], "openapi_extra": extra}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    roles: tuple[str, ...]
    ownership: Mapping[str, Any] | None

    def mark(self, role: str) -> str:
        """`yes`, `owner` (only past the ownership rule) or `` (403) for a token holding just `role`."""
        holds = effective_roles({role})
        if not holds & set(self.roles):
            return ""
        if self.ownership is None or holds & set(self.ownership.get("exempt", ())):
            return "yes"
        return "owner"


#: Paths every service serves to anyone: probes, metrics and the API documents themselves.
PUBLIC_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


def operations(openapi: Mapping[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document with what it declares (roles empty when it declares nothing)."""
    found = []
    for path, item in sorted(openapi.get("paths", {}).items()):
        if path in PUBLIC_PATHS:
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=operation.get("operationId", ""),
                    roles=tuple(operation.get(ROLES_KEY, ())),
                    ownership=operation.get(OWNERSHIP_KEY),
                )
            )
    return found


def undeclared(openapi: Mapping[str, Any]) -> list[str]:
    """Operations that declare no roles: a route must say who may call it."""
    return [f"{op.method} {op.path}" for op in operations(openapi) if not op.roles]


def render_matrix(documents: Mapping[str, Mapping[str, Any]]) -> str:
    """docs/access.md: per service, every operation by role, and the ownership rules in PMO words."""
    lines = [
        "# Access matrix",
        "",
        "Generated from the code (`make contracts`; `tests/contract/test_access.py` fails when it is stale): each",
        "route declares the roles it needs and the ownership rule it checks (`pmo_servicekit.access.allow`), and",
        "the same declaration answers 403 and documents the operation in OpenAPI (`x-required-roles`,",
        "`x-ownership`).",
        "",
        "`yes`: any holder of the role may call it. `owner`: only a holder who also passes the operation's",
        "ownership rule (listed under each service); others get 403. `viewer` is the floor: every role includes",
        "it, and a token with no role at all gets 403 on every operation, reads included. Empty: 403.",
        "",
        "Refusals: 401 without a valid token; 403 `forbidden` for a role the operation does not list (before the",
        "request's body is read); 403 with the rule's own `type` (`not-board-member`, `not-authorised`, ...) when",
        "the caller holds the role but fails the ownership rule; and 404, not 403, where the rule hides the object",
        "itself (someone else's draft proposal): lists leave such objects out and a direct read answers",
        "`not-found`, so nobody learns that it exists. A refusal changes nothing. Health, metrics and the API",
        "documents need no token. `tests/contract/test_access_matrix.py` calls every operation below with every",
        "role over HTTP and checks the answer against this table.",
    ]
    for service, openapi in documents.items():
        ops = operations(openapi)
        rules: dict[str, str] = {}
        lines += ["", f"## {service}", "", f"| operation | {' | '.join(ROLE_ORDER)} | ownership rule |"]
        lines.append("|---" * (len(ROLE_ORDER) + 2) + "|")
        for op in ops:
            rule = op.ownership["rule"] if op.ownership else ""
            if op.ownership:
                rules[rule] = op.ownership["description"]
            name = f"`{op.method} {op.path}`"
            lines.append(f"| {name} | {' | '.join(op.mark(role) for role in ROLE_ORDER)} | {rule} |")
        if rules:
            lines += ["", "Ownership rules:", ""]
            lines += [f"- `{name}`: {text}" for name, text in sorted(rules.items())]
    return "\n".join(lines) + "\n"

"""What the operations endpoints answer (liveness, readiness, metrics), as typed bodies for the contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: A ready service with an outbox relay and a subscription (what `/health/ready` answers).
READY: dict[str, Any] = {
    "status": "ready",
    "checks": {"database": "ok", "broker": "ok", "relay": "ok", "subscription": "ok"},
    "relay": {"active": True, "connected": True, "published": 12, "parked": 0, "last_error": None},
    "subscription": {
        "active": True,
        "connected": True,
        "lag": 0,
        "dead_lettered": 0,
        "rejected": 0,
        "last_error": None,
    },
}


class Liveness(BaseModel):
    """The process is up (and, where it has one, its task supervisor keeps turning)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class RelayState(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool
    connected: bool
    published: int
    last_error: str | None = None


class SubscriptionState(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool = Field(
        description="this process consumes; false while another worker process or replica holds the "
        "subscription's lock and this one waits to take over (in `assign` mode on PostgreSQL)"
    )
    connected: bool
    lag: int | None = Field(default=None, description="events not yet consumed, summed over its partitions")
    last_error: str | None = None


class Readiness(BaseModel):
    """`ready` when every check says `ok`; otherwise 503 with the same body naming what is not."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [READY]})

    status: str
    checks: dict[str, str]
    relay: RelayState
    subscription: SubscriptionState | None = None


#: `/metrics`: the Prometheus text exposition format.
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "every metric in the Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}

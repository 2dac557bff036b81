"""Helpers for resourcing's API and flow tests: a served service, projects made active the real way."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pmo_devstack.testing import RunningService
from pmo_events.contracts.common import RoleEstimate
from pmo_events.contracts.portfolio import ProjectInitiated
from pmo_events.envelope import RecordedEvent

MANAGER = ("maria", "resource_manager")
MON = date(2027, 1, 4)  # ISO week 2027-W01


def portfolio_event(stream_id: str, sequence: int, type_name: str, data: dict[str, Any]) -> RecordedEvent:
    """An event as the portfolio service would publish it."""
    return RecordedEvent(
        event_id=str(uuid.uuid4()),
        type=type_name,
        source="/pmo/portfolio",
        stream_id=stream_id,
        sequence=sequence,
        time=datetime.now(UTC),
        data=data,
        actor="board",
        correlation_id=str(uuid.uuid4()),
    )


def project_initiated(project_id: str, *estimate: tuple[str, str, date, date]) -> RecordedEvent:
    initiated = ProjectInitiated(
        project_id=project_id,
        portfolio_id="pf-1",
        proposal_id=project_id,
        title="New CRM",
        baseline_budget=(),
        resource_estimate=tuple(RoleEstimate(role=r, fte=f, start=s, end=e) for r, f, s, e in estimate),  # type: ignore[arg-type]
        initiated_by="board",
    )
    return portfolio_event(project_id, 1, ProjectInitiated.type_name(), initiated.model_dump(mode="json"))


async def deliver(service: RunningService, event: RecordedEvent) -> None:
    """Hand one portfolio event to the service's own subscription handler, in one transaction."""
    assert service.runtime.subscription is not None
    async with service.runtime.db.transaction() as session:
        await service.runtime.subscription.handler(session, event)
    service.runtime.relay.wake()


async def active_project(service: RunningService, *estimate: tuple[str, str, date, date]) -> str:
    project_id = str(uuid.uuid4())
    await deliver(service, project_initiated(project_id, *estimate))
    return project_id


async def register(client: Any, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Ada", "role": "developer", "skills": [{"name": "python", "level": 4}], "pool": "platform"}
    response = await client.post("/resources", json={**body, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


async def book(
    client: Any, resource_id: str, project_id: str, fte: str, headers: dict[str, str] | None = None, **overrides: Any
) -> Any:
    body = {
        "resource_id": resource_id,
        "project_id": project_id,
        "start": "2027-01-04",
        "end": "2027-01-15",
        "fte": fte,
        "status": "confirmed",
    }
    return await client.post("/allocations", json={**body, **overrides}, headers=headers)

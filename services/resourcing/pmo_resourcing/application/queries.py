"""Resourcing's queries, answered from its own views."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from pmo_events.envelope import loads
from pmo_events.runtime import Database
from pmo_resourcing.adapters.db.tables import allocations, demands, resource_skills, resources
from pmo_resourcing.domain.errors import AllocationNotFound, ResourceNotFound
from pmo_resourcing.domain.resource import Resource

PAGE = 100


async def get_resource(db: Database, resource_id: str) -> tuple[Resource, int]:
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(resources.c.state, resources.c.version).where(resources.c.resource_id == resource_id)
            )
        ).first()
    if row is None:
        raise ResourceNotFound(resource_id)
    return Resource.model_validate(loads(row.state)), row.version


async def get_allocation(db: Database, allocation_id: str) -> dict[str, Any]:
    async with db.sessions() as session:
        row = (
            (await session.execute(select(allocations).where(allocations.c.allocation_id == allocation_id)))
            .mappings()
            .first()
        )
    if row is None:
        raise AllocationNotFound(allocation_id)
    return allocation_view(row)


async def list_allocations(
    db: Database, *, resource_id: str | None, project_id: str | None, status: str | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(allocations).order_by(allocations.c.allocation_id).limit(limit)
    for column, value in ((allocations.c.resource_id, resource_id), (allocations.c.project_id, project_id)):
        if value:
            query = query.where(column == value)
    if status:
        query = query.where(allocations.c.status == status)
    if after:
        query = query.where(allocations.c.allocation_id > after)
    async with db.sessions() as session:
        return [allocation_view(r) for r in (await session.execute(query)).mappings()]


def allocation_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["allocation_id"],
        "resource_id": row["resource_id"],
        "project_id": row["project_id"],
        "demand_id": row["demand_id"],
        "role": row["role"],
        "start": row["start"].isoformat(),
        "end": row["end"].isoformat(),
        "fte": row["fte"],
        "status": row["status"],
        "revision": row["revision"],
        "overallocated": row["overallocated"],
        "non_working_days_reason": row["non_working_days_reason"],
    }


async def list_demands(
    db: Database,
    *,
    project_id: str | None,
    role: str | None,
    status: str | None,
    after: str | None = None,
    limit: int = PAGE,
) -> list[dict[str, Any]]:
    query = select(demands).order_by(demands.c.demand_id).limit(limit)
    for column, value in ((demands.c.project_id, project_id), (demands.c.role, role), (demands.c.status, status)):
        if value:
            query = query.where(column == value)
    if after:
        query = query.where(demands.c.demand_id > after)
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            "id": r["demand_id"],
            "project_id": r["project_id"],
            "role": r["role"],
            "fte": r["fte"],
            "filled_fte": r["filled_fte"],
            "proposed_fte": r["proposed_fte"],
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "status": r["status"],
            "cancel_reason": r["cancel_reason"],
        }
        for r in rows
    ]


async def matching_resources(
    db: Database, *, role: str | None, pool: str | None, skill: str | None, min_level: int | None, active_only: bool
) -> list[Resource]:
    """Resources by role, pool and skill (at a level), in id order."""
    query: Select[Any] = select(resources.c.state).order_by(resources.c.resource_id)
    if role:
        query = query.where(resources.c.role == role)
    if pool:
        query = query.where(resources.c.pool == pool)
    if active_only:
        query = query.where(resources.c.status == "active")
    if skill:
        skilled = select(resource_skills.c.resource_id).where(
            resource_skills.c.skill == skill, resource_skills.c.level >= (min_level or 1)
        )
        query = query.where(resources.c.resource_id.in_(skilled))
    async with db.sessions() as session:
        return [Resource.model_validate(loads(r.state)) for r in await session.execute(query)]

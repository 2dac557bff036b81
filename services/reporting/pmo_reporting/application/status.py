"""What `/admin/projections` shows: each read model's position per topic partition, lag and state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.runtime import Database
from pmo_reporting.adapters.db.tables import event_log, projections
from pmo_reporting.application.log_reader import log_head
from pmo_reporting.application.rebuild import RebuildProgress
from pmo_reporting.projections.catalogue import PROJECTIONS


async def _partitions(session: AsyncSession, upto: int | None) -> dict[str, int]:
    """Next offset per topic partition among the logged events with seq <= upto."""
    query = select(event_log.c.topic, event_log.c.partition, func.max(event_log.c.offset).label("last"))
    if upto is not None:
        query = query.where(event_log.c.seq <= upto)
    rows = await session.execute(query.group_by(event_log.c.topic, event_log.c.partition))
    return {f"{r.topic}:{r.partition}": int(r.last) + 1 for r in rows}


def _position(reached: dict[str, int], log_end: dict[str, int]) -> dict[str, Any]:
    keys = sorted(set(reached) | set(log_end))
    partitions = []
    for key in keys:
        topic, _, partition = key.rpartition(":")
        offset = reached.get(key, 0)
        end = max(log_end.get(key, offset), offset)
        partitions.append({"topic": topic, "partition": int(partition), "offset": offset, "log_end": end})
        partitions[-1]["lag"] = end - offset
    return {"partitions": partitions, "lag": sum(p["lag"] for p in partitions)}


async def projections_status(
    db: Database, log_end: dict[str, int], rebuilds: dict[str, RebuildProgress]
) -> dict[str, Any]:
    """The event log and every read model: live ones stand at the log's head (folded in its transaction)."""
    async with db.sessions() as session:
        head = await log_head(session)
        at_head = await _partitions(session, None)
        rows = {r["name"]: r for r in (await session.execute(select(projections))).mappings()}
        items = []
        for name, projection in PROJECTIONS.items():
            row = rows.get(name)
            item: dict[str, Any] = {
                "name": name,
                "description": projection.description,
                "state": row["state"] if row else "live",
                "generation": row["generation"] if row else 1,
                "log_position": head,
                **_position(at_head, log_end),
                "rebuilt_at": row["rebuilt_at"].isoformat() if row and row["rebuilt_at"] else None,
                "last_error": row["last_error"] if row else None,
                "rebuild": None,
            }
            if row and row["state"] == "rebuilding":
                progress = rebuilds.get(name)
                reached = row["rebuild_position"] or 0
                item["rebuild"] = {
                    **(progress.as_json() if progress else {"generation": row["rebuild_generation"]}),
                    "log_position": reached,
                    **_position(await _partitions(session, reached), log_end),
                }
            items.append(item)
    return {"event_log": {"log_position": head, **_position(at_head, log_end)}, "projections": items}

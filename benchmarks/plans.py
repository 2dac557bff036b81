"""Which prepared statements PostgreSQL planned afresh on each execution (custom plans) and which it ran from a
generic plan, read from `pg_prepared_statements` (PostgreSQL 14+) on every connection an engine's pool opened.

    plans = PreparedPlans(engine)   # before the connections are made
    ...                             # the measured work
    print(await plans.report())     # with every connection idle

A statement run more than five times and still planned custom each time is one whose generic plan the planner
judged dearer than planning afresh (the estimate behind `unnest($1)` of a parameter array is 100 rows, of a
constant array its length); each such planning is backend CPU spent on every execution."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_QUERY = "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"


class PreparedPlans:
    def __init__(self, engine: AsyncEngine) -> None:
        self.connections: list[Any] = []

        @event.listens_for(engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            self.connections.append(dbapi_connection.driver_connection)

    async def counts(self) -> dict[str, list[int]]:
        """Statement text → [generic plans, custom plans], summed over the open, idle connections."""
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for connection in self.connections:
            if connection.is_closed() or connection.is_in_transaction():
                continue
            try:
                rows = await connection.fetch(_QUERY)
            except Exception:  # a connection busy elsewhere: skipped
                continue
            for statement, generic, custom in rows:
                if statement == _QUERY:
                    continue
                found[statement][0] += generic
                found[statement][1] += custom
        return found

    async def report(self, width: int = 160) -> str:
        lines = ["prepared statements (generic plans, custom plans), most custom first:"]
        for statement, (generic, custom) in sorted((await self.counts()).items(), key=lambda kv: -kv[1][1]):
            text = " ".join(statement.split())
            lines.append(f"  {generic:6d} {custom:6d}  {text[:width]}")
        return "\n".join(lines)

"""`python -m pmo_reporting projections list | rebuild NAME`: the admin endpoints from a shell, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pmo_events.runtime import Database
from pmo_reporting.application.rebuild import RebuildProgress, RebuildRefused, begin_rebuild, run_rebuild
from pmo_reporting.application.status import projections_status
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_servicekit.settings import ServiceSettings

console = Console()


def projections_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pmo-reporting projections", description="Reporting's read models")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="each read model's generation, state and position")
    rebuild = commands.add_parser("rebuild", help="rebuild a read model online from the event log")
    rebuild.add_argument("name", choices=sorted(PROJECTIONS))
    rebuild.add_argument("--force", action="store_true", help="take over a rebuild whose process died")
    args = parser.parse_args(argv)
    db = Database(ServiceSettings().database_url_for("reporting"))
    if args.command == "list":
        return asyncio.run(_list(db))
    return asyncio.run(_rebuild(db, args.name, force=args.force))


async def _list(db: Database) -> int:
    try:
        status = await projections_status(db, {}, {})
    finally:
        await db.dispose()
    table = Table("read model", "generation", "state", "log position", "rebuilt at", "last error")
    for item in status["projections"]:
        table.add_row(
            item["name"],
            str(item["generation"]),
            item["state"],
            str(item["log_position"]),
            item["rebuilt_at"] or "",
            item["last_error"] or "",
        )
    console.print(table)
    return 0


async def _rebuild(db: Database, name: str, *, force: bool) -> int:
    projection = PROJECTIONS[name]
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        try:
            progress = await begin_rebuild(db, projection, force=force)
        except RebuildRefused:
            console.print(f"[red]a rebuild of {name} is already running; --force takes over one whose process died")
            return 1
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"{name} → generation {progress.generation}", total=None, rate="-")

            def advance(state: RebuildProgress) -> None:
                elapsed = max(((state.finished_at or datetime.now(UTC)) - state.started_at).total_seconds(), 1e-3)
                bar.update(
                    task,
                    description=f"{name} → generation {state.generation}: {state.phase}",
                    total=state.total or None,
                    completed=state.folded,
                    rate=f"{state.folded / elapsed:,.0f}",
                )

            await run_rebuild(db, projection, progress, advance)
    finally:
        await db.dispose()
    if progress.error:
        console.print(f"[red]rebuild of {name} failed: {progress.error}; generation unchanged")
        return 1
    console.print(f"{name}: generation {progress.generation} answers now ({progress.folded} events folded)")
    return 0

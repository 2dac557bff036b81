"""`python -m pmo_reporting projections list | rebuild NAME...`: the admin endpoints from a shell, with progress."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pmo_events.runtime import Database
from pmo_reporting.application.rebuild import Job, RebuildProgress, RebuildRefused, begin_rebuild, release, run_rebuilds
from pmo_reporting.application.status import projections_status
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_servicekit.cli import settings_problems
from pmo_servicekit.settings import ServiceSettings

console = Console()


def projections_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pmo-reporting projections", description="Reporting's read models")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="each read model's generation, state and position")
    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild read models online from one read of the event log (several: shared out among "
        "PMO_REBUILD_WORKERS processes on PostgreSQL)",
    )
    rebuild.add_argument("name", nargs="+", choices=sorted(PROJECTIONS))
    rebuild.add_argument("--force", action="store_true", help="take over a rebuild whose process died")
    args = parser.parse_args(argv)
    try:
        settings = ServiceSettings()
    except ValidationError as error:  # as every service's CLI: say which setting, exit 2, no traceback
        print(f"pmo-reporting: cannot start: {settings_problems(error)}", file=sys.stderr)
        return 2
    db = Database(settings.database_url_for("reporting"))
    if args.command == "list":
        return asyncio.run(_list(db))
    names = list(dict.fromkeys(args.name))
    return asyncio.run(_rebuild(db, names, force=args.force, workers=settings.rebuild_processes))


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


async def _rebuild(db: Database, names: list[str], *, force: bool, workers: int) -> int:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    jobs: list[Job] = []
    try:
        try:
            for name in names:
                jobs.append((PROJECTIONS[name], await begin_rebuild(db, PROJECTIONS[name], force=force)))
        except RebuildRefused:
            for projection, claimed in jobs:  # release the ones already claimed
                await release(db, projection, claimed)
            busy = names[len(jobs)]
            console.print(f"[red]a rebuild of {busy} is already running; --force takes over one whose process died")
            return 1
        with Progress(*columns, console=console) as bar:
            tasks = {
                progress.projection: bar.add_task(
                    f"{progress.projection} → generation {progress.generation}", total=None, rate="-"
                )
                for _, progress in jobs
            }

            def advance(state: RebuildProgress) -> None:
                elapsed = max(((state.finished_at or datetime.now(UTC)) - state.started_at).total_seconds(), 1e-3)
                bar.update(
                    tasks[state.projection],
                    description=f"{state.projection} → generation {state.generation}: {state.phase}",
                    total=state.total or None,
                    completed=state.folded,
                    rate=f"{state.folded / elapsed:,.0f}",
                )

            await run_rebuilds(db, jobs, advance, workers=workers)
    finally:
        await db.dispose()
    failed = 0
    for _, progress in jobs:
        if progress.error:
            failed += 1
            console.print(f"[red]rebuild of {progress.projection} failed: {progress.error}; generation unchanged")
        else:
            console.print(
                f"{progress.projection}: generation {progress.generation} answers now ({progress.folded} events folded)"
            )
    return 1 if failed else 0

"""`python -m pmo_<service> serve | migrate | rebuild | republish | parked | sweep`: one CLI shape for every service."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
from typing import Any

from pydantic import ValidationError

from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.migrate import missing_revisions, upgrade
from pmo_events.runtime.projection import rebuild_inline_views, reset_subscription
from pmo_events.signing import EventSigner
from pmo_servicekit.logs import configure_logging
from pmo_servicekit.parked_cli import add_parked_commands, run_parked_command
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime, event_signer, event_store
from pmo_servicekit.settings import ServiceSettings
from pmo_servicekit.sweeps import chosen, run_sweeps

log = logging.getLogger(__name__)


def main(definition: ServiceDefinition, argv: list[str] | None = None, *, epilog: str | None = None) -> int:
    """`epilog`: what `--help` says after the subcommands (a service's own commands handled before this parser)."""
    parser = argparse.ArgumentParser(prog=f"pmo-{definition.name}", description=definition.title, epilog=epilog)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve HTTP, relay the outbox and consume subscribed topics")
    commands.add_parser("migrate", help="apply database migrations and exit")
    rebuild = commands.add_parser("rebuild", help="rebuild read models by replaying events")
    rebuild.add_argument(
        "--subscription", action="store_true", help="also re-read subscribed topics from offset 0 at the next start"
    )
    commands.add_parser("republish", help="queue the whole event store for publishing again (consumers dedupe)")
    add_parked_commands(commands)
    names = [sweep.name for sweep in definition.sweeps]
    sweep = commands.add_parser(
        "sweep",
        help="run the periodic triggers once, as the scheduler, and print their counts as JSON",
        description="; ".join(f"{s.name}: {s.help}" for s in definition.sweeps) or "this service has no sweeps",
    )
    sweep.add_argument("names", nargs="*", metavar="|".join([*names, "all"]), help="which (default: all)")
    args = parser.parse_args(argv)
    if args.command == "sweep" and (unknown := set(args.names) - {*names, "all"}):
        parser.error(f"no sweep {', '.join(sorted(unknown))}; {definition.name} has: {', '.join([*names, 'all'])}")
    try:
        settings = ServiceSettings()
    except ValidationError as error:  # a setting that is missing or wrong: say which, not a traceback
        print(f"pmo-{definition.name}: cannot start: {settings_problems(error)}", file=sys.stderr)
        return 2
    configure_logging(service=definition.name, level=settings.log_level, json=settings.logs_as_json)
    url = settings.database_url_for(definition.name)
    if args.command == "migrate":
        upgrade(url, definition.migrations, definition.metadata)
        log.info("%s: database is at the latest revision", definition.name)
        return 0
    if args.command != "serve" and (missing := asyncio.run(missing_revisions(url, definition.migrations))):
        print(
            f"pmo-{definition.name}: the database is not migrated to this release ({', '.join(sorted(missing))} "
            f"missing): run `python -m pmo_{definition.name} migrate` first",
            file=sys.stderr,
        )
        return 2
    if args.command == "republish":
        return asyncio.run(_republish(definition, settings))
    if args.command == "parked":
        return asyncio.run(run_parked_command(args, settings.database_url_for(definition.name)))
    if args.command == "sweep":
        return asyncio.run(_sweep(definition, settings, args.names))
    if args.command == "rebuild":
        return asyncio.run(_rebuild(definition, settings, replay_subscription=args.subscription))
    return _serve(definition, settings)


def settings_problems(error: ValidationError) -> str:
    """Each wrong setting by its environment variable (`PMO_...`), with pydantic's reason."""
    problems = []
    for problem in error.errors(include_url=False):
        reason = str(problem["msg"]).removeprefix("Value error, ")
        where = "_".join(str(part) for part in problem["loc"]).upper()
        problems.append(f"PMO_{where}: {reason}" if where else reason)
    return "; ".join(problems)


def _serve(definition: ServiceDefinition, settings: ServiceSettings) -> int:
    import uvicorn

    if settings.migrate_on_start:
        upgrade(settings.database_url_for(definition.name), definition.migrations, definition.metadata)
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port or definition.default_port,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # uvicorn's lines go through our formatter (pmo_servicekit.logs)
        "timeout_graceful_shutdown": int(settings.shutdown_grace_seconds / 2),
        "access_log": False,  # pmo.access writes one line per request, with request id and trace id
    }
    workers = _workers(definition, settings)
    if workers > 1:
        # Each worker process builds its own app (and runtime) from the definition's import path.
        os.environ[_DEFINITION_ENV] = _import_path(definition)
        uvicorn.run("pmo_servicekit.cli:worker_app", factory=True, workers=workers, **options)
        return 0
    config = uvicorn.Config(_app(definition, settings), **options)
    _graceful_server_class()(config).run()
    return 0


_DEFINITION_ENV = "PMO_SERVICE_DEFINITION"


def _app(definition: ServiceDefinition, settings: ServiceSettings) -> Any:
    from opentelemetry import trace

    from pmo_servicekit.app import create_app

    app = create_app(definition, settings)
    # One service per process: the event runtime's consumer spans go to this service's provider too.
    trace.set_tracer_provider(app.state.telemetry.tracer_provider)
    return app


def worker_app() -> Any:
    """The app of one uvicorn worker process when `PMO_HTTP_WORKERS` > 1."""
    module, _, name = os.environ[_DEFINITION_ENV].partition(":")
    definition = getattr(importlib.import_module(module), name)
    settings = ServiceSettings()
    # A worker is a fresh process (spawned): its log lines need the same formatter as the parent's.
    configure_logging(service=definition.name, level=settings.log_level, json=settings.logs_as_json)
    return _app(definition, settings)


def _workers(definition: ServiceDefinition, settings: ServiceSettings) -> int:
    """SQLite has one writer per file: several processes would only queue on its lock, so one worker."""
    url = settings.database_url_for(definition.name)
    if settings.http_workers > 1 and url.startswith("sqlite"):
        log.warning("PMO_HTTP_WORKERS=%d ignored on SQLite: one worker", settings.http_workers)
        return 1
    return settings.http_workers


def _import_path(definition: ServiceDefinition) -> str:
    """Where the definition lives (`pmo_<service>.bootstrap:NAME`), for worker processes to import it."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("pmo_") and module_name.endswith(".bootstrap"):
            for attribute, value in vars(module).items():
                if value is definition:
                    return f"{module_name}:{attribute}"
    raise LookupError(f"the {definition.name} definition is not a module-level name of a bootstrap module")


def _graceful_server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """SIGTERM is a planned stop: finish in-flight requests, flush, and exit 0 (uvicorn re-raises it)."""

        def handle_exit(self, sig: int, frame: object) -> None:
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            self._captured_signals.clear()

    return GracefulServer


async def _republish(definition: ServiceDefinition, settings: ServiceSettings) -> int:
    from pmo_events.runtime import Database
    from pmo_events.runtime.relay import requeue_store

    if definition.topic is None:
        print(f"{definition.name} publishes no events; nothing to republish")
        return 0
    signer = EventSigner.from_file(settings.event_signing_key_file) if settings.event_signing_key_file else None
    db = Database(settings.database_url_for(definition.name))
    try:
        async with db.transaction() as session:
            count = await requeue_store(session, service=definition.name, topic=definition.topic, signer=signer)
    finally:
        await db.dispose()
    print(f"{definition.name}: {count} events queued; the running relay publishes them within a second")
    return 0


async def _sweep(definition: ServiceDefinition, settings: ServiceSettings, names: list[str]) -> int:
    """Each chosen sweep once against the service's database; the running service's relay publishes what it
    recorded (the outbox rows are written in each sweep's transactions, like any command's)."""
    from pmo_events.runtime import CommandRuntime, Database

    sweeps = chosen(definition.sweeps, names)
    if not sweeps:
        print("{}")
        return 0
    store = event_store(definition, settings, event_signer(definition, settings, consuming=False))
    db = Database(settings.database_url_for(definition.name))
    commands = CommandRuntime(db, store, projectors=definition.projectors, policies=definition.policies)
    try:
        counts = await run_sweeps(commands, sweeps)
    finally:
        await db.dispose()
    print(json.dumps(counts, sort_keys=True))
    return 0


async def _rebuild(definition: ServiceDefinition, settings: ServiceSettings, *, replay_subscription: bool) -> int:
    from rich.progress import Progress

    runtime = ServiceRuntime(definition, settings, KafkaSettings())
    try:
        async with runtime.db.sessions() as session:
            total = await runtime.store.count(session)
        with Progress(transient=False) as progress:
            task = progress.add_task(f"{definition.name}: replaying the event store", total=total)
            replayed = await rebuild_inline_views(
                runtime.db,
                runtime.store,
                tables=definition.view_tables,
                projectors=definition.projectors,
                progress=lambda n: progress.advance(task, n),
            )
        print(f"{definition.name}: rebuilt {len(definition.view_tables)} views from {replayed} events")
        if replay_subscription and definition.consumes:
            await reset_subscription(runtime.db, definition.consumer_name, tables=definition.subscription_tables)
            print(f"{definition.name}: subscription {definition.consumer_name} will re-read from offset 0")
    finally:
        await runtime.db.dispose()
    return 0

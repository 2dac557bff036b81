"""One service's live batch handler in process on PostgreSQL: what it does with a poll, without the reading.

The history of `benchmarks/live.py` (`--scale`), the events on the topics the service reads, each read back
from the record its producer would publish (signed, parsed as a subscription parses it; the signature check
is the subscription's and is not timed here), applied in polls of `--poll` events by the service's batch
handler in one transaction each, committed, on a fresh database given the history's portfolios (portfolio)
or proposals (intake) first, untimed, as `live.py` does. Prints the event loop thread's CPU per 1,000
events of the handler and commit (the process is single-threaded here), and the database's, per rep;
`--profile FILE` writes a cProfile of one rep's polls. Alternate two checkouts by running this file with
each one's interpreter (`/work/main/.venv/bin/python benchmarks/live_handler.py ...`), or, in one process,
`--alternate gc` (every batch handler under `short_lived_heap`, or not) or `--alternate held` (portfolio's
polls using the states the last poll left, or loading every portfolio): each rep runs both, in turn first.
`--traced` installs the SDK `TracerProvider` that `serve` installs (no exporter), so the consumer spans are the
SDK's as in a served process (without it they are the no-op API's). Instruction counts (repeatable under load):
`valgrind --tool=callgrind --instr-atstart=no .venv/bin/python benchmarks/live_handler.py --repeat 1 --callgrind`
switches instrumentation on around each rep's polls and commits (`callgrind_control -i`); divide the `Collected`
instructions by the events (the database's work is another process's, not counted).

    .venv/bin/python benchmarks/live_handler.py [--service portfolio] [--scale 0.1] [--repeat 3] [--traced]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from inprocess import callgrind_toggle
from live import ADMIN, SERVICES, seed_portfolios, seed_proposals
from load import ServerCpu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, generate, scaled

from pmo_devstack.batches import service_runtime
from pmo_devstack.keys import PUBLISHERS, ensure_event_keys
from pmo_devstack.testing import as_published, create_database, drop_database
from pmo_events import envelope
from pmo_events.contracts import TOPICS
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime.tracing import polling
from pmo_events.runtime.unit_of_work import HeldStates
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_servicekit import service as servicekit_service


def as_read(history: list[RecordedEvent], topics: list[str], data_dir: Path) -> list[RecordedEvent]:
    """The events on `topics`, each as a subscription reads it from its signed record."""
    read = []
    for event in history:
        topic = TOPICS[event.source.rsplit("/", 1)[1]]
        if topic in topics:
            key, value, headers = as_published(event, data_dir)
            read.append(envelope.from_kafka(key, value, headers, topic=topic, partition=0, offset=len(read)))
    return read


async def one_rep(
    service: str,
    history: list[RecordedEvent],
    data_dir: Path,
    poll: int,
    profile: cProfile.Profile | None,
    mark: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    definition = SERVICES[service]
    url = await create_database(ADMIN, "pmo_bench")
    try:
        async with service_runtime(definition, url, "127.0.0.1:1", data_dir) as runtime:
            if definition is PORTFOLIO:
                await seed_portfolios(runtime, history)
            if definition is INTAKE:
                await seed_proposals(runtime, history)
            assert runtime.subscription is not None and runtime.subscription.batch_handler is not None
            handler = runtime.subscription.batch_handler
            events = as_read(history, list(definition.consumes), data_dir)
            polls = [events[i : i + poll] for i in range(0, len(events), poll)]
            server = ServerCpu(url.rsplit("/", 1)[1])
            server.start()
            if profile is not None:
                profile.enable()
            mark()
            cpu, started = time.thread_time(), time.perf_counter()
            for of_poll in polls:
                async with runtime.db.transaction() as session:
                    with polling(definition.consumer_name, len(of_poll)):
                        await handler(session, of_poll)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - started
            mark()
            if profile is not None:
                profile.disable()
            server_ms = server.stop()
            async with runtime.db.sessions() as session:
                recorded = await runtime.store.count(session)
            return {
                "events": len(events),
                "polls": len(polls),
                "cpu_ms_per_1000": cpu * 1e6 / len(events),
                "wall_ms_per_1000": wall * 1e6 / len(events),
                "db_ms_per_1000": server_ms * 1000 / len(events),
                "recorded": recorded,
            }
    finally:
        await drop_database(ADMIN, url)


@contextlib.contextmanager
def without(change: str) -> Iterator[None]:
    """The handlers as they were before `change`, for the length of the block."""
    if change == "gc":
        saved: Any = servicekit_service.short_lived_heap
        servicekit_service.short_lived_heap = contextlib.nullcontext  # type: ignore[assignment]
        try:
            yield
        finally:
            servicekit_service.short_lived_heap = saved
        return
    saved = HeldStates.still_current

    async def nothing_held(*_args: Any) -> dict[str, Any]:
        return {}

    HeldStates.still_current = nothing_held  # type: ignore[method-assign]
    try:
        yield
    finally:
        HeldStates.still_current = saved  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", choices=["portfolio", "intake", "resourcing", "reporting"], default="portfolio")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--poll", type=int, default=2000, help="events per poll (the subscription's max_records)")
    parser.add_argument("--profile", help="write a cProfile of the last rep here")
    parser.add_argument("--label", default="", help="printed on each line (which checkout)")
    parser.add_argument("--alternate", choices=["gc", "held"], help="each rep with and without this change")
    parser.add_argument("--traced", action="store_true", help="with the SDK TracerProvider `serve` installs")
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind's instrumentation around the polls")
    args = parser.parse_args()
    if args.traced:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        trace.set_tracer_provider(TracerProvider())
    scale = scaled(args.scale)
    history = [event for event in generate(scale) if event.type != STATUS_REPORTED]
    gc.collect()
    gc.freeze()  # as live.py and a served process: the history and startup heap are not the collector's work
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        ensure_event_keys(data_dir, PUBLISHERS)
        variants = ["as is"] if args.alternate is None else ["as is", f"without {args.alternate}"]
        by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for rep in range(args.repeat):
            for variant in variants[rep % 2 :] + variants[: rep % 2]:
                profile = cProfile.Profile() if args.profile and rep == args.repeat - 1 else None
                with without(args.alternate) if variant != "as is" else contextlib.nullcontext():
                    mark = callgrind_toggle() if args.callgrind else (lambda: None)
                    run = asyncio.run(one_rep(args.service, history, data_dir, args.poll, profile, mark))
                by_variant[variant].append(run)
                print(
                    f"{args.label} {variant:<12} {args.service} {run['events']} events in {run['polls']} polls: "
                    f"handler+commit {run['cpu_ms_per_1000']:.1f} ms CPU (loop thread), "
                    f"{run['wall_ms_per_1000']:.1f} ms wall, database {run['db_ms_per_1000']:.1f} ms per 1,000 "
                    f"events; {run['recorded']} stored; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                if profile is not None:
                    profile.dump_stats(args.profile)
    for variant, runs in by_variant.items():
        cpu = [r["cpu_ms_per_1000"] for r in runs]
        print(f"{args.label} {variant:<12} {args.service} median {statistics.median(cpu):.1f} (min {min(cpu):.1f}) "
              f"ms CPU per 1,000")  # fmt: skip
    if args.alternate is not None:
        ratios = [a["cpu_ms_per_1000"] / b["cpu_ms_per_1000"] for a, b in zip(*by_variant.values(), strict=True)]
        print(f"{args.label} as is ÷ without {args.alternate}, per rep: {', '.join(f'{r:.2f}' for r in ratios)}; "
              f"median {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""What a service's rebuild costs per event in memory: decode, fold and the rows' values, without a database.

Takes the service's events of `replay.py`'s history as its store holds them (the same streams and JSON text),
makes them as a rebuild reads them (`EventStore.stream_all`'s reader), and runs the service's in-memory
rebuild folds over them in pages of 5,000 (`StreamView.replay(rebuilding=True)`, `InlineViews.replay()`) under
the rebuild's collector settings (`growing_heap`; before 2026-12-01 the services' folds ran under the default
ones, whose full collections walked every decoded event again: portfolio's fold measured about twice its cost),
then builds each row's values as their `write` would (the state's JSON and the columns), everything but
the statements. Prints CPU µs per event, the fastest of `--rounds`. `--service reporting`: every event of the
history as reporting's log holds it, read as its rebuild reads it (`log_reader.recorded`) and folded into every
read model's documents in memory under the rebuild's collector settings (`growing_heap`); its rows are each
document's JSON (`dumps`, as `write_documents` writes it).

    .venv/bin/python benchmarks/fold_cost.py --service portfolio [--history delivered] [--scale 0.5]

Instruction counts, stable on a loaded machine: `--dump FILE` writes the stored rows once; then
`valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce .venv/bin/python
benchmarks/fold_cost.py --service S --load FILE --rounds 1` counts one round's fold and rows alone (each is
run inside a `functools.reduce`, which nothing they call uses): "Collected" over the events. `--predecoded`
decodes every event before the fold (outside the timing and the count): the fold and rows without the decode
shared by every rebuild, for a change to a service's fold alone (not for reporting, whose log reader decodes).
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sys
import time
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pmo_events.envelope import dumps
from pmo_events.runtime.heap import growing_heap
from pmo_events.runtime.projection import InlineViews
from pmo_events.runtime.store import _read
from pmo_events.runtime.views import Folding, StreamView
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.replay import PortfolioReplay
from pmo_reporting.application.log_reader import recorded
from pmo_reporting.projections.catalogue import PROJECTIONS
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_resourcing.bootstrap import RESOURCING

SERVICES = {service.name: service for service in (INTAKE, PORTFOLIO, RESOURCING)}
PAGE = 5000


def stored_rows(service: str, history_name: str, scale: float) -> list[tuple[Any, ...]]:
    from history import generate, scaled
    from replay import service_events

    history = generate(with_fields(scaled(scale), delivery=history_name == "delivered"))
    if service == "reporting":  # the log's columns, in `log_reader._COLUMNS`' order
        log = [(e, e.payload_bytes().decode()) for e in history]
        return [
            (i, e.event_id, e.type, e.source, e.stream_id, e.sequence, e.time, text, e.actor, None, None, "t", 0, i)
            for i, (e, text) in enumerate(log, start=1)
        ]
    mine = service_events(history, service)
    return [
        (
            i,
            e.event_id,
            e.type,
            e.stream_id,
            e.stream_type,
            e.sequence,
            e.time,
            dumps(e.data).decode(),
            e.actor,
            None,
            None,
            None,
        )
        for i, e in enumerate(mine, start=1)
    ]


def rows_of(replayed: Any) -> int:
    """The rows' values `write` would send, built and counted (no statement)."""
    if isinstance(replayed, Folding):
        view = replayed.view
        return len(
            [view._row(i, replayed.states[i], replayed.last[i]) | view.on_insert(f) for i, f in replayed.first.items()]
        )
    if isinstance(replayed, PortfolioReplay):
        stream_rows = (replayed.objectives, replayed.projects, replayed.programmes, replayed.raid_items)
        return sum(len(rows.written()) for rows in stream_rows) + len(replayed.candidates) + len(replayed.decisions)
    return 0


def reporting_round(rows: list[tuple[Any, ...]]) -> tuple[float, float, int]:
    """`one_round` of reporting's rebuild: every read model from one read of the log, as `run_rebuilds` folds."""
    pages = [[recorded(row) for row in rows[start : start + PAGE]] for start in range(0, len(rows), PAGE)]
    docs = {name: InMemoryDocuments() for name in PROJECTIONS}
    folding: dict[str, list[tuple[Any, InMemoryDocuments]]] = {}
    for projection in PROJECTIONS.values():
        for type_name in projection.handles:
            folding.setdefault(type_name, []).append((projection.apply, docs[projection.name]))

    def fold(_: object, __: object) -> None:
        with growing_heap() as settle:
            for page in pages:
                for event in page:
                    for apply, into in folding.get(event.type, ()):
                        apply(into, event)
                settle()

    def rows_made(_: object, __: object) -> int:
        return len([dumps(body) for documents in docs.values() for *_, body in documents.rows()])

    started = time.process_time()
    functools.reduce(fold, (0,), None)
    folded = time.process_time()
    count = functools.reduce(rows_made, (0,), None) or 0
    return folded - started, time.process_time() - folded, count


def one_round(service: str, rows: list[tuple[Any, ...]], predecoded: bool = False) -> tuple[float, float, int]:
    """(fold CPU seconds, rows CPU seconds, rows) of one rebuild's in-memory work (`predecoded`: every event
    decoded before it, so the fold's own decodes find theirs made)."""
    if service == "reporting":
        return reporting_round(rows)
    definition = SERVICES[service]
    source = f"/pmo/{service}"
    pages = [[_read(row, source) for row in rows[start : start + PAGE]] for start in range(0, len(rows), PAGE)]
    if predecoded:
        for page in pages:
            for event in page:
                event.decode()
    replays = [
        p.replay(rebuilding=True) if isinstance(p, StreamView) else p.replay()
        for p in definition.projectors
        if isinstance(p, StreamView | InlineViews)
    ]

    def fold(_: object, __: object) -> None:
        with growing_heap() as settle:  # the collector's settings of `rebuild_inline_views`
            for page in pages:
                for replayed in replays:
                    replayed.fold(page)
                settle()

    def rows_made(_: object, __: object) -> int:
        return sum(rows_of(replayed) for replayed in replays)

    started = time.process_time()
    functools.reduce(fold, (0,), None)  # callgrind counts inside `functools_reduce` only (see the docstring)
    folded = time.process_time()
    count = functools.reduce(rows_made, (0,), None) or 0
    return folded - started, time.process_time() - folded, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", choices=sorted([*SERVICES, "reporting"]), required=True)
    parser.add_argument("--history", choices=("delivered", "legacy"), default="delivered")
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3, help="the fastest counts; 0: only read the rows")
    parser.add_argument("--dump", help="write the stored rows to this file and stop")
    parser.add_argument("--load", help="read the stored rows from this file (see --dump)")
    parser.add_argument(
        "--predecoded", action="store_true", help="decode every event before the fold (not timed, not counted)"
    )
    args = parser.parse_args()
    if args.load:
        with open(args.load, "rb") as file:
            rows = pickle.load(file)  # a file this script wrote
    else:
        rows = stored_rows(args.service, args.history, args.scale)
    if args.dump:
        with open(args.dump, "wb") as file:
            pickle.dump(rows, file)
        return
    best = (float("inf"), float("inf"), 0)
    for _ in range(args.rounds):
        best = min(best, one_round(args.service, rows, args.predecoded))
    if args.rounds:
        fold, built, count = best
        print(
            f"{args.service}: {len(rows)} events → {count} rows{' (predecoded)' if args.predecoded else ''}; "
            f"CPU per event: fold {fold / len(rows) * 1e6:.1f} µs, "
            f"rows {built / len(rows) * 1e6:.1f} µs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )


if __name__ == "__main__":
    main()

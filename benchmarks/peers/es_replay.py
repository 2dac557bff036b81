"""Peer replay: pyeventsourcing 9.5.6 on PostgreSQL reads its notification log, decodes, folds.

    PERSISTENCE_MODULE=eventsourcing.postgres POSTGRES_DBNAME=... python es_replay.py --events 200000

Seeds `--events` events (aggregates of five events each: drafted, then four edits), then replays
the whole application sequence a page at a time: `select_notifications`, the mapper's
`to_domain_event` (decoding), and each event's `mutate` into aggregates held in memory. It writes
no read model back (a cheaper job than a rebuild that commits). Prints one JSON line, a list with
one object per replay: events, seconds, events/s, and the CPU the replay cost (this process and the
database server's processes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from es_app import Proposal, Proposals

PAGE = 1000


def seed(app: Proposals, events: int) -> None:
    for start in range(0, events // 5, 1000):
        batch = []
        for n in range(start, min(start + 1000, events // 5)):
            proposal = Proposal(f"Proposal {n}", "pf-1")
            for edit in range(3):
                proposal.edit(f"Proposal {n} v{edit}")
            proposal.submit()
            batch.append(proposal)
        app.save(*batch)


def server_cpu_ms() -> float:
    """CPU time of the PostgreSQL processes serving this database (pyeventsourcing's pooled connections)."""
    database = os.environ["POSTGRES_DBNAME"]
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-At",
            "-c",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    total = 0
    for pid in out.split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def replay(app: Proposals) -> tuple[int, float]:
    started = time.perf_counter()
    aggregates: dict[Any, Any] = {}
    start, count = 1, 0
    while True:
        page = app.recorder.select_notifications(start, PAGE)
        if not page:
            break
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
        count += len(page)
        start = page[-1].id + 1
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="replays of the same log (one JSON object each)")
    args = parser.parse_args()
    app = Proposals()
    seed(app, args.events)
    runs = []
    for _ in range(args.repeat):
        server, client = server_cpu_ms(), time.process_time()
        count, elapsed = replay(app)
        cpu_ms = (time.process_time() - client) * 1000 + server_cpu_ms() - server
        runs.append({"events": count, "seconds": elapsed, "events_per_s": count / elapsed, "cpu_ms": cpu_ms})
    print(json.dumps(runs))


if __name__ == "__main__":
    main()

"""Peer replay: pyeventsourcing 9.5.6 on PostgreSQL reads its notification log, decodes, folds.

    PERSISTENCE_MODULE=eventsourcing.postgres POSTGRES_DBNAME=... python es_replay.py --events 200000

Seeds `--events` events (aggregates of five events each: drafted, then four edits), then replays
the whole application sequence a page at a time: `select_notifications`, the mapper's
`to_domain_event` (decoding), and each event's `mutate` into aggregates held in memory. It writes
no read model back (a cheaper job than a rebuild that commits). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
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
    args = parser.parse_args()
    app = Proposals()
    seed(app, args.events)
    count, elapsed = replay(app)
    print(json.dumps({"events": count, "seconds": elapsed, "events_per_s": count / elapsed}))


if __name__ == "__main__":
    main()

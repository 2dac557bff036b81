"""`python -m pmo_<service> parked [list | retry | release]`: the operator's hands on parked streams."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from pmo_events.runtime import Database, parking


def add_parked_commands(commands: Any) -> None:
    parked = commands.add_parser("parked", help="streams the relay holds because the broker refused a record")
    actions = parked.add_subparsers(dest="parked_action")
    actions.add_parser("list", help="list the held streams (the default)")
    retry = actions.add_parser("retry", help="let the relay try the refused record again")
    release = actions.add_parser("release", help="give up on the refused record; the rest of its stream flows")
    for action in (retry, release):
        action.add_argument("topic")
        action.add_argument("key", help="the stream id (record key); '' for a keyless record")
    release.add_argument("--reason", required=True, help="why, recorded with who and when")
    release.add_argument("--by", default=getpass.getuser(), help="who decides (default: the OS user)")


async def run_parked_command(args: argparse.Namespace, database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            if args.parked_action == "retry":
                done = await parking.retry(session, topic=args.topic, key=args.key)
            elif args.parked_action == "release":
                done = await parking.release(session, topic=args.topic, key=args.key, by=args.by, reason=args.reason)
            else:
                for held in await parking.parked(session, limit=1000):
                    when = held.parked_at.isoformat(timespec="seconds")
                    print(f"{held.topic}\t{held.key}\toutbox {held.outbox_id}\t{when}\t{held.error}")
                return 0
    finally:
        await db.dispose()
    if not done:
        print(f"no parked stream {args.topic} / {args.key!r}")
        return 1
    print(f"{args.topic} / {args.key!r}: {args.parked_action} done; the running relay acts within seconds")
    return 0

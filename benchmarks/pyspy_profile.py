"""Profile one loaded service process with py-spy and print the top frames by share of samples.

    .venv/bin/python benchmarks/pyspy_profile.py [--seconds 15] [--top 25] [--target intake|portfolio|resourcing]

Starts Tansu and the target's service on a fresh PostgreSQL database (with what its data needs, as
`commands.py --targets` does), drives its command with wrk (intake's `POST /proposals` by default) while
py-spy (from the peers' environment) samples the process, and prints the frames that hold the most
samples: inclusive (on the stack) and self (on top of it), as shares of all samples.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import tempfile
import threading
from pathlib import Path

from command_targets import NEEDS, prepare
from commands import ADMIN, alone, start_stack
from load import HERE, require_tools

from pmo_devstack.testing import create_database, drop_database

PY_SPY = HERE / ".venv-peers" / "bin" / "py-spy"


def summarise(collapsed: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f for f in stack.split(";")
        ]
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    print(f"\n{total} samples; top frames by inclusive share:")
    for frame, samples in inclusive.most_common(top):
        print(f"  {samples / total:6.1%}  {frame}")
    print("\ntop frames by self share:")
    for frame, samples in own.most_common(top):
        print(f"  {samples / total:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--target", choices=sorted(NEEDS), default="intake")
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--resources", type=int, default=100)
    args = parser.parse_args()
    args.targets, args.workers, args.connections = [args.target], 1, 10
    require_tools()
    url = asyncio.run(create_database(ADMIN, "pmo_bench"))
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-profile-"))
    stack = start_stack(args, {args.target: url}, data_dir)
    try:
        target = prepare(stack, args.targets, projects=args.projects, resources=args.resources)[args.target]
        process, run = alone(args, stack, target, data_dir)
        run(seconds=6)  # warm-up, figures discarded
        collapsed = data_dir / "profile.txt"
        spy = ["py-spy", "record", "--pid", str(process.pid), "--duration", str(args.seconds), "--rate", "200"]
        spy[0] = str(PY_SPY)
        sampler = threading.Thread(
            target=subprocess.run,
            args=([*spy, "--format", "raw", "--output", str(collapsed), "--nonblocking"],),
            kwargs={"check": True, "capture_output": True},
        )
        sampler.start()
        print(run(seconds=args.seconds).line())
        sampler.join()
        summarise(collapsed, args.top)
    finally:
        stack.stop()
        asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()

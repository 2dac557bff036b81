"""Profile one loaded intake process with py-spy and print the top frames by share of samples.

    .venv/bin/python benchmarks/pyspy_profile.py [--seconds 15] [--top 25]

Starts Tansu and intake on a fresh PostgreSQL database, drives `POST /proposals` with wrk while
py-spy (from the peers' environment) samples the process, and prints the frames that hold the most
samples: inclusive (on the stack) and self (on top of it), as shares of all samples.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import tempfile
import threading
from pathlib import Path

from load import HERE, require_tools, wrk

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
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
    args = parser.parse_args()
    require_tools()
    url = asyncio.run(create_database(ADMIN, "pmo_bench"))
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-profile-"))
    stack = Stack(
        data_dir,
        ports={"intake": free_port()},
        services=["intake"],
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={"intake": {"PMO_DATABASE_URL": url}},
    )
    try:
        stack.start()
        token = mint_token(dev_key_paths(data_dir)[0].read_bytes(), subject="bench", roles=["requester"])
        process = stack.process("intake")
        assert process is not None
        target = stack.url("intake") + "/proposals"
        # Warm-up, figures discarded (on a busy machine its first answers take seconds: no percentiles to read).
        subprocess.run(
            ["wrk", "-t2", "-c10", "-d6s", "-s", str(HERE / "post.lua"), target],
            check=True,
            capture_output=True,
            env={**os.environ, "BENCH_TOKEN": token},
        )
        collapsed = data_dir / "profile.txt"
        spy = ["py-spy", "record", "--pid", str(process.pid), "--duration", str(args.seconds), "--rate", "200"]
        spy[0] = str(PY_SPY)
        sampler = threading.Thread(
            target=subprocess.run,
            args=([*spy, "--format", "raw", "--output", str(collapsed), "--nonblocking"],),
            kwargs={"check": True, "capture_output": True},
        )
        sampler.start()
        print(
            wrk("intake POST /proposals", target, process.pid, seconds=args.seconds, connections=10, token=token).line()
        )
        sampler.join()
        summarise(collapsed, args.top)
    finally:
        stack.stop()
        asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()

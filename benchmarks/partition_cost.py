"""Instructions per keyed record of the relay's partition choice (`pmo_events.runtime.partitioning.partition_of`)
against aiokafka's `DefaultPartitioner`, for 36-character keys (aggregate ids), counted by callgrind around the loop:

    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python benchmarks/partition_cost.py aiokafka|ours

Divide `Collected` (less a run with `N=0`: the toggles' own cost) by the keys (`N`, 2,000 by default)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable

from aiokafka.partitioner import DefaultPartitioner

from pmo_events.runtime.partitioning import partition_of


def main() -> None:
    keys = [str(uuid.UUID(int=i * 7919 + 12345)).encode() for i in range(int(os.environ.get("N", "2000")))]
    partitions = [0, 1, 2]
    partitioner = DefaultPartitioner()

    def theirs(key: bytes) -> int:
        return int(partitioner(key, partitions, partitions))

    def ours(key: bytes) -> int:
        return partition_of(key, partitions)

    choose: Callable[[bytes], int] = theirs if sys.argv[1] == "aiokafka" else ours
    choose(b"warm")
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=False)
    for key in keys:
        choose(key)
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True, check=False)


if __name__ == "__main__":
    main()

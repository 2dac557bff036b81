"""What bounding each fetched record by its own record batch costs (`subscription._BatchBoundRecords`, session 13
review F1): one fetch's records read by aiokafka's own reader (`PartitionRecords`) and by the bounded one, from
the same bytes, alternated; process CPU per record of each and the difference.

    .venv/bin/python benchmarks/batch_bounds.py [--records 20000] [--batch 1] [--rounds 7]

`--batch`: records per record batch (1: the live path's one event a fetch; the relay's batches are larger).
Records as the relay writes them: a 36-character key, a 400-byte value, ten headers.

Instruction counts, stable on a loaded machine: `valgrind --tool=callgrind --collect-atstart=no
--toggle-collect=functools_reduce .venv/bin/python benchmarks/batch_bounds.py --reader plain|bounded --rounds 1`
counts reading the fetch alone (it runs inside a `functools.reduce`): "Collected" over the records.
"""

from __future__ import annotations

import argparse
import functools
import struct
import time

from aiokafka import TopicPartition
from aiokafka.consumer import fetcher
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords

from pmo_events.runtime.subscription import _BatchBoundRecords, _PartitionRecords

TP = TopicPartition("pmo.test.events", 0)
READERS = {"plain": _PartitionRecords, "bounded": _BatchBoundRecords}


def fetch(records: int, per_batch: int) -> bytes:
    headers = [(f"ce_header{i}", b"x" * 24) for i in range(10)]
    key, value = b"k" * 36, b"v" * 400
    out = bytearray()
    for base in range(0, records, per_batch):
        builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 24)
        for delta in range(min(per_batch, records - base)):
            builder.append(delta, timestamp=0, key=key, value=value, headers=headers)
        buf = bytearray(builder.build())
        struct.pack_into(">q", buf, 0, base)
        out += buf
    return bytes(out)


def read(reader: type, data: bytes) -> int:
    records = reader(TP, MemoryRecords(data), None, 0, None, None, False, fetcher.READ_UNCOMMITTED)
    return sum(1 for _ in records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reader", choices=sorted(READERS), help="only this one (for callgrind)")
    args = parser.parse_args()
    data = fetch(args.records, args.batch)
    if args.reader:
        for _ in range(args.rounds):
            count = functools.reduce(lambda _, __: read(READERS[args.reader], data), (0,), None)
        print(f"{args.reader}: {count} records read")
        return
    times: dict[str, list[float]] = {"plain": [], "bounded": []}
    for _ in range(args.rounds):  # alternated, the fastest of each counts
        for name, reader in READERS.items():
            started = time.process_time()
            assert read(reader, data) == args.records
            times[name].append(time.process_time() - started)
    plain, bounded = min(times["plain"]), min(times["bounded"])
    per = 1e9 / args.records
    print(f"{args.records} records, {args.batch} a batch, {args.rounds} rounds alternated, fastest: "
          f"plain {plain * per:.0f} ns, bounded {bounded * per:.0f} ns a record "
          f"(+{(bounded - plain) * per:.0f} ns, {bounded / plain:.3f}x)")  # fmt: skip


if __name__ == "__main__":
    main()

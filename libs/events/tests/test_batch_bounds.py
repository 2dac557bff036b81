"""Each fetched record bounded by its own record batch (`_BatchBoundRecords`, session 13 review F1), read from
batches built here, as the broker hands them to aiokafka's reader: no broker needed."""

from __future__ import annotations

import struct
from typing import Any

from aiokafka import TopicPartition
from aiokafka.consumer import fetcher
from aiokafka.record.default_records import DefaultRecordBase, DefaultRecordBatchBuilder, calc_crc32c
from aiokafka.record.memory_records import MemoryRecords

from pmo_events.runtime.subscription import _BatchBoundRecords, _PartitionRecords, _Unreadable

TP = TopicPartition("pmo.test.events", 0)


def batch(base: int, deltas: list[int], last_delta: int | None = None) -> bytes:
    """A record batch at `base` holding one record per offset delta; its header's last offset delta is the last
    record's unless `last_delta` says otherwise (a plain producer writes both)."""
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 20)
    for delta in deltas:
        builder.append(delta, timestamp=0, key=b"k", value=b"v", headers=[])
    buf = bytearray(builder.build())
    struct.pack_into(">q", buf, 0, base)
    if last_delta is not None:
        struct.pack_into(">i", buf, 23, last_delta)
    crc = calc_crc32c(bytes(buf[DefaultRecordBase.ATTRIBUTES_OFFSET :]))
    struct.pack_into(">I", buf, DefaultRecordBase.CRC_OFFSET, crc)
    return bytes(buf)


def records(
    data: bytes, fetch_offset: int, reader: type = _BatchBoundRecords, key: Any = None, value: Any = None
) -> list[Any]:
    return list(reader(TP, MemoryRecords(data), None, fetch_offset, key, value, True, fetcher.READ_UNCOMMITTED))


def read(data: bytes, fetch_offset: int, reader: type = _BatchBoundRecords) -> list[tuple[str, int]]:
    return [
        ("misplaced" if type(r) is _Unreadable else "record", r.offset) for r in records(data, fetch_offset, reader)
    ]


def test_the_fetcher_reads_with_it() -> None:
    assert fetcher.PartitionRecords is _BatchBoundRecords


def test_genuine_batches_are_read_as_aiokafka_reads_them() -> None:
    data = batch(10, [0, 1, 2]) + batch(13, [0, 1])
    assert read(data, 10) == read(data, 10, _PartitionRecords) == [("record", o) for o in range(10, 15)]
    assert read(data, 12) == [("record", 12), ("record", 13), ("record", 14)]  # a fetch from within a batch
    assert records(data, 10) == records(data, 10, _PartitionRecords)  # every field, as aiokafka makes them
    deserialized = records(data, 10, key=bytes.upper, value=lambda v: v + b"!")
    assert deserialized == records(data, 10, _PartitionRecords, key=bytes.upper, value=lambda v: v + b"!")
    assert (deserialized[0].key, deserialized[0].value) == (b"K", b"v!")


def test_a_record_claiming_offsets_past_its_batch_is_put_in_it() -> None:
    """F1: the record at 11 claims 14 (offset delta 3 in its one-record batch); the genuine records it jumped
    over come after it. Unbounded, it reads 14 before 12: a poll ending on it stored 15."""
    data = batch(10, [0]) + batch(11, [3], last_delta=0) + batch(12, [0, 1, 2])
    unbounded = [("record", 10), ("record", 14), ("record", 12), ("record", 13), ("record", 14)]
    assert read(data, 10, _PartitionRecords) == unbounded
    assert read(data, 10) == [("record", 10), ("misplaced", 11), ("record", 12), ("record", 13), ("record", 14)]


def test_a_gap_left_by_a_batch_header_is_no_misplaced_record() -> None:
    """R2-5: a header claiming more offsets than its records leaves a gap before the next batch: not flagged."""
    data = batch(10, [0], last_delta=5) + batch(16, [0]) + batch(17, [0, 1])
    assert read(data, 10) == [("record", 10), ("record", 16), ("record", 17), ("record", 18)]


def test_a_record_claiming_below_its_batch_is_put_at_its_claim() -> None:
    """Below the fetch position, aiokafka drops it; in a gap before its batch it is put there (nothing else is)."""
    data = batch(10, [-3]) + batch(11, [0])
    assert read(data, 5) == [("misplaced", 7), ("record", 11)]
    assert read(data, 8) == [("record", 11)]

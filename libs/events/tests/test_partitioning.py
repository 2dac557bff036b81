"""The relay's murmur2 and partition are aiokafka's (the producer's default partitioner), on keys of every length."""

from __future__ import annotations

import os
import uuid

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from pmo_events.runtime.partitioning import murmur2, partition_of


def test_murmur2_equals_aiokafkas_on_keys_of_every_length_and_byte() -> None:
    keys = [os.urandom(length) for length in range(130) for _ in range(20)]
    keys += [bytes([byte]) * length for byte in (0, 0x7F, 0x80, 0xFF) for length in range(12)]
    keys += [str(uuid.uuid4()).encode() for _ in range(500)]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]


def test_partition_of_equals_the_default_partitioners_choice() -> None:
    partitioner = DefaultPartitioner()
    keys = [str(uuid.uuid4()).encode() for _ in range(500)] + [os.urandom(n) for n in range(40)]
    for partitions in ([0], [0, 1, 2], list(range(7)), [3, 5, 8, 13]):
        assert [partition_of(key, partitions) for key in keys] == [
            partitioner(key, partitions, partitions) for key in keys
        ]

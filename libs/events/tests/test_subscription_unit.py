"""How a fetched poll is cut into chunks for the checker thread (pure)."""

from __future__ import annotations

from aiokafka import TopicPartition

from pmo_events.runtime.subscription import (
    FIRST_CHUNK,
    RETRY_AT_MOST_SECONDS,
    RETRY_FIRST_SECONDS,
    chunked,
    retry_delay,
)


def test_chunks_double_keep_each_partition_in_order_and_lose_nothing() -> None:
    a, b = TopicPartition("t.a.events", 0), TopicPartition("t.b.events", 0)
    batch = {a: list(range(10)), b: list(range(100, 105))}
    chunks = chunked(batch, 2)
    assert [sum(map(len, c.values())) for c in chunks] == [2, 4, 8, 1]
    assert chunks == [{a: [0, 1]}, {a: [2, 3, 4, 5]}, {a: [6, 7, 8, 9], b: [100, 101, 102, 103]}, {b: [104]}]


def test_a_poll_no_larger_than_the_first_chunk_is_one_chunk_as_fetched() -> None:
    a, b = TopicPartition("t.a.events", 0), TopicPartition("t.b.events", 1)
    records = [1, 2, 3]
    batch = {a: records, b: [4]}
    (only,) = chunked(batch, 4)
    assert only == batch and only[a] is records
    assert chunked({a: [1, 2, 3, 4, 5]}, 4) == [{a: [1, 2, 3, 4]}, {a: [5]}]


def test_a_catch_ups_first_poll_of_2000_is_checked_in_two_chunks() -> None:
    """A full poll with nothing checked ahead goes in two transactions at most, not four (256, 512, 1,024, 208:
    portfolio's each wrote the views of every portfolio it touched)."""
    a = TopicPartition("t.a.events", 0)
    assert [sum(map(len, c.values())) for c in chunked({a: list(range(2000))}, FIRST_CHUNK)] == [1024, 976]


def test_a_poll_retried_for_ever_waits_at_most_the_cap() -> None:
    """A conflict that never clears is retried for ever: the wait doubles from the first delay up to the cap and
    stays there (7221f68 computed `first * 2 ** (retries - 1)`, an OverflowError from the 1,025th retry, about 85
    minutes into a stuck poll)."""
    assert retry_delay(1) == RETRY_FIRST_SECONDS
    assert retry_delay(2) == 2 * RETRY_FIRST_SECONDS
    assert retry_delay(3) == 4 * RETRY_FIRST_SECONDS
    waits = [retry_delay(retries) for retries in range(1, 3000)]
    assert waits == sorted(waits)
    assert waits[-1] == RETRY_AT_MOST_SECONDS
    assert retry_delay(10**6) == RETRY_AT_MOST_SECONDS

"""Tansu alone: how long a record takes from a plain aiokafka producer to a plain consumer's `getmany`, per
`fetch_max_wait_ms`, and what the fetching costs in CPU (the broker's and this client's).

No database, no services: one topic of one partition, one producer sending a record every `--interval` ms
(`linger_ms=0`, `acks=all`, as the relay does) carrying its send time, one consumer polling `getmany(timeout_ms=200)`
as a subscription does. Each wait in `--waits` is measured in turn on the same broker (list one twice to
alternate). The lag is `send()` called → the record returned by `getmany` on this process's clock.

Tansu (0.6, memory storage) does not answer a waiting fetch when a record arrives: it looks again at points
within the wait, so the lag grows with the wait (about a quarter of it at p50, plus the round trips), while
an idle consumer's fetches (and their CPU, on both sides) fall as the wait grows.

    .venv/bin/python benchmarks/broker_wait.py [--waits 5,1,20,5] [--records 400] [--interval 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pmo_devstack.broker import start_broker


def cpu_ms(pid: int) -> float:
    """The process's on-CPU time so far (all threads, schedstat), in ms."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except OSError:
            continue
    return total / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(servers: str, broker_pid: int, wait_ms: int, records: int, interval: float) -> None:
    topic = f"wait-{wait_ms}-{time.time_ns()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks="all")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, fetch_max_wait_ms=wait_ms, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await producer.send_and_wait(topic, b"warm-up")
        while not await consumer.getmany(timeout_ms=1000):
            pass
        lags: list[float] = []

        async def consume() -> None:
            while len(lags) < records:
                batch = await consumer.getmany(timeout_ms=200)
                now = time.perf_counter()
                lags.extend((now - float(r.value)) * 1000 for of_tp in batch.values() for r in of_tp)

        consuming = asyncio.create_task(consume())
        broker_before, client_before, begin = cpu_ms(broker_pid), time.process_time(), time.perf_counter()
        for _ in range(records):
            await producer.send(topic, str(time.perf_counter()).encode())
            await asyncio.sleep(interval / 1000)
        await asyncio.wait_for(consuming, 30)
        seconds = time.perf_counter() - begin
        broker = (cpu_ms(broker_pid) - broker_before) / seconds
        client = (time.process_time() - client_before) * 1000 / seconds
        print(
            f"fetch_max_wait_ms {wait_ms:4d}: send → getmany p50 {percentile(lags, 0.5):6.2f}"
            f"  p90 {percentile(lags, 0.9):6.2f}  p99 {percentile(lags, 0.99):6.2f} ms;"
            f"  CPU broker {broker:5.1f} ms/s, client {client:5.1f} ms/s",
            flush=True,
        )
    finally:
        await consumer.stop()
        await producer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", default="5,1,20,5,1,20", help="fetch_max_wait_ms values, in turn (each ≥ 1)")
    parser.add_argument("--records", type=int, default=400, help="records per wait")
    parser.add_argument("--interval", type=float, default=10.0, help="ms between two records")
    args = parser.parse_args()
    waits = [int(w) for w in args.waits.split(",")]
    if min(waits) < 1:
        parser.error("aiokafka needs fetch_max_wait_ms ≥ 1")
    print(f"# load {os.getloadavg()[0]:.2f}; {args.records} records, one every {args.interval} ms", flush=True)
    broker = start_broker()
    try:
        for wait_ms in waits:
            await measure(broker.bootstrap_servers, broker.process.pid, wait_ms, args.records, args.interval)
    finally:
        broker.stop()
    print(f"# load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Command → visible in reporting at a steady rate: p50/p99 of the lag, where the CPU went, and the services' RSS.

Starts Tansu, ONE intake and ONE reporting process, each on a fresh PostgreSQL database. A paced client
sends `POST /proposals` at `--rate` commands per second over at most `--connections` keep-alive connections
(open loop: a command is due on schedule whether or not the earlier ones were answered, and its lag counts
from that moment, so waiting for a free connection counts too; wrk's `-R` is not in Debian's wrk). The client
is a few lines of asyncio on raw sockets with one pre-built request (no HTTP library: httpx cost the old
client about 0.4 ms of CPU per request, a third of a core at 100/s, on the same two cores as the product).

The watcher costs nothing while the commands run: the benchmark adds a statement trigger to reporting's
event log (in the benchmark's database only) that NOTIFYs the highest `seq` each transaction wrote; the
notification is delivered when that transaction commits, which is when reports show the event (the log row
and the read models are written in one transaction). The client stamps each notification as it arrives and,
after the run, maps every log row to the first notification that covers its `seq`. (The old watcher polled
the log every millisecond: a thousand queries a second.)

The lag is split at stamps taken after the run: when intake answered (the client), when the relay handed the
record to its producer (the Kafka record's own timestamp, read back from the broker), when reporting's batch
handler wrote the log rows (`received_at`) and when that transaction committed (the NOTIFY). The relay can hand
a record over before the client has read its answer, so that stage may be slightly negative. The relay's own
view (handed → acknowledgement seen) is printed by `--trace` only: the outbox row it used to be read from (its
`published_at`) is deleted once the broker has the record since session 11, and under load that stamp came after
reporting already had the record anyway.

Printed besides the lag: the CPU time (user + system) and the run-queue wait (`/proc/<pid>/task/*/schedstat`:
time a thread was ready but had no core) of intake, reporting, the broker, both databases' server processes
and this client, per command. Run-queue wait is the share of the lag that is CPU queueing on a shared machine.

`--trace` also loads `benchmarks/probe/sitecustomize.py` into both services and prints, for the measured
window, each one's fetches (how many, how many brought records, the empty ones' round trip), its polls (records
and PostgreSQL calls per poll: a figure that does not move with the machine's load), a poll's stages (the
record handed to intake's producer → the fetch that brought it returned → the poll started → each PostgreSQL
call and the gap before it → the poll's end) and its relay (wake-ups, → the outbox read, the read, handed →
acknowledged).

    .venv/bin/python benchmarks/propagation.py [--rate 100] [--seconds 20] [--warmup 5] [--connections 20]
        [--workers 1] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import os
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from load import backends, rss_mb, tree

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHANNEL = "bench_reporting_seen"
TRIGGER = f"""
CREATE OR REPLACE FUNCTION bench_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', (SELECT max(seq)::text FROM bench_new_rows));
  RETURN NULL;
END $$;
CREATE TRIGGER bench_seen AFTER INSERT ON reporting_event_log
  REFERENCING NEW TABLE AS bench_new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_seen();
"""
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_CLOSE = re.compile(rb"(?i)\r\nconnection:\s*close")
_ID = re.compile(rb'"id"\s*:\s*"([^"]+)"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def schedstat(pids: list[int]) -> dict[int, tuple[float, float]]:
    """Each live process's (on-CPU ms, run-queue wait ms), summed over its threads."""
    found = {}
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        on_cpu = waiting = 0
        for task in tasks:
            try:
                fields = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
            except OSError:
                continue
            on_cpu += int(fields[0])
            waiting += int(fields[1])
        found[pid] = (on_cpu / 1e6, waiting / 1e6)
    return found


def spent(before: dict[int, tuple[float, float]], after: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """(CPU ms, wait ms) between two readings, over the processes alive at both (a database connection
    closed meanwhile is left out: its time is lost, not subtracted)."""
    common = before.keys() & after.keys()
    return (
        sum(after[p][0] - before[p][0] for p in common),
        sum(after[p][1] - before[p][1] for p in common),
    )


class Client:
    """Keep-alive HTTP/1.1 connections sending one pre-built request; answers (status, proposal id)."""

    def __init__(self, host: str, port: int, token: str, connections: int) -> None:
        body = b'{"title":"Lag","portfolio_id":"p"}'
        self.request = (
            f"POST /proposals HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.host, self.port, self.limit = host, port, connections
        #: Used oldest first, so none stays idle long enough for the server to close it.
        self.idle: collections.deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = collections.deque()
        self.opened = 0
        self.freed = asyncio.Condition()

    async def post(self) -> tuple[int, str | None]:
        try:
            return await self._post()
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            return await self._post()  # a kept-alive connection the server had closed: once more, on a new one

    async def _post(self) -> tuple[int, str | None]:
        async with self.freed:
            while not self.idle and self.opened >= self.limit:
                await self.freed.wait()
            if self.idle:
                reader, writer = self.idle.popleft()
            else:
                self.opened += 1
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                except OSError:
                    self.opened -= 1
                    raise
        keep = False
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            body = await reader.readexactly(int(length[1])) if length else b""
            keep = length is not None and not _CLOSE.search(head)
            found = _ID.search(body)
            return int(head[9:12]), found[1].decode() if found else None
        finally:
            async with self.freed:
                if keep:
                    self.idle.append((reader, writer))
                else:
                    self.opened -= 1
                    writer.close()
                self.freed.notify()

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()


async def paced(
    client: Client, rate: float, seconds: float, sent: dict[str, tuple[float, float]], failures: list[str]
) -> float:
    """`rate` commands per second for `seconds`, each due on schedule; answers the rate they were answered at.
    `sent`: proposal id → (when it was due, when it was answered)."""

    async def one(due: float) -> None:
        try:
            status, proposal = await client.post()
        except (OSError, asyncio.IncompleteReadError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            return
        if status != 201 or proposal is None:
            failures.append(f"HTTP {status}")
            return
        sent[proposal] = (due, time.perf_counter())

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = begin + n / rate
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return len(tasks) / (time.perf_counter() - begin)


class Watcher:
    """When each transaction of reporting's event log committed (its highest seq, stamped on arrival)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("+asyncpg", "")
        self.stamps: list[tuple[int, float]] = []

    async def __aenter__(self) -> Watcher:
        self.conn = await asyncpg.connect(self.url)
        await self.conn.execute(TRIGGER)
        self.start = await self.conn.fetchval("SELECT coalesce(max(seq), 0) FROM reporting_event_log")
        await self.conn.add_listener(CHANNEL, self._notified)
        return self

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.stamps.append((int(payload), time.perf_counter()))

    async def __aexit__(self, *_exc: object) -> None:
        await self.conn.close()

    async def stages(self, bootstrap_servers: str) -> dict[str, tuple[float, float]]:
        """Each subject's (sent: when intake's relay handed its record to the producer, the record's Kafka
        timestamp; received: when reporting's batch handler, its fold done, wrote the log rows) on this clock
        (wall-clock stamps of the same machine). `sent` comes before the broker has the record and so before any
        consumer does (an early version of this benchmark split the lag at the relay's acknowledgement instead,
        stamped on its event loop, and that stage came out negative)."""
        offset = time.time() - time.perf_counter()
        rows = await self.conn.fetch(
            'SELECT DISTINCT ON (subject) subject, topic, partition, "offset", received_at FROM reporting_event_log'
            " WHERE seq > $1 ORDER BY subject, seq",
            self.start,
        )
        sent = await record_timestamps(bootstrap_servers, {(r["topic"], r["partition"], r["offset"]) for r in rows})
        found = {}
        for row in rows:
            at = sent.get((row["topic"], row["partition"], row["offset"]))
            if at is None:
                continue
            found[row["subject"]] = (at - offset, row["received_at"].timestamp() - offset)
        return found

    async def seen(self) -> dict[str, float]:
        """Each subject's first commit in reporting's log since the watch began."""
        rows = await self.conn.fetch(
            "SELECT seq, subject FROM reporting_event_log WHERE seq > $1 ORDER BY seq", self.start
        )
        highest, covered, stamps = 0, [], []
        for seq, stamp in self.stamps:
            highest = max(highest, seq)
            covered.append(highest)
            stamps.append(stamp)
        seen: dict[str, float] = {}
        for seq, subject in rows:
            at = bisect.bisect_left(covered, seq)
            if at < len(stamps):
                seen.setdefault(subject, stamps[at])
        return seen


async def record_timestamps(
    bootstrap_servers: str, wanted: set[tuple[str, int, int]]
) -> dict[tuple[str, int, int], float]:
    """The Kafka timestamp (seconds, the epoch) of each wanted record: aiokafka stamps a record when `send` puts
    it in its batch (CreateTime), i.e. when the relay handed it over."""
    found: dict[tuple[str, int, int], float] = {}
    by_tp: dict[TopicPartition, list[int]] = collections.defaultdict(list)
    for topic, partition, at in wanted:
        by_tp[TopicPartition(topic, partition)].append(at)
    if not by_tp:
        return found
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        consumer.assign(list(by_tp))
        for tp, offsets in by_tp.items():
            consumer.seek(tp, min(offsets))
        last = {tp: max(offsets) for tp, offsets in by_tp.items()}
        deadline = time.perf_counter() + 30
        while last and time.perf_counter() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                for record in records:
                    found[(tp.topic, tp.partition, record.offset)] = record.timestamp / 1000
                if tp in last and records[-1].offset >= last[tp]:
                    del last[tp]
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    return found


def product_pids(stack: Stack, databases: list[str]) -> dict[str, list[int]]:
    pids: dict[str, list[int]] = {}
    for name in ("intake", "reporting"):
        process = stack.process(name)
        assert process is not None
        pids[name] = tree(process.pid)
    broker = stack.broker
    pids["broker"] = tree(broker.process.pid) if broker is not None else []
    pids["postgres"] = [pid for database in databases for pid in backends(database)]
    return pids


async def run(
    stack: Stack, intake_url: str, reporting_url: str, token: str, databases: list[str], args: argparse.Namespace
) -> None:
    host, port = stack.url("intake").removeprefix("http://").rsplit(":", 1)
    client = Client(host, int(port.rstrip("/")), token, args.connections)
    window = [0.0, 0.0]
    async with Watcher(reporting_url) as watcher:
        if args.warmup:
            await paced(client, args.rate, args.warmup, {}, [])
            await asyncio.sleep(1.0)
        pids = product_pids(stack, databases)  # after the warm-up: every pool connection is open
        print("  processes: " + ", ".join(f"{name} {found}" for name, found in pids.items()), flush=True)
        load_before = os.getloadavg()
        before = {name: schedstat(found) for name, found in pids.items()}
        client_before = schedstat([os.getpid()])
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        window[0] = time.time()
        sent: dict[str, tuple[float, float]] = {}
        failures: list[str] = []
        achieved = await paced(client, args.rate, args.seconds, sent, failures)
        deadline = time.perf_counter() + 60
        seen: dict[str, float] = {}
        while time.perf_counter() < deadline:
            seen = await watcher.seen()
            if all(i in seen for i in sent):
                break
            await asyncio.sleep(0.2)
        window[1] = time.time()
        broker = stack.broker
        assert broker is not None
        stages = await watcher.stages(broker.bootstrap_servers)
        after = {name: schedstat(found) for name, found in pids.items()}
        client_after = schedstat([os.getpid()])
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        load_after = os.getloadavg()
    client.close()
    lags = [(seen[i] - due) * 1000 for i, (due, _answered) in sent.items() if i in seen]
    answers = [(answered - due) * 1000 for due, answered in sent.values()]
    onward = [(seen[i] - answered) * 1000 for i, (_due, answered) in sent.items() if i in seen]
    handed = [(stages[i][0] - answered) * 1000 for i, (_due, answered) in sent.items() if i in stages]
    received = [(stages[i][1] - stages[i][0]) * 1000 for i in sent if i in stages]
    committed = [(seen[i] - stages[i][1]) * 1000 for i in sent if i in stages and i in seen]
    missing = len(sent) - len(lags)
    count = max(len(sent), 1)
    print(
        f"\n{args.rate:g} commands/s due for {args.seconds:g} s ({achieved:.1f}/s answered),"
        f" {len(sent)} answered, {len(failures)} failed, {missing} not seen in reporting within 60 s"
        f"   load average {load_before[0]:.2f} → {load_after[0]:.2f}"
    )
    if lags:
        for name, values in (
            ("command → visible in reporting", lags),
            ("  of which: due → answered by intake", answers),
            ("  answered → visible in reporting", onward),
            ("    answered → handed to the broker", handed),
            ("    handed to the broker → log rows", received),
            ("    log rows → committed", committed),
        ):
            if not values:
                continue
            print(
                f"  {name:<40} p50 {percentile(values, 0.5):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms"
                f"   mean {statistics.mean(values):7.1f} ms   max {max(values):7.1f} ms"
            )
    print("  per command, from the run's first command until the last one was seen: CPU ms, run-queue wait ms")
    totals = [0.0, 0.0]
    for name in pids:
        cpu, wait = (value / count for value in spent(before[name], after[name]))
        totals[0] += cpu
        totals[1] += wait
        print(f"    {name:<10} CPU {cpu:6.2f}   waiting for a core {wait:6.2f}")
    print(f"    {'product':<10} CPU {totals[0]:6.2f}   waiting for a core {totals[1]:6.2f}")
    cpu, wait = (value / count for value in spent(client_before, client_after))
    rusage = (
        (usage_after.ru_utime + usage_after.ru_stime - usage_before.ru_utime - usage_before.ru_stime) * 1000 / count
    )
    print(f"    {'client':<10} CPU {cpu:6.2f} (getrusage {rusage:.2f})   waiting for a core {wait:6.2f}")
    for failure in failures[:3]:
        print(f"  failure: {failure}")
    if args.trace:
        print_trace(Path(args.trace), pids, window[0], window[1])


def print_trace(directory: Path, pids: dict[str, list[int]], begin: float, end: float) -> None:
    """The probe's stamps within [begin, end] (wall clock), per service."""
    seconds = max(end - begin, 1e-9)

    def line(name: str, values: list[float]) -> str:
        if not values:
            return f"      {name:<34} none"
        return (
            f"      {name:<34} n {len(values):5d}   p50 {percentile(values, 0.5):7.2f} ms"
            f"   p99 {percentile(values, 0.99):7.2f} ms   mean {statistics.mean(values):7.2f} ms"
        )

    print(f"  trace (benchmarks/probe), {seconds:.1f} s measured:")
    for service in ("intake", "reporting"):
        stamps: dict[str, list[list[float]]] = collections.defaultdict(list)
        for pid in pids.get(service, []):
            path = directory / f"{pid}.log"
            if not path.exists():
                continue
            for row in path.read_text().splitlines():
                kind, *fields = row.split()
                values = [float(f) for f in fields]
                if begin <= values[0] <= end:
                    stamps[kind].append(values)
        fetches, polls = stamps["fetch"], stamps["poll"]
        print(f"    {service}")
        empty = [(e - s) * 1000 for s, e, brought in fetches if not brought]
        print(
            f"      fetches {len(fetches) / seconds:6.1f}/s, {sum(1 for f in fetches if f[2]) / seconds:.1f}/s with"
            f" records; polls {len(polls) / seconds:.1f}/s"
        )
        if fetches:
            print(line("empty fetch round trip", empty))
        if polls:
            calls = collections.Counter(int(p[3]) for p in polls)
            shapes = ", ".join(f"{count} calls: {n} polls" for count, n in calls.most_common(4))
            print(
                f"      PostgreSQL calls per poll: mean {statistics.mean(int(p[3]) for p in polls):.2f}"
                f" ({shapes}); records per poll: mean {statistics.mean(p[2] for p in polls):.2f}"
            )
            print(line("poll applied (wall)", [(e - s) * 1000 for s, e, *_ in polls]))
        if stamps["stages"]:
            print_stages(stamps["stages"], sorted(f for f in fetches if f[2]), polls)
        wakes, reads, sends = sorted(w[0] for w in stamps["wake"]), sorted(stamps["read"]), stamps["sent"]
        if wakes or reads:
            starts = [r[0] for r in reads]
            waited = []
            for wake in wakes:
                at = bisect.bisect_left(starts, wake)
                if at < len(starts):
                    waited.append((starts[at] - wake) * 1000)
            with_rows = [r for r in reads if r[2]]
            print(
                f"      relay: {len(wakes)} wake-ups, {len(reads)} outbox reads ({len(with_rows)} with rows,"
                f" {statistics.mean(r[2] for r in with_rows) if with_rows else 0:.2f} rows each)"
            )
            print(line("wake-up → next outbox read", waited))
            print(line("outbox read", [(e - s) * 1000 for s, e, _ in reads]))
            print(line("handed → acknowledged", [(e - s) * 1000 for s, e, _ in sends]))


def print_stages(stages: list[list[float]], brought: list[list[float]], polls: list[list[float]]) -> None:
    """A poll's way from the relay's hand-over (the oldest record's Kafka timestamp) to its commit: the fetch
    that brought it (was it already waiting at the broker when the record was handed over?), the fetch's end →
    the poll's start (getmany returning, the check), then each PostgreSQL call and the gaps between them (this
    thread's own work, or waiting for a core)."""

    def line(name: str, values: list[float]) -> str:
        if not values:
            return f"        {name:<32} none"
        return (
            f"        {name:<32} n {len(values):5d}   p50 {percentile(values, 0.5):7.2f} ms"
            f"   p90 {percentile(values, 0.9):7.2f} ms   mean {statistics.mean(values):7.2f} ms"
        )

    ends = [f[1] for f in brought]
    poll_end = {p[0]: p[1] for p in polls}
    waiting_fetch, issued_after, to_fetch_end, fetch_to_poll, ahead = [], [], [], [], []
    calls: dict[int, list[float]] = collections.defaultdict(list)
    gaps: dict[int, list[float]] = collections.defaultdict(list)
    tails, totals = [], []
    for start, oldest, _newest, *spans in stages:
        at = bisect.bisect_right(ends, start) - 1
        if at >= 0:
            fetch_start, fetch_end, _ = brought[at]
            if fetch_end >= oldest:
                to_fetch_end.append((fetch_end - oldest) * 1000)
                fetch_to_poll.append((start - fetch_end) * 1000)
                (waiting_fetch if fetch_start <= oldest else issued_after).append((fetch_end - oldest) * 1000)
            else:  # read ahead: fetched before it was due here, or by an earlier fetch
                ahead.append((start - oldest) * 1000)
        before = start
        for n in range(0, len(spans), 2):
            gaps[n // 2].append((spans[n] - before) * 1000)
            calls[n // 2].append((spans[n + 1] - spans[n]) * 1000)
            before = spans[n + 1]
        if start in poll_end:
            tails.append((poll_end[start] - before) * 1000)
            totals.append((poll_end[start] - oldest) * 1000)
    print("      a poll's stages (handed = its oldest record's Kafka timestamp):")
    print(line("handed → committed", totals))
    print(line("handed → fetch returned", to_fetch_end))
    print(line("  fetch was waiting at handing", waiting_fetch))
    print(line("  fetch sent after handing", issued_after))
    print(line("fetch returned → poll start", fetch_to_poll))
    print(line("(read ahead) handed → poll start", ahead))
    for n in sorted(calls):
        print(line(f"gap before call {n + 1}", gaps[n]))
        print(line(f"call {n + 1}", calls[n]))
    print(line("last call → poll end", tails))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--connections", type=int, default=20, help="most commands in flight at once")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the same rate before measuring")
    parser.add_argument("--workers", type=int, default=1, help="intake's PMO_HTTP_WORKERS")
    parser.add_argument("--trace", action="store_true", help="stamp the stages inside both services (the probe)")
    args = parser.parse_args()
    probe: dict[str, str] = {}
    if args.trace:
        args.trace = tempfile.mkdtemp(prefix="pmo-propagation-trace-")
        path = os.pathsep.join(p for p in (str(Path(__file__).parent / "probe"), os.environ.get("PYTHONPATH")) if p)
        probe = {"PMO_PROPAGATION_TRACE": args.trace, "PYTHONPATH": path}
    intake_url, reporting_url = (asyncio.run(create_database(ADMIN, "pmo_bench")) for _ in range(2))
    databases = [url.rsplit("/", 1)[1] for url in (intake_url, reporting_url)]
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-propagation-"))
    stack = Stack(
        data_dir,
        ports={"intake": free_port(), "reporting": free_port()},
        services=["intake", "reporting"],
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={
            "intake": {"PMO_DATABASE_URL": intake_url, "PMO_HTTP_WORKERS": str(args.workers), **probe},
            "reporting": {"PMO_DATABASE_URL": reporting_url, **probe},
        },
    )
    try:
        stack.start()
        token = mint_token(dev_key_paths(data_dir)[0].read_bytes(), subject="bench", roles=["requester"])
        asyncio.run(run(stack, intake_url, reporting_url, token, databases, args))
        for name in ("intake", "reporting"):
            process = stack.process(name)
            assert process is not None
            print(f"  {name} RSS after the run: {rss_mb(process.pid):.0f} MB")
    finally:
        stack.stop()
        for url in (intake_url, reporting_url):
            asyncio.run(drop_database(ADMIN, url))


if __name__ == "__main__":
    main()

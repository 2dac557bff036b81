"""Each service's RSS after a ~200,000-event history arrived live, and whether it stays flat under a sustained load.

Generates the reporting benchmark's PMO history (about 145,000 publishable events at the default `--scale 1.53`,
the history `benchmarks/asof.py` loads at 200,000 with its status reports, which no build consumes), publishes
every event signed by its producer to its topic on an embedded Tansu broker (as `benchmarks/live.py` does),
then starts the chosen services with `serve` (one Stack, each on a fresh PostgreSQL database, the same broker)
and samples the RSS of each service's process tree until its subscription has applied what it consumes
(`pmo_subscription_applied` + dead letters on /metrics, lag 0 on /health/ready). Portfolio's database first
gets the history's portfolios, created by portfolio's command (as `live.py` does; their outbox records are
marked published: the history already holds those events).

Then `--load-minutes` of sustained load: a paced client sends `--rate` `POST /proposals` per second to intake
(its relay publishes each event; reporting, portfolio and resourcing consume them) and reporting is asked for
a portfolio summary once a second; every service's RSS is sampled every 2 s. Printed per service: RSS after
the catch-up, its peak, RSS each minute of the load and the least-squares slope (MB per minute) over the
load's second half (after warm-up), and the RSS at the end.

    .venv/bin/python benchmarks/live_rss.py [--scale 1.53] [--services intake,portfolio,resourcing,reporting]
        [--load-minutes 10] [--rate 20] [--samples FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from live import SERVICES, consumed, publish, seed_portfolios
from load import rss_mb
from propagation import Client, paced

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import STATUS_REPORTED, generate, scaled

from pmo_devstack.batches import service_runtime
from pmo_devstack.broker import free_port, start_broker
from pmo_devstack.keys import PUBLISHERS, dev_key_paths, ensure_event_keys, mint_token
from pmo_devstack.stack import Stack
from pmo_devstack.testing import create_database, drop_database
from pmo_events.runtime.schema import outbox

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
_METRIC = re.compile(r"^(pmo_subscription_(?:applied|dead_lettered)\w*)(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)


class Sampler:
    """Every `every` seconds, each service's process-tree RSS (MB), stamped with seconds since start."""

    def __init__(self, stack: Stack, names: list[str], every: float) -> None:
        self.stack, self.names, self.every = stack, names, every
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.began = time.perf_counter()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.perf_counter() - self.began
            for name in self.names:
                process = self.stack.process(name)
                if process is not None:
                    self.samples[name].append((now, rss_mb(process.pid)))
            self._stop.wait(self.every)

    def between(self, name: str, start: float, end: float) -> list[tuple[float, float]]:
        return [(t, v) for t, v in self.samples[name] if start <= t <= end]


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time, MB per minute."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [t for t, _ in points], [v for _, v in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else float("nan")


def applied(client: httpx.Client) -> float:
    """Events the service's subscription has applied or dead-lettered (its /metrics)."""
    text = client.get("/metrics").text
    return sum(float(value) for name, value in _METRIC.findall(text) if not name.endswith("_created"))


def wait_caught_up(stack: Stack, name: str, expected: int, timeout: float) -> tuple[float, float]:
    """Until the subscription has applied (or dead-lettered) `expected` events and reports lag 0; answers
    (seconds taken, events counted)."""
    started = time.perf_counter()
    done = 0.0
    with httpx.Client(base_url=stack.url(name), timeout=10) as client:
        while time.perf_counter() - started < timeout:
            done = applied(client)
            if done >= expected:
                lag = client.get("/health/ready").json().get("subscription", {}).get("lag")
                if lag == 0:
                    break
            time.sleep(1.0)
    return time.perf_counter() - started, done


async def seed(url: str, data_dir: Path, bootstrap: str, history: list) -> int:  # type: ignore[type-arg]
    definition = SERVICES["portfolio"]
    async with service_runtime(definition, url, bootstrap, data_dir) as runtime:
        created = await seed_portfolios(runtime, history)
        async with runtime.db.transaction() as session:  # the history already holds these events
            await session.execute(outbox.delete())
    return created


async def load(stack: Stack, token: str, viewer: str, rate: float, seconds: float) -> tuple[float, int, int]:
    host, port = stack.url("intake").removeprefix("http://").rsplit(":", 1)
    client = Client(host, int(port), token, 10)
    failures: list[str] = []
    asked = [0, 0]

    async def ask_reporting() -> None:
        if "reporting" not in stack.services:
            return
        async with httpx.AsyncClient(
            base_url=stack.url("reporting"), headers={"Authorization": f"Bearer {viewer}"}, timeout=30
        ) as reporting:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                answer = await reporting.get("/reports/portfolios/pf-0/summary")
                asked[0] += 1
                asked[1] += answer.status_code != 200
                await asyncio.sleep(1.0)

    achieved, _ = await asyncio.gather(paced(client, rate, seconds, {}, failures), ask_reporting())
    client.close()
    return achieved, len(failures), asked[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.53)
    parser.add_argument("--services", default="intake,portfolio,resourcing,reporting", help="comma-separated")
    parser.add_argument("--load-minutes", type=float, default=10.0, help="0: catch-up only")
    parser.add_argument("--rate", type=float, default=20.0, help="POST /proposals per second during the load")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for each catch-up")
    parser.add_argument("--samples", type=Path, help="write every RSS sample (service, seconds, MB) to this file")
    args = parser.parse_args()
    names = args.services.split(",")
    if args.load_minutes and "intake" not in names:
        parser.error("the load goes through intake")
    sized = scaled(args.scale)
    history = [event for event in generate(sized) if event.type != STATUS_REPORTED]
    print(f"history: {len(history):,} events; load average {os.getloadavg()}", flush=True)
    urls = {name: asyncio.run(create_database(ADMIN, "pmo_bench")) for name in names}
    broker = start_broker()
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-live-rss-"))
    stack = Stack(
        data_dir,
        ports={name: free_port() for name in names},
        bootstrap_servers=broker.bootstrap_servers,
        services=names,
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning"},
        service_env={name: {"PMO_DATABASE_URL": url} for name, url in urls.items()},
    )
    try:
        ensure_event_keys(data_dir, PUBLISHERS)
        print(f"published in {asyncio.run(publish(broker.bootstrap_servers, history, data_dir)):.1f}s", flush=True)
        if "portfolio" in names:
            created = asyncio.run(seed(urls["portfolio"], data_dir, broker.bootstrap_servers, history))
            print(f"portfolio seeded with {created} portfolios", flush=True)
        expected = {name: consumed(SERVICES[name], history) for name in names}
        del history
        stack.start()
        ready = {name: rss_mb(stack.process(name).pid) for name in names}  # type: ignore[union-attr]
        with Sampler(stack, names, 2.0) as sampler:
            for name in names:  # they catch up side by side; this waits for each in turn
                seconds, done = wait_caught_up(stack, name, expected[name], args.timeout)
                caught = time.perf_counter() - sampler.began
                peak = max(v for _, v in sampler.samples[name])
                process = stack.process(name)
                assert process is not None
                print(
                    f"{name:<10} {expected[name]:,} events consumed ({done:,.0f} applied or dead-lettered) caught up"
                    f" {caught:.0f}s after start: RSS when the stack was ready {ready[name]:.0f} MB,"
                    f" now {rss_mb(process.pid):.0f} MB,"
                    f" peak {peak:.0f} MB; load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            settled = time.perf_counter() - sampler.began
            time.sleep(10)
            after = {name: rss_mb(stack.process(name).pid) for name in names}  # type: ignore[union-attr]
            print("RSS 10 s after every catch-up: " + ", ".join(f"{n} {v:.0f} MB" for n, v in after.items()))
            if args.load_minutes:
                key = dev_key_paths(data_dir)[0].read_bytes()
                token = mint_token(key, subject="bench", roles=["requester"])
                viewer = mint_token(key, subject="bench", roles=["viewer"])
                start = time.perf_counter() - sampler.began
                seconds = args.load_minutes * 60
                achieved, failed, refused = asyncio.run(load(stack, token, viewer, args.rate, seconds))
                end = time.perf_counter() - sampler.began
                print(
                    f"\nload: {args.load_minutes:g} min, POST /proposals {achieved:.1f}/s answered ({failed} failed),"
                    + (f" a reporting summary each second ({refused} not 200);" if "reporting" in names else "")
                    + f" load average {os.getloadavg()}"
                )
                for name in names:
                    points = sampler.between(name, start, end)
                    minutes = [
                        statistics.median([v for t, v in points if start + 60 * m <= t < start + 60 * (m + 1)] or [0])
                        for m in range(int(args.load_minutes + 0.999))
                    ]
                    half = sampler.between(name, start + seconds / 2, end)
                    print(
                        f"  {name:<10} RSS before {sampler.between(name, settled, start)[-1][1]:.0f} MB;"
                        f" median per minute: "
                        + ", ".join(f"{v:.0f}" for v in minutes)
                        + f"; start {points[0][1]:.1f}, min {min(v for _, v in points):.1f},"
                        f" max {max(v for _, v in points):.1f}, end {points[-1][1]:.1f} MB;"
                        f" slope over the second half {slope_per_minute(half):+.2f} MB/min"
                        f" (whole load {slope_per_minute(points):+.2f})"
                    )
            if args.samples:
                args.samples.write_text("".join(f"{n} {t:.1f} {v:.2f}\n" for n in names for t, v in sampler.samples[n]))
    finally:
        stack.stop()
        broker.stop()
        for url in urls.values():
            asyncio.run(drop_database(ADMIN, url))
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()

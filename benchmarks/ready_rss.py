"""A service's resident memory when ready (no events, SQLite), and portfolio's after it optimised a scenario.

Run: `.venv/bin/python benchmarks/ready_rss.py [--rounds 3] [--base /path/to/other/checkout] [--services portfolio]`.
Each round starts every service with `python -m pmo_<service> serve` (one Stack, embedded broker) and reads the RSS
of its process tree once it is ready. With `--base`, rounds alternate between this checkout and the services'
packages of the other checkout (put first on PYTHONPATH: a before/after on the same interpreter and libraries).
`--scenario` also measures, in a process that started the portfolio app (lifespan, SQLite), its RSS when started
and after one scenario and one efficient frontier on 200 candidates (services/portfolio/benchmarks), and the
RSS of the solver process that optimised them (0 when the checkout optimises in the service process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from load import rss_mb

from pmo_devstack.broker import free_port
from pmo_devstack.stack import Stack

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = textwrap.dedent(
    """
    import asyncio, os, random, sys, tempfile
    sys.path.insert(0, os.path.join(os.environ["PMO_ROOT"], "services/portfolio/benchmarks"))
    from pmo_events.runtime import KafkaSettings
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_servicekit.app import create_app
    from pmo_servicekit.settings import ServiceSettings
    from scenario_benchmark import realistic_question
    from pmo_portfolio.scenarios.domain.optimiser import frontier, optimise

    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    async def main():
        url = "sqlite+aiosqlite:///" + os.path.join(tempfile.mkdtemp(), "p.db")
        app = create_app(PORTFOLIO, ServiceSettings(env="development", database_url=url), KafkaSettings())
        async with app.router.lifespan_context(app):
            ready = rss()
            question = realistic_question(random.Random(7))
            try:  # the solver process (this checkout), else in this process (before it)
                from pmo_portfolio.scenarios.queries import OPTIMISER, SOLVER
            except ImportError:
                optimise(question)
                frontier(question)
                solver = 0.0
            else:
                await SOLVER.run(OPTIMISER, "optimise", question)
                await SOLVER.run(OPTIMISER, "frontier", question)
                (pid,) = [p.pid for p in SOLVER.pool()._processes.values()]
                pages = int(open(f"/proc/{pid}/statm").read().split()[1])
                solver = pages * os.sysconf("SC_PAGE_SIZE") / 1e6
            print(f"{ready:.1f} {rss():.1f} {solver:.1f} {'scipy' in sys.modules}")

    asyncio.run(main())
    """
)


def ready(services: list[str], env: dict[str, str]) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="pmo-rss-"))
    stack = Stack(
        data_dir,
        ports={name: free_port() for name in services},
        services=services,
        log=lambda _line: None,
        extra_env={"PMO_LOG_LEVEL": "warning", **env},
    )
    stack.start()
    try:
        figures = {}
        for name in services:
            process = stack.process(name)
            assert process is not None
            figures[name] = rss_mb(process.pid)
        return figures
    finally:
        stack.stop()


def scenario(env: dict[str, str]) -> tuple[float, float, float, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PMO_ROOT": str(ROOT), **env},
    )
    started, after, solver, scipy = done.stdout.strip().splitlines()[-1].split()
    return float(started), float(after), float(solver), scipy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", type=Path, help="another checkout: alternate its services' packages with these")
    parser.add_argument("--services", default="portfolio", help="comma-separated")
    parser.add_argument("--scenario", action="store_true")
    args = parser.parse_args()
    services = args.services.split(",")
    sides: dict[str, dict[str, str]] = {"this": {}}
    if args.base:
        packages = os.pathsep.join(str(args.base / "services" / name) for name in services)
        sides["base"] = {"PYTHONPATH": packages}
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side, env in sides.items() if round_ % 2 == 0 else reversed(list(sides.items())):
            figures = ready(services, env)
            if args.scenario:
                started, after, solver, scipy = scenario(env)
                figures |= {"app started": started, "after scenario+frontier": after, "solver process": solver}
                print(f"round {round_} {side}: scipy imported by the service process: {scipy}")
            results[side].append(figures)
            print(f"round {round_} {side}: " + ", ".join(f"{k} {v:.1f} MB" for k, v in figures.items()), flush=True)
    for side, rounds in results.items():
        for key in rounds[0]:
            values = [r[key] for r in rounds]
            each = ", ".join(f"{v:.1f}" for v in values)
            print(f"{side:5} {key:24} median {statistics.median(values):6.1f} MB  ({each})")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()

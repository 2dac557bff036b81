"""First paint of the PMO console and the board pack on `make demo`'s data: time to first byte and to the
full body of every console page, the board pack's HTML and its PDF, live and `as_of` the first decision,
cold (the first request for that page and instant since the stack started) and warm (median of the next
`--repeat` requests). A console page's charts are images of their own (`chart_store`): "+charts" is the time
from the page's request to its last chart image, fetched one after another.

    .venv/bin/python benchmarks/console.py [--repeat 5] [--screenshot docs/console-overview.png]

`--screenshot` also saves the overview, live, as headless Chromium (the Debian package) draws it: the
README's screenshot comes from this, on the demo data.

The stack runs as processes (`pmo_devstack.stack`, as `make run`), loaded with `make demo`'s data. Prints
figures; it never fails on time. The machine's load average is printed beside them: on a shared machine
the absolute figures move with it.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pmo_devstack.broker import free_port
from pmo_devstack.demo import load
from pmo_devstack.html_checks import chart_sources, offline_copy, parse
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack


@dataclass(frozen=True)
class Timing:
    first_byte_ms: float
    full_ms: float
    size: int
    #: Milliseconds from the page's request to the last byte of its last chart image (0: no chart image).
    charts_ms: float = 0.0


def timed(client: httpx.Client, path: str, params: dict[str, str]) -> Timing:
    """One request: milliseconds to the first byte of the body and to its last, and its size; then the page's
    chart images, one after another (a browser asks for them side by side: an upper bound)."""
    start = time.perf_counter()
    with client.stream("GET", path, params=params) as answer:
        chunks = answer.iter_bytes()
        first = next(chunks, b"")
        first_byte = time.perf_counter()
        body = first + b"".join(chunks)
        done = time.perf_counter()
        if answer.status_code != 200:
            raise SystemExit(f"{path} {params}: {answer.status_code}")
    sources = chart_sources(parse(body.decode())) if answer.headers["content-type"].startswith("text/html") else []
    for source in sources:
        if (chart := client.get(source)).status_code != 200:
            raise SystemExit(f"{source}: {chart.status_code}")
    charts_ms = (time.perf_counter() - start) * 1000 if sources else 0.0
    return Timing((first_byte - start) * 1000, (done - start) * 1000, len(body), charts_ms)


def pages(client: httpx.Client, portfolio: str) -> dict[str, str]:
    decisions = client.get("/reports/decisions", params={"portfolio_id": portfolio}).json()["items"]
    project = next(d["subject_id"] for d in decisions if d["kind"] == "investment" and d["outcome"] == "approved")
    return {
        "portfolios": "/console",
        "overview": f"/console/portfolios/{portfolio}",
        "pipeline": f"/console/portfolios/{portfolio}/pipeline",
        "decisions": f"/console/portfolios/{portfolio}/decisions",
        "risks": f"/console/portfolios/{portfolio}/risks",
        "dependencies": f"/console/portfolios/{portfolio}/dependencies",
        "programmes": f"/console/portfolios/{portfolio}/programmes",
        "project": f"/console/projects/{project}",
        "capacity": "/console/capacity",
        "board pack (HTML)": f"/reports/portfolios/{portfolio}/board-pack.html",
        "board pack (PDF)": f"/reports/portfolios/{portfolio}/board-pack.pdf",
    }


def measure(client: httpx.Client, portfolio: str, repeat: int) -> list[tuple[str, str, Timing, Timing]]:
    decided = [d for d in client.get("/reports/decisions", params={"portfolio_id": portfolio}).json()["items"]
               if d["kind"] != "motion"]  # fmt: skip
    rows = []
    for when, params in (("live", {}), ("as_of first decision", {"as_of": decided[0]["decided_at"]})):
        for name, path in pages(client, portfolio).items():
            cold = timed(client, path, params)
            runs = [timed(client, path, params) for _ in range(repeat)]
            warm = Timing(
                statistics.median(r.first_byte_ms for r in runs),
                statistics.median(r.full_ms for r in runs),
                runs[-1].size,
                statistics.median(r.charts_ms for r in runs),
            )
            rows.append((name, when, cold, warm))
    return rows


def screenshot(client: httpx.Client, portfolio: str, target: Path) -> None:
    """The overview as Chromium draws it, from the page, its stylesheet and its charts saved side by side."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("no chromium (Debian: apt-get install chromium, or make tools as root)")
    with tempfile.TemporaryDirectory(prefix="console-shot-") as folder:
        page = offline_copy(client, client.get(f"/console/portfolios/{portfolio}").text, Path(folder), "overview.html")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,2200",
             f"--screenshot={target.resolve()}", page.as_uri()],
            capture_output=True, timeout=180, check=True,
        )  # fmt: skip
    print(f"screenshot: {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm requests per page (the median counts)")
    parser.add_argument("--screenshot", type=Path, help="save the overview as Chromium draws it (PNG) here")
    args = parser.parse_args()
    logs: collections.deque[str] = collections.deque(maxlen=300)
    with tempfile.TemporaryDirectory(prefix="console-bench-") as folder:
        stack = Stack(Path(folder), ports={n: free_port() for n in SERVICES}, log=logs.append)
        try:
            stack.start()
            lines = load({name: stack.url(name) for name in SERVICES}, stack.data_dir)
            portfolio = next(line.split()[1] for line in lines if line.startswith("portfolio "))
            token = mint_token(dev_key_paths(stack.data_dir)[0].read_bytes(), subject="vera", roles=["viewer"])
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=stack.url("reporting"), headers=headers, timeout=180) as client:
                wait_until(
                    lambda: sum(1 for d in client.get("/reports/decisions", params={"portfolio_id": portfolio}).json()
                                ["items"] if d["kind"] != "motion") == 6,
                    timeout=180,
                )  # fmt: skip
                rows = measure(client, portfolio, args.repeat)
                if args.screenshot:
                    screenshot(client, portfolio, args.screenshot)
        except Exception:
            print("\n".join(logs), file=sys.stderr)
            raise
        finally:
            stack.stop()
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    columns = ("cold TTFB", "cold full", "+charts", "warm TTFB", "warm full", "+charts")
    print(f"{'page':<20} {'instant':<22} " + " ".join(f"{c:>10}" for c in columns) + f" {'KiB':>6}")
    for name, when, cold, warm in rows:
        print(f"{name:<20} {when:<22} {cold.first_byte_ms:>8.0f}ms {cold.full_ms:>8.0f}ms {cold.charts_ms:>8.0f}ms "
              f"{warm.first_byte_ms:>8.0f}ms {warm.full_ms:>8.0f}ms {warm.charts_ms:>8.0f}ms "
              f"{warm.size / 1024:>6.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

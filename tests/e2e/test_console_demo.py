"""The console and the board pack on `make demo`'s data, the stack as processes: every page answers and
shows the JSON reports' figures, now and at the instant of the first board decision (the time slider's
`as_of`), loads nothing from elsewhere, passes the offline accessibility checks; the board pack PDF
holds the same figures; headless Chromium (the Debian package) takes a screenshot of every page,
written under the test's output for review.
"""

from __future__ import annotations

import collections
import concurrent.futures
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from pmo_devstack.broker import free_port
from pmo_devstack.demo import load
from pmo_devstack.html_checks import (
    accessibility_problems,
    external_references,
    offline_copy,
    parse,
    tables_behind_charts,
)
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    logs: collections.deque[str] = collections.deque(maxlen=300)
    running = Stack(tmp_path_factory.mktemp("console"), ports={n: free_port() for n in SERVICES}, log=logs.append)
    try:
        running.start()
        lines = load({name: running.url(name) for name in SERVICES}, running.data_dir)
    except Exception:
        print("\n".join(logs))
        running.stop()
        raise
    portfolio = next(line.split()[1] for line in lines if line.startswith("portfolio "))
    yield running, portfolio
    running.stop()


def _client(stack: Stack) -> httpx.Client:
    token = mint_token(dev_key_paths(stack.data_dir)[0].read_bytes(), subject="vera", roles=["viewer"])
    return httpx.Client(base_url=stack.url("reporting"), headers={"Authorization": f"Bearer {token}"}, timeout=180)


@pytest.mark.timeout(900)
def test_every_page_shows_the_demo_figures_now_and_at_the_first_decision(demo, tmp_path: Path) -> None:
    stack, portfolio = demo
    with _client(stack) as client:
        # Reporting reads the demo's six decisions from the broker in its own time.
        wait_until(lambda: len(_decisions(client, portfolio)) == 6, timeout=180)
        trail = _decisions(client, portfolio)
        first = trail[0]["decided_at"]
        projects = [d["subject_id"] for d in trail if d["outcome"] == "approved"]
        # make demo's programme (pmo_devstack.demo_programme) comes after the decisions.
        wait_until(
            lambda: client.get("/reports/programmes", params={"portfolio_id": portfolio}).json()["items"], timeout=180
        )
        [programme] = client.get("/reports/programmes", params={"portfolio_id": portfolio}).json()["items"]
        pages = {
            "portfolios": "/console",
            "overview": f"/console/portfolios/{portfolio}",
            "pipeline": f"/console/portfolios/{portfolio}/pipeline",
            "decisions": f"/console/portfolios/{portfolio}/decisions",
            "risks": f"/console/portfolios/{portfolio}/risks",
            "dependencies": f"/console/portfolios/{portfolio}/dependencies",
            "programmes": f"/console/portfolios/{portfolio}/programmes",
            "programme": f"/console/programmes/{programme['id']}",
            "project": f"/console/projects/{projects[0]}",
            "capacity": "/console/capacity",
            "board-pack": f"/reports/portfolios/{portfolio}/board-pack.html",
        }
        shots = tmp_path / "pages"
        shots.mkdir()
        for name, path in pages.items():
            for when, as_of in (("now", None), ("then", first)):
                answer = client.get(path, params={"as_of": as_of} if as_of else {})
                assert answer.status_code == 200, (path, answer.text[:300])
                assert external_references(answer.text) == [], path
                page = parse(answer.text)
                assert accessibility_problems(page) == [], path
                assert tables_behind_charts(page), path
                offline_copy(client, answer.text, shots, f"{name}-{when}.html")  # its chart images answer

        for as_of in (None, first):
            params = {"as_of": as_of} if as_of else {}
            summary = client.get(f"/reports/portfolios/{portfolio}/summary", params=params).json()
            page = parse(client.get(pages["overview"], params=params).text)
            assert [r[:6] for r in page.table_rows("budget")] == [
                [b["fiscal_period"], b["start"], b["end"], b["envelope"], b["committed"], b["remaining"]]
                for b in summary["budget"]
            ]
            assert page.table_rows("totals") == [[summary["totals"][k] for k in ("envelope", "committed", "actual")]]
            assert page.table_rows("pipeline-status") == [[s, str(n)] for s, n in summary["pipeline"].items()]
            decided = client.get("/reports/decisions", params={"portfolio_id": portfolio, **params}).json()["items"]
            trail_page = parse(client.get(pages["decisions"], params=params).text)
            assert len(trail_page.find_all("article")) == len(decided)
            risks = client.get("/reports/risks", params={"portfolio_id": portfolio, **params}).json()
            risk_page = parse(client.get(pages["risks"], params=params).text)
            cells = risks["cells"]
            assert risk_page.table_rows("risk-grid") == [
                [str(cells[i]["probability"]), *(str(c["count"]) for c in cells[i : i + 5])] for i in range(0, 25, 5)
            ]
            assert len(risk_page.table_rows("risks")) == max(1, len(risks["items"]))
            graph = client.get("/reports/dependencies", params={"portfolio_id": portfolio, **params}).json()
            graph_page = parse(client.get(pages["dependencies"], params=params).text)
            if graph["items"]:
                assert [r[4] for r in graph_page.table_rows("dependencies")] == [
                    "yes" if e["at_risk"] else "no" for e in graph["items"]
                ]
            funnel = client.get("/reports/pipeline", params={"portfolio_id": portfolio, **params}).json()
            funnel_page = parse(client.get(pages["pipeline"], params=params).text)
            assert funnel_page.table_rows("stages") == [[s["stage"], str(s["count"])] for s in funnel["stages"]]

            pdf = client.get(f"/reports/portfolios/{portfolio}/board-pack.pdf", params=params)
            texts = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages]
            assert len(texts) == 8
            for period in summary["budget"]:
                assert period["envelope"] in texts[1] and period["committed"] in texts[1]
            for status, count in summary["pipeline"].items():
                assert f"{status} {count}" in texts[2]
        # The first decision's instant is not now: fewer decisions then (the page showed the JSON's count).
        then = _decisions(client, portfolio, as_of=first)
        assert len(trail) == 6 and len(then) < 6

    _screenshots(shots)


def _decisions(client: httpx.Client, portfolio: str, **params: str) -> list[dict[str, Any]]:
    """The trail's decisions, without the board's motion lines (each carried motion is listed beside its decision)."""
    items = client.get("/reports/decisions", params={"portfolio_id": portfolio, **params}).json()["items"]
    return [item for item in items if item["kind"] != "motion"]


def _screenshots(folder: Path) -> None:
    """Every saved page as a PNG beside it, by headless Chromium (offline: the pages load nothing else), two
    browsers at a time (each launch is mostly start-up: 22 one after another were the test's longest part)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium for the screenshots (Debian: apt-get install chromium)")

    def shoot(html: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
        shot = html.with_suffix(".png")
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,2000",
             f"--user-data-dir={html.with_suffix('.profile')}", f"--screenshot={shot}", html.as_uri()],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        return shot, result

    pages = sorted(folder.glob("*.html"))
    assert pages
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for shot, result in pool.map(shoot, pages):
            assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
            assert "Uncaught" not in result.stderr, result.stderr[-2000:]
    print(f"screenshots: {folder}")

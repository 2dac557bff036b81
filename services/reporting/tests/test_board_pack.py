"""The board pack over the real service: the PDF parses (pypdf), has one page per section, is dated, and
holds the JSON reports' figures at the same `as_of`; the HTML has the same sections and figures, loads
nothing from elsewhere and passes the offline accessibility checks."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from pmo_devstack.html_checks import accessibility_problems, external_references, parse, patient

from .test_api import all_logged, publish
from .test_api import reporting as reporting  # the fixture
from .test_console import history_with_status_reports
from .test_raid_reports import logged

pytestmark = pytest.mark.integration

SECTIONS = [
    "Contents",
    "Envelope, committed and actual",
    "Delivery health and pipeline",
    "Risks",
    "Pipeline funnel",
    "Candidates and ranking",
    "Decisions",
    "Capacity against demand",
]


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


async def test_the_pdf_and_html_hold_the_reports_figures_now_and_then(reporting) -> None:
    history = history_with_status_reports()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    week_one = (history.events[0].time + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    async with patient(reporting, "vera", "viewer") as client:
        for as_of in (None, week_one):
            params = {"as_of": as_of} if as_of else {}
            summary = (await client.get("/reports/portfolios/pf-1/summary", params=params)).json()
            funnel = (await client.get("/reports/pipeline", params={"portfolio_id": "pf-1", **params})).json()
            decisions = (await client.get("/reports/decisions", params={"portfolio_id": "pf-1", **params})).json()

            answer = await client.get("/reports/portfolios/pf-1/board-pack.pdf", params=params)
            assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
            pages = _pages(answer.content)
            assert len(pages) == len(SECTIONS)
            for number, (text, title) in enumerate(zip(pages, SECTIONS, strict=True), start=1):
                assert f"Portfolio pf-1: {title}" in text and f"page {number} of {len(SECTIONS)}" in text
                assert (f"As it stood at {as_of}" if as_of else "As it stands at") in text
            budget_page, health_page, funnel_page, decisions_page = pages[1], pages[2], pages[4], pages[6]
            for period in summary["budget"]:
                for figure in (period["fiscal_period"], period["envelope"], period["committed"], period["remaining"]):
                    assert figure in budget_page
            for figure in summary["totals"].values():
                assert figure in budget_page
            for status, count in summary["pipeline"].items():
                assert f"{status} {count}" in health_page
            for stage in funnel["stages"]:
                assert f"{stage['stage']} {stage['count']}" in funnel_page
            assert f"latest of {len(decisions['items'])} decisions" in decisions_page
            for decision in decisions["items"]:
                assert decision["decided_at"] in decisions_page

            html = await client.get("/reports/portfolios/pf-1/board-pack.html", params=params)
            assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
            assert external_references(html.text) == []
            page = parse(html.text)
            assert accessibility_problems(page) == []
            assert [h.get_text(strip=True) for h in page.find_all("h2")] == SECTIONS
            assert page.table_rows("budget-1") == [
                [b["fiscal_period"], b["start"], b["end"], b["envelope"], b["committed"], b["remaining"], b["actual"]]
                for b in summary["budget"]
            ]
            assert page.table_rows("health-2") == [[s, str(n)] for s, n in summary["pipeline"].items()]

        # Then is not now: as of week one only one proposal was decided.
        then = _pages((await client.get("/reports/portfolios/pf-1/board-pack.pdf", params={"as_of": week_one})).content)
        now = _pages((await client.get("/reports/portfolios/pf-1/board-pack.pdf")).content)
        assert "rejected 1" in now[2] and "rejected" not in then[2]

        unknown = await client.get("/reports/portfolios/nope/board-pack.pdf")
        assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
        # A portfolio nobody made is not drawn at any as_of either (session 11's review, F4: seconds of the one
        # drawing process for an empty pack); the JSON summary still answers an empty report then.
        for path in ("/reports/portfolios/nope/board-pack.pdf", "/reports/portfolios/nope/board-pack.html"):
            unknown_then = await client.get(path, params={"as_of": week_one})
            assert unknown_then.status_code == 404, (path, unknown_then.status_code)
        assert (await client.get("/console/portfolios/nope", params={"as_of": week_one})).status_code == 404
        assert (await client.get("/reports/portfolios/nope/summary", params={"as_of": week_one})).status_code == 200
        future = await client.get("/reports/portfolios/pf-1/board-pack.html", params={"as_of": "2999-01-01T00:00:00Z"})
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "as_of"

    async with patient(reporting) as anonymous:
        assert (await anonymous.get("/reports/portfolios/pf-1/board-pack.pdf")).status_code == 401


async def test_the_risk_page_holds_the_risk_reports_grid_and_top_risks(reporting) -> None:
    history = logged()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with patient(reporting, "vera", "viewer") as client:
        risks = (await client.get("/reports/risks", params={"portfolio_id": "pf-1"})).json()
        risk_page = _pages((await client.get("/reports/portfolios/pf-1/board-pack.pdf")).content)[3]
        assert "Portfolio pf-1: Risks" in risk_page
        assert "Vendor late 16" in risk_page and "pam portfolio pf-1 yes" in risk_page
        assert "1 escalations and delegations, 1 overdue actions" in risk_page
        html = parse((await client.get("/reports/portfolios/pf-1/board-pack.html")).text)
        cells = risks["cells"]
        assert html.table_rows("risks-1") == [
            [str(cells[i]["probability"]), *(str(c["count"]) for c in cells[i : i + 5])] for i in range(0, 25, 5)
        ]
        assert html.table_rows("risks-2") == [["Vendor late", "16", "4", "4", "pam", "portfolio pf-1", "yes"]]

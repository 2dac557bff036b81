"""The console over the real service (real broker, real tokens, SQLite and PostgreSQL): every page answers,
shows the JSON report's figures live and at a past `as_of`, has a table behind every chart, loads nothing
from elsewhere, and passes the offline accessibility checks (`pmo_devstack.html_checks`)."""

from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from pmo_devstack.html_checks import (
    accessibility_problems,
    chart_sources,
    external_references,
    parse,
    patient,
    tables_behind_charts,
)

from .support import T0, standard_history
from .test_api import all_logged, publish
from .test_api import reporting as reporting  # the fixture
from .test_delivery_projection import delivered
from .test_earned_value import recorded
from .test_programme_dashboard import PROGRAMME, mapped, programme_history
from .test_raid_reports import logged

pytestmark = pytest.mark.integration


def history_with_status_reports():
    history = standard_history()
    recorded(history.at(30), date(2026, 2, 28), planned_value="20000", earned_value="18000", actual_cost="21000")
    recorded(history.at(58), date(2026, 3, 31), planned_value="40000", earned_value="41000", actual_cost="39000")
    return history


async def test_every_page_answers_with_the_reports_figures_now_and_then(reporting) -> None:
    history = history_with_status_reports()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    week_one = (history.events[0].time + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    pages = [
        "/console",
        "/console/portfolios/pf-1",
        "/console/portfolios/pf-1/pipeline",
        "/console/portfolios/pf-1/decisions",
        "/console/projects/p-1",
        "/console/capacity?from=2026-01-01&to=2026-06-30",
    ]
    async with patient(reporting, "vera", "viewer") as client:
        for path in pages:
            for as_of in (None, week_one):
                params = {"as_of": as_of} if as_of else {}
                answer = await client.get(path, params=params)
                assert answer.status_code == 200, (path, answer.text[:500])
                assert answer.headers["content-type"].startswith("text/html")
                page = parse(answer.text)
                assert external_references(answer.text) == [], path
                assert accessibility_problems(page) == [], path
                assert tables_behind_charts(page), path

        # Overview: the summary's figures, live and as of week one (one approval, nothing else decided).
        for as_of in (None, week_one):
            params = {"as_of": as_of} if as_of else {}
            summary = (await client.get("/reports/portfolios/pf-1/summary", params=params)).json()
            page = parse((await client.get("/console/portfolios/pf-1", params=params)).text)
            rows = page.table_rows("budget")
            assert [r[:7] for r in rows] == [
                [b["fiscal_period"], b["start"], b["end"], b["envelope"], b["committed"], b["remaining"], b["actual"]]
                for b in summary["budget"]
            ]
            assert page.table_rows("totals") == [[summary["totals"][k] for k in ("envelope", "committed", "actual")]]
            assert page.table_rows("pipeline-status") == [[s, str(n)] for s, n in summary["pipeline"].items()]
        assert summary["pipeline"] == {"approved": 1, "submitted": 3}

        # Pipeline: the funnel's stages then.
        funnel = (await client.get("/reports/pipeline", params={"portfolio_id": "pf-1", "as_of": week_one})).json()
        page = parse((await client.get("/console/portfolios/pf-1/pipeline", params={"as_of": week_one})).text)
        assert page.table_rows("stages") == [[s["stage"], str(s["count"])] for s in funnel["stages"]]
        for as_of in (week_one, None):
            params = {"as_of": as_of} if as_of else {}
            funnel = (await client.get("/reports/pipeline", params={"portfolio_id": "pf-1", **params})).json()
            page = parse((await client.get("/console/portfolios/pf-1/pipeline", params=params)).text)
            assert page.table_rows("stage-lead-times") == [
                [s["stage"], s["from_stage"], str(s["count"]), s["median"] or "-", s["p90"] or "-"]
                for s in funnel["stage_lead_time_days"]
            ]
        assert funnel["stage_lead_time_days"][3]["stage"] == "decided:rejected"
        assert funnel["stage_lead_time_days"][3]["median"] == "10.00"

        # Project: the EVM series as recorded; as of week one there was no status report yet.
        evm = (await client.get("/reports/projects/p-1")).json()["evm"]
        page = parse((await client.get("/console/projects/p-1")).text)
        assert [r[:5] for r in page.table_rows("evm")] == [
            [p["period_end"], p["bac"], p["pv"], p["ev"], p["ac"]] for p in evm
        ]
        assert len(evm) == 2
        page = parse((await client.get("/console/projects/p-1", params={"as_of": week_one})).text)
        assert page.table_rows("evm") == [["No status report then."]]

        # Decisions: three now, one then.
        now = parse((await client.get("/console/portfolios/pf-1/decisions")).text)
        then = parse((await client.get("/console/portfolios/pf-1/decisions", params={"as_of": week_one})).text)
        assert len(now.find_all("article")) == 3 and len(then.find_all("article")) == 1

        # The day's events beside the figures: week one's day had none; the first day has the portfolio's.
        first_day = history.events[0].time.isoformat().replace("+00:00", "Z")
        page = parse((await client.get("/console", params={"as_of": first_day})).text)
        assert "PortfolioCreated" in page.text_of("time-heading", parent=True)

        # The slider's value is an instant too.
        slider = int(history.events[0].time.timestamp()) + 7 * 86400
        by_slider = await client.get("/console/portfolios/pf-1", params={"t": slider})
        assert parse(by_slider.text).table_rows("pipeline-status") == [["approved", "1"], ["submitted", "3"]]

        bad = await client.get("/console/portfolios/pf-1", params={"as_of": "yesterday"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"


async def test_the_console_asks_for_a_token_and_keeps_a_valid_one(reporting) -> None:
    async with patient(reporting) as anonymous:
        answer = await anonymous.get("/console/portfolios/pf-1", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=")
        login = await anonymous.get(answer.headers["location"])
        assert login.status_code == 200 and 'name="token"' in login.text
        assert external_references(login.text) == [] and accessibility_problems(parse(login.text)) == []

        refused = await anonymous.post("/console/login", data={"token": "not-a-jwt", "next": "/console"})
        assert refused.status_code == 401 and "not valid" in refused.text

        token = reporting.token("vera", "viewer")
        signed_in = await anonymous.post(
            "/console/login", data={"token": token, "next": "https://elsewhere.example/"}, follow_redirects=False
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("samesite", "SameSite")
        home = await anonymous.get("/console")
        assert home.status_code == 200 and "vera" in home.text

        # The board pack for a console user: the cookie is enough (not a 401 or a redirect to the login). Nothing
        # happened yet, so pf-1 is a portfolio reporting has never seen: 404 at any as_of (nothing is drawn).
        for pack in ("board-pack.pdf", "board-pack.html"):
            answer = await anonymous.get(f"/console/portfolios/pf-1/{pack}", params={"as_of": "2020-01-01T00:00:00Z"})
            assert answer.status_code == 404, (pack, answer.status_code)
        assert (await anonymous.get("/console/portfolios/pf-1/board-pack.doc")).status_code == 404

        css = await anonymous.get("/console/static/console.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert (await anonymous.get("/console/static/nothing.js")).status_code == 404

        await anonymous.post("/console/logout")
        assert (await anonymous.get("/console", follow_redirects=False)).status_code == 303


async def test_a_pages_charts_are_images_of_their_own_sent_after_the_page_and_kept(reporting) -> None:
    """First paint does not wait for charts: the overview names each chart by its figures; the chart answers
    as SVG with an accessible name, never changes for its address (ETag, immutable), and only for a reader."""
    history = history_with_status_reports()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    week_one = (history.events[0].time + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    async with patient(reporting, "vera", "viewer") as client:
        now = parse((await client.get("/console/portfolios/pf-1")).text)
        then = parse((await client.get("/console/portfolios/pf-1", params={"as_of": week_one})).text)
        charts_now, charts_then = chart_sources(now), chart_sources(then)
        assert [i["id"] for i in now.find_all("img", class_="chart")] == [
            "chart-budget", "chart-totals", "chart-rag", "chart-risks", "chart-bubbles"
        ]  # fmt: skip
        assert charts_now[0] != charts_then[0]  # other figures, another chart
        assert charts_now == chart_sources(parse((await client.get("/console/portfolios/pf-1")).text))
        for source, image in zip(charts_now, now.find_all("img", class_="chart"), strict=True):
            answer = await client.get(source)
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
            assert "immutable" in answer.headers["cache-control"] and answer.headers["etag"]
            svg = parse(answer.text).find("svg")
            assert svg is not None and svg["role"] == "img"
            assert ElementTree.fromstring(answer.text).tag == "{http://www.w3.org/2000/svg}svg"  # well-formed XML
            assert parse(answer.text).text_of(f"{image['id']}-title") == image["alt"]
            again = await client.get(source, headers={"If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304
        unknown = await client.get("/console/charts/" + "0" * 40 + ".svg")
        assert unknown.status_code == 404
    async with patient(reporting) as anonymous:
        assert (await anonymous.get(charts_now[0])).status_code == 401


def _grid(risks: dict) -> list[list[str]]:
    """The risk report's 5x5 cells as the console's grid table shows them: a row per probability, 5 first."""
    cells = risks["cells"]
    return [[str(cells[i]["probability"]), *(str(c["count"]) for c in cells[i : i + 5])] for i in range(0, 25, 5)]


def _risk_rows(items: list[dict]) -> list[list[str]]:
    return [
        [str(r["score"]), r["title"], r["owner"], str(r["probability"]), str(r["impact"]),
         f"{r['level']} {r['level_id']}", "yes" if r["escalated"] else "no"]
        for r in items
    ]  # fmt: skip


async def test_the_risk_page_and_the_overview_show_the_risk_reports_grid_and_ranking_now_and_then(reporting) -> None:
    history = logged()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    before_the_slip = (T0 + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    async with patient(reporting, "vera", "viewer") as client:
        seen = set()
        for as_of in (None, before_the_slip):
            params = {"as_of": as_of} if as_of else {}
            risks = (await client.get("/reports/risks", params={"portfolio_id": "pf-1", **params})).json()
            answer = await client.get("/console/portfolios/pf-1/risks", params=params)
            assert answer.status_code == 200 and answer.headers["content-security-policy"].startswith("default-src")
            page = parse(answer.text)
            assert external_references(answer.text) == [] and accessibility_problems(page) == []
            assert tables_behind_charts(page) and page.find(id="chart-heatmap") is not None
            assert page.table_rows("risk-grid") == _grid(risks)
            assert page.table_rows("risks") == _risk_rows(risks["items"])
            assert len(page.table_rows("escalations")) == max(1, len(risks["escalations"]))
            overview = parse((await client.get("/console/portfolios/pf-1", params=params)).text)
            assert overview.table_rows("risk-grid") == _grid(risks)
            assert overview.table_rows("top-risks") == _risk_rows(risks["items"][:5])
            seen.add(tuple(map(tuple, page.table_rows("risks"))))
        # Now the risk is scored 16 and sits at the portfolio; before the slip it was 9 at its project.
        assert seen == {
            (("16", "Vendor late", "pam", "4", "4", "portfolio pf-1", "yes"),),
            (("9", "Vendor late", "pam", "3", "3", "project p-1", "no"),),
        }
        overdue = parse((await client.get("/console/portfolios/pf-1/risks")).text).table_rows("overdue-actions")
        assert overdue == [["2026-02-01", "second vendor", "pam", "Vendor late"]]
        bad = await client.get("/console/portfolios/pf-1/risks", params={"t": "-5"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "t"


async def test_the_project_page_lists_gates_and_change_requests_with_who_when_why_and_outcome(reporting) -> None:
    history = delivered()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    requested = (T0 + timedelta(days=50, hours=1)).isoformat().replace("+00:00", "Z")
    async with patient(reporting, "vera", "viewer") as client:
        report = (await client.get("/reports/projects/p-1")).json()
        page = parse((await client.get("/console/projects/p-1")).text)
        [gate] = report["gates"]
        assert page.table_rows("gates") == [
            ["plan", "initiate → plan", "proceed", "bob", gate["decided_at"], "ready"]
        ]  # fmt: skip
        [change] = report["changes"]
        assert change["outcome"] == "approved"
        assert page.table_rows("changes") == [
            ["cr-1", "budget", "FY2026: 10000.00", "pam", change["requested_at"], "more", "approved", "bob",
             change["decided_at"], "ok", "FY2026: 10000.00"]
        ]  # fmt: skip
        then = parse((await client.get("/console/projects/p-1", params={"as_of": requested})).text)
        assert then.table_rows("changes") == [
            ["cr-1", "budget", "FY2026: 10000.00", "pam", change["requested_at"], "more", "pending", "", "", "", ""]
        ]  # fmt: skip
        before = await client.get("/console/projects/p-1", params={"as_of": "2026-01-05T09:00:00Z"})
        assert before.status_code == 200 and "The project did not exist then." in before.text


async def test_the_dependency_map_and_the_programme_pages_show_their_reports_now_and_before_the_slip(reporting) -> None:
    history = mapped(programme_history())
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    before_the_slip = (T0 + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    pages = [
        "/console/portfolios/pf-1/dependencies",
        "/console/portfolios/pf-1/programmes",
        f"/console/programmes/{PROGRAMME}",
    ]
    async with patient(reporting, "vera", "viewer") as client:
        flags, maps = [], []
        for as_of in (None, before_the_slip):
            params = {"as_of": as_of} if as_of else {}
            for path in pages:
                answer = await client.get(path, params=params)
                assert answer.status_code == 200, (path, answer.text[:300])
                page = parse(answer.text)
                assert external_references(answer.text) == [] and accessibility_problems(page) == [], path
                assert tables_behind_charts(page), path

            graph = (await client.get("/reports/dependencies", params={"portfolio_id": "pf-1", **params})).json()
            page = parse((await client.get(pages[0], params=params)).text)
            titles = {n["project_id"]: n["title"] or n["project_id"] for n in graph["nodes"] if n["project_id"]}
            [milestone] = [n for n in graph["nodes"] if n["kind"] == "milestone"]
            assert milestone["title"] == "Customer 360: end of Foundations"
            titles[None] = milestone["title"]  # the one edge on a milestone waits for this one
            assert page.table_rows("dependencies") == [
                [titles[e["dependent_project_id"]], e["needed"], titles[e["provider_project_id"]], e["need_date"],
                 "yes" if e["at_risk"] else "no", (e["cause"] or "").replace("_", " "),
                 e["provider_forecast_end"] or ""]
                for e in graph["items"]
            ]  # fmt: skip
            assert page.table_rows("dependency-projects") == [
                [n["title"] or n["project_id"], n["status"] or "", "yes" if n["at_risk"] else "no"]
                for n in graph["nodes"]
                if n["kind"] == "project"
            ] + [[f"{milestone['title']} (milestone, {milestone['forecast_end']})", milestone["status"], "no"]]
            assert page.find(id="chart-map") is not None
            flags.append([row[4] for row in page.table_rows("dependencies")])

            listed = (await client.get("/reports/programmes", params={"portfolio_id": "pf-1", **params})).json()
            page = parse((await client.get(pages[1], params=params)).text)
            assert [(r[0], r[4], r[5], r[6]) for r in page.table_rows("programmes")] == [
                (p["name"], str(p["projects"]), str(p["projects_at_risk"]), p["worst_rag"] or "-")
                for p in listed["items"]
            ]

            dashboard = (await client.get(f"/reports/programmes/{PROGRAMME}", params=params)).json()
            page = parse((await client.get(pages[2], params=params)).text)
            assert page.table_rows("ring-fence") == [
                [r["fiscal_period"], r["start"] or "", r["end"] or "", r["ring_fence"], r["drawn"], r["remaining"],
                 r["current_budget"]] for r in dashboard["ring_fence"]
            ]  # fmt: skip
            assert [(r[2], r[3], r[4], r[8]) for r in page.table_rows("programme-projects")] == [
                (p["stage"], p["status"], p["rag"] or "-", p["ev"] or "-") for p in dashboard["items"]
            ]
            assert page.table_rows("rollup-evm") == [
                [
                    dashboard["status_rollup"]["evm"][k] or "-"
                    for k in ("bac", "pv", "ev", "ac", "sv", "cv", "eac", "vac", "spi", "cpi")
                ]
            ]
            assert len(page.table_rows("escalated-raid")) == max(1, len(dashboard["escalated_raid"]))
            # The benefits map, planned against realised per programme benefit, as the dashboard gives it.
            assert page.table_rows("benefits-map") == [
                [m["description"], m["owner"], m["unit"] or "", m["as_of"], m["planned_to_date"] or "-",
                 m["realised_to_date"] or "-",
                 "; ".join(f"{c['project_id']}: {c['share']}, {c['contributed'] or '-'}" for c in m["contributions"])]
                for m in dashboard["benefits_map"]
            ] or [["No programme benefit then."]]  # fmt: skip
            maps.append(dashboard["benefits_map"])
            assert page.find(id="chart-benefits") is not None
            for source in chart_sources(page):  # drawn (the map's chart with and without a benefit)
                assert (await client.get(source)).headers["content-type"].startswith("image/svg+xml")
        # The provider slipped on day 40: its dependency is at risk now, not before; the milestone's never was.
        assert flags == [["yes", "no"], ["no", "no"]]
        # The benefits map was set on day 46: one benefit, realised in part now; none before the slip.
        assert [len(m) for m in maps] == [1, 0] and maps[0][0]["realised_to_date"] not in (None, "0.00")

        unknown = await client.get("/console/programmes/nope")
        assert unknown.status_code == 404
        assert (
            "did not exist then"
            in (await client.get("/console/programmes/nope", params={"as_of": before_the_slip})).text
        )


async def test_a_token_without_a_role_reads_no_console_page_as_no_report(reporting) -> None:
    """The JSON API's floor (`pmo_servicekit.access`: reads need at least viewer) holds on every console page."""
    history = programme_history()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    pages = [
        "/console",
        "/console/portfolios/pf-1",
        "/console/portfolios/pf-1/pipeline",
        "/console/portfolios/pf-1/decisions",
        "/console/portfolios/pf-1/risks",
        "/console/portfolios/pf-1/dependencies",
        "/console/portfolios/pf-1/programmes",
        f"/console/programmes/{PROGRAMME}",
        "/console/projects/p-1",
        "/console/capacity",
        "/console/portfolios/pf-1/board-pack.html",
    ]
    async with patient(reporting, "nora") as roleless, patient(reporting, "vera", "viewer") as viewer:
        for path in pages:
            refused = await roleless.get(path, follow_redirects=False)
            assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden"), path
            assert (await viewer.get(path, follow_redirects=False)).status_code == 200, path


async def test_the_console_refuses_at_sign_in_a_token_without_a_role(reporting) -> None:
    """The sign-in applies the pages' floor: a role-less token gets no cookie and says why; a viewer's does."""
    async with patient(reporting) as anonymous:
        roleless = reporting.token("nora")
        refused = await anonymous.post(
            "/console/login", data={"token": roleless, "next": "/console"}, follow_redirects=False
        )
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert "has no role" in refused.text and "viewer" in refused.text and 'name="token"' in refused.text
        assert accessibility_problems(parse(refused.text)) == []
        assert (await anonymous.get("/console", follow_redirects=False)).status_code == 303  # still signed out

        signed_in = await anonymous.post(
            "/console/login",
            data={"token": reporting.token("vera", "viewer"), "next": "/console"},
            follow_redirects=True,
        )
        assert signed_in.status_code == 200 and "vera" in signed_in.text

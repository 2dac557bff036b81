"""The fiscal calendar over HTTP: set by an administrator, read by anyone; PV of later reports follows it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pmo_events.contracts.common import Timeline
from pmo_events.figures.fiscal import FiscalCalendar

from .api_support import above_request, new_portfolio, register

pytestmark = pytest.mark.integration


async def test_an_administrator_sets_an_april_year_and_everyone_reads_it(service) -> None:
    today = datetime.now(UTC).date()
    async with service.client("ada", "admin") as admin, service.client("ann", "pmo_analyst") as analyst:
        default = await analyst.get("/fiscal-calendar")
        assert default.status_code == 200 and default.headers["etag"] == '"0"'
        assert (default.json()["year_start_month"], default.json()["current"]["year"]["name"]) == (1, f"FY{today.year}")
        assert (await analyst.put("/fiscal-calendar", json={"year_start_month": 4})).status_code == 403
        for wrong in (0, 13, "April"):
            refused = await admin.put("/fiscal-calendar", json={"year_start_month": wrong})
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "year_start_month"
        assert (await analyst.get("/fiscal-calendar")).headers["etag"] == '"0"'  # nothing recorded
        answer = await admin.put("/fiscal-calendar", json={"year_start_month": 4}, headers={"If-Match": '"0"'})
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] == '"1"' and answer.json()["set_by"] == "ada"
        april = FiscalCalendar(4)
        period = april.name_of(today)
        assert answer.json()["current"]["period"]["name"] == period
        assert answer.json()["current"]["period"]["start"] == april.span(period).start.isoformat()  # type: ignore[union-attr]
        stale = await admin.put("/fiscal-calendar", json={"year_start_month": 7}, headers={"If-Match": '"0"'})
        assert stale.status_code == 412
        again = await admin.put("/fiscal-calendar", json={"year_start_month": 4})
        assert again.headers["etag"] == '"1"'  # the calendar in force: nothing new recorded


async def test_planned_value_follows_the_calendar_in_force_when_the_report_is_made(service) -> None:
    """FY2026 of an April year runs April 2026 to March 2027: by 30 June 2026, 91 of its 365 days are planned."""
    async with service.client("ada", "admin") as admin:
        assert (await admin.put("/fiscal-calendar", json={"year_start_month": 4})).status_code == 200
    budget = [{"fiscal_period": "FY2026", "amount": "365000.00"}]
    portfolio = await new_portfolio(service, ["bea"], budget=budget)
    await register(
        service, portfolio["id"], "p-april", timeline=Timeline(start=date(2026, 4, 1), end=date(2027, 3, 31))
    )
    decision = {"candidate_id": "p-april", "outcome": "approved", "rationale": "fits", "approved_budget": budget,
                **above_request("365000"), "override_reason": "scoring waived for the test",
                "project_manager": "pam"}  # fmt: skip
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        assert (await bea.post(f"/portfolios/{portfolio['id']}/decisions", json=decision)).status_code == 201
        body = {"period_end": "2026-06-30", "percent_complete": "25", "actual_cost": "90000", "summary": "ok"}
        reported = await pam.post("/projects/p-april/status-reports", json=body)
        assert reported.status_code == 201, reported.text
        [event] = reported.json()["recorded"]
        assert (event["planned_value"], event["earned_value"], event["spi"]) == ("91000.00", "91250.00", "1.0027")

"""Bad input is a 422 naming the field, and changes nothing: the history is the same before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from pmo_devstack.testing import RunningService
from pmo_events.runtime.schema import events

from .api_support import new_portfolio, register

pytestmark = pytest.mark.integration


async def history_size(service: RunningService) -> int:
    async with service.runtime.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(events))).scalar_one())


async def refused(service: RunningService, client: Any, method: str, url: str, body: Any, field: str) -> None:
    before = await history_size(service)
    answer = await client.request(method, url, json=body)
    assert answer.status_code == 422, (url, body, answer.text)
    assert answer.json()["errors"][0]["field"] == field, answer.json()
    assert await history_size(service) == before


async def test_budget_lines_name_a_fiscal_period_and_a_bounded_amount(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    url = f"/portfolios/{portfolio['id']}/budget"
    async with service.client("ann", "pmo_analyst") as analyst:
        for line, field in (
            ({"fiscal_period": "FY2027", "amount": "12345678901234567890123456"}, "budget.0.amount"),
            ({"fiscal_period": "", "amount": "100"}, "budget.0.fiscal_period"),
            ({"fiscal_period": "2027", "amount": "100"}, "budget.0.fiscal_period"),
            ({"fiscal_period": "FY2027-Q5", "amount": "100"}, "budget.0.fiscal_period"),
            ({"fiscal_period": "FY2027", "amount": 100.5}, "budget.0.amount"),
        ):
            await refused(service, analyst, "PUT", url, {"budget": [line]}, field)
        answer = await analyst.put(url, json={"budget": [{"fiscal_period": "", "amount": "1"}]})
        assert "FY2027, FY2027-Q1 or FY2027-P01" in answer.json()["errors"][0]["message"]


async def test_a_scenario_dependency_of_a_candidate_on_itself_is_refused(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    await register(service, portfolio["id"], "c-1")
    url = f"/portfolios/{portfolio['id']}/scenarios"
    async with service.client("ann", "pmo_analyst") as analyst:
        body = {"dependencies": [{"candidate_id": "c-1", "needs": "c-1"}], "save": True, "name": "loop"}
        await refused(service, analyst, "POST", url, body, "dependencies.0")
        capacity = {"capacity": [{"role": "dev", "fiscal_period": "next year", "fte": "1"}]}
        await refused(service, analyst, "POST", url, capacity, "capacity.0.fiscal_period")


async def test_amounts_are_bounded_and_at_the_portfolio_currencys_scale(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    url = f"/portfolios/{portfolio['id']}/budget"
    async with service.client("ann", "pmo_analyst") as analyst:
        for amount, code in (
            ("1e530000", "amount_bounds"),
            ("1e9999999", "amount_bounds"),
            ("1234567890123456", "amount_bounds"),
            ("100.005", "rule"),  # EUR has two places
        ):
            await refused(service, analyst, "PUT", url, {"budget": [{"fiscal_period": "FY2027", "amount": amount}]},
                          "budget.0.amount")  # fmt: skip
            answer = await analyst.put(url, json={"budget": [{"fiscal_period": "FY2027", "amount": amount}]})
            assert answer.json()["errors"][0]["code"] == code, answer.text
        largest = await analyst.put(url, json={"budget": [{"fiscal_period": "FY2027", "amount": "999999999999999.99"}]})
        assert largest.status_code == 200, largest.text
        assert largest.json()["budget"][0]["envelope"] == "999999999999999.99"
        yen = {"name": "Tokyo", "currency": "JPY", "owner": "olga", "board_members": ["bea"]}
        await refused(service, analyst, "POST", "/portfolios", {**yen, "budget": [{"fiscal_period": "FY2027",
                      "amount": "100.50"}]}, "budget.0.amount")  # fmt: skip


async def test_dates_run_from_1900_to_2199(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    await register(service, portfolio["id"], "c-1")
    decision = {"candidate_id": "c-1", "outcome": "deferred", "rationale": "later", "review_on": "9999-12-31"}
    async with service.client("bea", "board_member") as board:
        await refused(service, board, "POST", f"/portfolios/{portfolio['id']}/decisions", decision, "review_on")
        answer = await board.post(f"/portfolios/{portfolio['id']}/decisions", json=decision)
        assert answer.json()["errors"][0]["code"] == "date_out_of_range"


async def test_a_deferral_reviews_after_today_and_more_than_asked_needs_a_reason(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    await register(service, portfolio["id"], "c-1")  # asks for EUR 300.00
    url = f"/portfolios/{portfolio['id']}/decisions"
    today = datetime.now(UTC).date().isoformat()
    deferral = {"candidate_id": "c-1", "outcome": "deferred", "rationale": "later", "review_on": today}
    approval = {"candidate_id": "c-1", "outcome": "approved", "rationale": "yes", "override_reason": "unscored",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": "300.01"}]}  # fmt: skip
    async with service.client("bea", "board_member") as bea:
        await refused(service, bea, "POST", url, deferral, "review_on")
        await refused(service, bea, "POST", url, approval, "exceeds_request_reason")
        answer = await bea.post(url, json=approval)
        assert answer.json()["errors"][0]["message"] == (
            "EUR 300.01 approved is more than the EUR 300.00 requested: say why in exceeds_request_reason"
        )
        reason = "the supplier's quote came in higher"
        approved = await bea.post(url, json={**approval, "exceeds_request_reason": reason})
        assert approved.status_code == 201, approved.text
        decision = (await bea.get(approved.headers["location"])).json()
        assert decision["exceeds_request_reason"] == reason


async def test_a_benefit_of_money_is_measured_as_money_by_today(service) -> None:
    portfolio = await new_portfolio(service, ["bea"])
    await register(service, portfolio["id"], "p-1")  # a financial benefit, unnamed: "#1"
    approval = {"candidate_id": "p-1", "outcome": "approved", "rationale": "yes", "override_reason": "unscored",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": "300"}],
                "project_manager": "pam"}  # fmt: skip
    async with service.client("bea", "board_member") as bea, service.client("pam", "project_manager") as pam:
        assert (await bea.post(f"/portfolios/{portfolio['id']}/decisions", json=approval)).status_code == 201
        url = "/projects/p-1/benefits/%231/realisations"
        yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
        for body, field in (
            ({"measured_value": "abc", "measured_on": yesterday}, "measured_value"),
            ({"measured_value": "1e999999", "measured_on": yesterday}, "measured_value"),
            ({"measured_value": "45000", "unit": "USD", "measured_on": yesterday}, "unit"),
            ({"measured_value": "45000", "measured_on": tomorrow}, "measured_on"),
        ):
            await refused(service, pam, "POST", url, body, field)
        measured = await pam.post(url, json={"measured_value": "45000.50", "unit": "EUR", "measured_on": yesterday})
        assert measured.status_code == 201, measured.text
        [event] = measured.json()["recorded"]
        assert (event["measured_value"], event["unit"]) == ("45000.50", "EUR")


async def test_a_qualified_share_is_a_short_decimal_string(service) -> None:
    """A charter's qualified share is at most 1 with 4 places (an unbounded string of digits was taken and
    recorded whole: 200,000 digits made a 200 kB event; review 1 of session 10, F5)."""
    portfolio = await new_portfolio(service, ["bea"])
    url = f"/portfolios/{portfolio['id']}/charter"
    charter = {"members": ["bea", "bob", "cy"], "chair": "bea", "quorum": 2, "rule": "qualified_majority"}
    async with service.client("olga", "viewer") as owner:
        for share in ("0.5" + "0" * 200_000 + "1", "0.66667", "10.5", "2/3", 0.7):
            await refused(service, owner, "PUT", url, {**charter, "qualified_share": share}, "qualified_share")
        kept = await owner.put(url, json={**charter, "qualified_share": "0.6667"})
        assert kept.status_code == 200, kept.text

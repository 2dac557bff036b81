"""One figure per fact: every figure two services both show is equal, live and `as_of` every step (issue 12).

The real stack as processes, an organisation whose fiscal year starts in April. One scripted history:
two approvals, three status reports, a budget change request, a pause and a resume, a close, a second
project cancelled, people with time off and bookings. After each step the owner's figures are read
(the portfolio's envelope, committed and remaining per fiscal period; resourcing's capacity rows,
grouped every way) with the instant they were read at; at the end reporting must show exactly those
figures live and `as_of` each of those instants, and every status report's earned-value figures as
the portfolio recorded them. Equal, not close: the same strings.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e

#: The fiscal year FY2026 of an April-start organisation: 1 April 2026 to 31 March 2027.
FY2026 = {"from": "2026-04-01", "to": "2027-03-31"}
GROUPINGS = ("role", "pool", "skill", "resource")
BUCKETS = ("period", "quarter", "year")
#: Event-driven steps (a project's demand reaching resourcing, reporting catching up) take a moment.
PATIENCE = 90.0


class Org:
    """The stack and a token per role; every call checks its answer."""

    def __init__(self, stack: Stack, data_dir: Path) -> None:
        self.stack = stack
        self.key = dev_key_paths(data_dir)[0].read_bytes()

    def client(self, service: str, subject: str, role: str) -> httpx.Client:
        token = mint_token(self.key, subject=subject, roles=[role])
        return httpx.Client(base_url=self.stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def call(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        answer = client.request(method, url, **kwargs)
        assert answer.status_code < 300, (method, url, answer.status_code, answer.text)
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    data_dir = tmp_path_factory.mktemp("figures")
    logs: collections.deque[str] = collections.deque(maxlen=400)
    ports = {name: free_port() for name in SERVICES}
    stack = Stack(data_dir, ports=ports, log=logs.append, extra_env={"PMO_LOG_LEVEL": "warning"})
    try:
        stack.start()
    except Exception:
        print("\n".join(logs))
        raise
    yield Org(stack, data_dir)
    stack.stop()


def all_rows(client: httpx.Client, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every row of a paged list (limit 200, following next_cursor)."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = client.get(url, params={**params, "limit": "200", **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, (url, params, page.text)
        rows.extend(page.json()["items"])
        cursor = page.json().get("next_cursor")
        if not cursor:
            return rows


BUDGET_FIELDS = ("fiscal_period", "envelope", "committed", "remaining")


class Figures:
    """What each owner showed after each step, with the instant it was read at."""

    def __init__(self, org: Org, portfolio_id: str) -> None:
        self.portfolio_id = portfolio_id
        self.portfolio = org.client("portfolio", "vera", "viewer")
        self.resourcing = org.client("resourcing", "vera", "viewer")
        self.reporting = org.client("reporting", "vera", "viewer")
        self.snapshots: list[tuple[str, str, list[dict[str, Any]], dict[tuple[str, str], list[dict[str, Any]]]]] = []

    def envelope(self) -> list[dict[str, Any]]:
        """The portfolio's envelope, committed and remaining per fiscal period."""
        budget = self.portfolio.get(f"/portfolios/{self.portfolio_id}").json()["budget"]
        return [{k: line[k] for k in BUDGET_FIELDS} for line in budget]

    def capacity(self, client: httpx.Client, url: str, **extra: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        return {
            (group_by, bucket): all_rows(client, url, {**FY2026, "group_by": group_by, "bucket": bucket, **extra})
            for group_by in GROUPINGS
            for bucket in BUCKETS
        }

    def record(self, step: str) -> None:
        """The owners' figures now; `as_of` this instant reporting must show the same."""
        envelope, capacity = self.envelope(), self.capacity(self.resourcing, "/capacity")
        self.snapshots.append((step, datetime.now(UTC).isoformat(), envelope, capacity))

    def demand(self, **filters: str) -> list[dict[str, Any]]:
        return all_rows(self.resourcing, "/demands", filters)

    def demand_cancelled(self, project_id: str) -> bool:
        """Resourcing has applied the project's end: its demand lines are cancelled."""
        lines = self.demand(project_id=project_id)
        return bool(lines) and all(line["status"] == "cancelled" for line in lines)

    def reported_envelope(self, **as_of: str) -> list[dict[str, Any]]:
        summary = self.reporting.get(f"/reports/portfolios/{self.portfolio_id}/summary", params=as_of)
        assert summary.status_code == 200, summary.text
        return [{k: line[k] for k in BUDGET_FIELDS} for line in summary.json()["budget"]]


def proposal(org: Org, portfolio_id: str, objective_id: str, title: str) -> str:
    """A proposal drafted and submitted in intake (which learns the portfolio from events: it waits)."""
    rita = org.client("intake", "rita", "requester")
    body = {
        "title": title,
        "portfolio_id": portfolio_id,
        "summary": "Replace the CRM",
        "sponsor": "sam",
        "objective_contributions": [{"objective_id": objective_id, "contribution": 4}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2026", "amount": "365000.00"}],
            "benefits": [{"description": "faster sales", "kind": "financial", "value_amount": "500000"}],
        },
        "timeline": {"start": "2026-04-01", "end": "2027-03-31"},
        "resource_estimate": [{"role": "developer", "fte": "1", "start": "2026-04-01", "end": "2026-09-30"}],
        "risk_level": "medium",
    }
    proposal_id: str = org.call(rita, "POST", "/proposals", json=body)["id"]
    wait_until(lambda: rita.post(f"/proposals/{proposal_id}/submit").status_code == 200, "intake to know the portfolio")
    return proposal_id


def money(value: str) -> Decimal:
    return Decimal(value)


#: Reporting's EVM point field ← the portfolio's recorded StatusReported field.
EVM_FIELDS = {"bac": "bac", "pv": "planned_value", "ev": "earned_value", "ac": "actual_cost",
              "sv": "schedule_variance", "cv": "cost_variance", "eac": "eac", "vac": "vac"}  # fmt: skip


def test_every_figure_two_services_show_is_the_same_live_and_as_of_every_step(org: Org) -> None:
    admin, ann = org.client("portfolio", "ada", "admin"), org.client("portfolio", "ann", "pmo_analyst")
    bob, pam = org.client("portfolio", "bob", "board_member"), org.client("portfolio", "pam", "project_manager")
    rm = org.client("resourcing", "rosa", "resource_manager")
    org.call(admin, "PUT", "/fiscal-calendar", json={"year_start_month": 4})
    envelope = [{"fiscal_period": "FY2026", "amount": "1000000.00"}, {"fiscal_period": "FY2027", "amount": "200000.00"}]
    created = {"name": "Change", "currency": "EUR", "owner": "olga", "budget": envelope, "board_members": ["bob"]}
    portfolio_id = org.call(ann, "POST", "/portfolios", json=created)["id"]
    objective_id = org.call(ann, "POST", "/objectives", json={
        "title": "Grow", "weight": "3", "period": {"start": "2026-01-01", "end": "2028-12-31"}})["id"]  # fmt: skip
    figures = Figures(org, portfolio_id)

    ada = org.call(rm, "POST", "/resources", json={"name": "Ada", "role": "developer", "pool": "core", "fte": "1",
                   "skills": [{"name": "python", "level": 4}]})["id"]  # fmt: skip
    four_days = ["mon", "tue", "wed", "thu"]
    ben = org.call(rm, "POST", "/resources", json={"name": "Ben", "role": "developer", "fte": "0.8",
                   "working_days": four_days, "skills": [{"name": "sql", "level": 3}]})["id"]  # fmt: skip
    org.call(rm, "POST", f"/resources/{ben}/time-off", json={"start": "2026-05-04", "end": "2026-05-15",
             "reason": "leave"})  # fmt: skip
    figures.record("people and time off")

    first, second = (proposal(org, portfolio_id, objective_id, title) for title in ("CRM", "Portal"))
    candidates = f"/portfolios/{portfolio_id}/candidates"
    wait_until(lambda: len(bob.get(candidates).json()["items"]) == 2 or None, "both candidates", timeout=PATIENCE)
    for project_id in (first, second):
        decision = {"candidate_id": project_id, "outcome": "approved", "rationale": "fits",
                    "override_reason": "the figures under test do not depend on scoring", "project_manager": "pam",
                    "approved_budget": [{"fiscal_period": "FY2026", "amount": "365000.00"}]}  # fmt: skip
        org.call(bob, "POST", f"/portfolios/{portfolio_id}/decisions", json=decision)
    wait_until(lambda: len(figures.demand()) == 2 or None, "both projects' demand", timeout=PATIENCE)
    figures.record("two approvals and their demand")

    booking = {"resource_id": ada, "project_id": first, "start": "2026-04-06", "end": "2026-07-31", "fte": "0.5",
               "status": "confirmed"}  # fmt: skip
    org.call(rm, "POST", "/allocations", json=booking)
    org.call(rm, "POST", "/allocations", json={**booking, "resource_id": ben, "project_id": second,
             "start": "2026-06-01", "end": "2026-09-24", "fte": "0.4", "status": "proposed"})  # fmt: skip
    figures.record("bookings")

    recorded: list[dict[str, Any]] = []
    url = f"/projects/{first}"
    for gate in ("plan", "execute"):
        org.call(bob, "POST", f"{url}/gates", json={"gate": gate, "decision": "proceed", "rationale": "ready"})
    for period_end, percent, cost in (("2026-06-30", "20", "80000"), ("2026-08-31", "40", "170000")):
        report = {"period_end": period_end, "percent_complete": percent, "actual_cost": cost, "summary": "on track"}
        recorded.append(org.call(pam, "POST", f"{url}/status-reports", json=report)["recorded"][0])
        figures.record(f"status report {period_end}")
    change = {"kind": "budget", "budget_delta": [{"fiscal_period": "FY2026", "amount": "50000"}],
              "effective_on": "2026-09-01", "rationale": "more scope"}  # fmt: skip
    raised = org.call(pam, "POST", f"{url}/change-requests", json=change)["id"]
    org.call(bob, "POST", f"{url}/change-requests/{raised}/decision", json={"outcome": "approved", "rationale": "ok"})
    figures.record("budget change")
    report = {"period_end": "2026-10-31", "percent_complete": "55", "actual_cost": "260000", "summary": "later"}
    recorded.append(org.call(pam, "POST", f"{url}/status-reports", json=report)["recorded"][0])
    figures.record("status report 2026-10-31")
    # Pause and resume change no figure; the closure after them reaches resourcing after them (one key).
    org.call(bob, "POST", f"{url}/pause", json={"rationale": "supplier review"})
    org.call(bob, "POST", f"{url}/resume", json={"rationale": "supplier cleared"})
    org.call(bob, "POST", f"{url}/close", json={"final_cost": "300000", "notes": "done early", "lessons": []})
    wait_until(lambda: figures.demand_cancelled(first) or None, "the closure in resourcing", timeout=PATIENCE)
    figures.record("close")
    # Nothing spent and nothing earned on the second project: CPI divides by nothing (null, not "undefined").
    idle = {"period_end": "2026-04-01", "percent_complete": "0", "actual_cost": "0", "summary": "not started"}
    idle_event = org.call(pam, "POST", f"/projects/{second}/status-reports", json=idle)["recorded"][0]
    org.call(bob, "POST", f"/projects/{second}/cancel", json={"rationale": "priorities changed"})
    wait_until(lambda: figures.demand_cancelled(second) or None, "the cancellation in resourcing", timeout=PATIENCE)
    figures.record("second project cancelled")

    # The history moved the figures compared below (none of them is trivially equal).
    committed = {step: next(line["committed"] for line in env if line["fiscal_period"] == "FY2026")
                 for step, _, env, _ in figures.snapshots}  # fmt: skip
    assert committed["two approvals and their demand"] == "730000.00"
    assert committed["budget change"] == "780000.00"
    assert committed["close"] == "665000.00"  # the first closed at 300,000.00: the rest went back
    assert committed["second project cancelled"] == "300000.00"
    by_resource = figures.snapshots[-1][3][("resource", "period")]
    april = {r["group"]: r for r in by_resource if r["period"] == "FY2026-P01"}
    may = {r["group"]: r for r in by_resource if r["period"] == "FY2026-P02"}
    assert Decimal(april[ada]["confirmed"]) > 0 and Decimal(may[ben]["capacity"]) < Decimal("0.8")  # time off
    before_close = dict(figures.snapshots[-3][3])[("role", "period")]
    assert any(r["demand"] not in (None, "0", "0.0000") for r in before_close)

    # Live: reporting catches up with every owner, then shows exactly what they show.
    step, _, envelope_now, capacity_now = figures.snapshots[-1]
    wait_until(lambda: figures.reported_envelope() == envelope_now or None, "reporting's envelope", timeout=PATIENCE)
    wait_until(lambda: figures.capacity(figures.reporting, "/reports/capacity") == capacity_now or None,
               "reporting's capacity", timeout=PATIENCE)  # fmt: skip
    assert figures.capacity(figures.resourcing, "/capacity") == capacity_now

    # As of every step: the figures of then, from reporting's log.
    for step, instant, envelope_then, capacity_then in figures.snapshots:
        assert figures.reported_envelope(as_of=instant) == envelope_then, step
        assert figures.capacity(figures.reporting, "/reports/capacity", as_of=instant) == capacity_then, step

    # Earned value: reporting's series is what the portfolio recorded, report by report.
    series = org.call(figures.reporting, "GET", f"/reports/projects/{first}")["evm"]
    assert [point["report_id"] for point in series] == [event["report_id"] for event in recorded]
    for point, event in zip(series, recorded, strict=True):
        for shown, field in EVM_FIELDS.items():
            assert money(point[shown]) == money(event[field]), (shown, point, event)
        # The event writes an index with nothing to divide by as "undefined"; the API gives null.
        indices = (event["spi"], event["cpi"])
        assert (point["spi"], point["cpi"]) == tuple(None if i == "undefined" else i for i in indices)
    latest = org.call(bob, "GET", url)["latest_status_report"]
    assert {shown: latest[field] for shown, field in EVM_FIELDS.items()} == {k: series[-1][k] for k in EVM_FIELDS}

    # The same project's indices with nothing to divide by read identically from both services: null.
    idle_latest = org.call(bob, "GET", f"/projects/{second}")["latest_status_report"]
    idle_series = org.call(figures.reporting, "GET", f"/reports/projects/{second}")["evm"]
    assert [point["report_id"] for point in idle_series] == [idle_event["report_id"]]
    undivided = ("spi", "cpi", "eac", "vac")
    assert {k: idle_latest[k] for k in undivided} == {k: idle_series[0][k] for k in undivided}
    assert (idle_latest["spi"], idle_latest["cpi"], idle_latest["eac"]) == ("0.0000", None, None) == (
        idle_event["spi"], idle_event["cpi"], idle_event["eac"])  # fmt: skip
    assert {k: latest[k] for k in ("spi", "cpi")} == {k: series[-1][k] for k in ("spi", "cpi")}

    # The April year lines up in every service: FY2026 is April 2026 - March 2027.
    summary = org.call(figures.reporting, "GET", f"/reports/portfolios/{portfolio_id}/summary")
    fy2026 = next(line for line in summary["budget"] if line["fiscal_period"] == "FY2026")
    assert (fy2026["start"], fy2026["end"]) == ("2026-04-01", "2027-03-31")
    periods = [(r["period"], r["start"], r["end"]) for r in capacity_now[("role", "period")]]
    assert periods[0] == ("FY2026-P01", "2026-04-01", "2026-04-30")
    assert periods[-1] == ("FY2026-P12", "2027-03-01", "2027-03-31")
    quarters = {(r["period"], r["start"]) for r in capacity_now[("role", "quarter")]}
    assert ("FY2026-Q1", "2026-04-01") in quarters and ("FY2026-Q4", "2027-01-01") in quarters
    # PV at 30 June: 91 of FY2026's 365 days of the 365,000.00 budget.
    assert (recorded[0]["period_end"], money(recorded[0]["planned_value"])) == ("2026-06-30", Decimal("91000"))
    assert date.fromisoformat(recorded[-1]["period_end"]) < datetime.now(UTC).date()

"""What `commands.py --targets` drives: intake's draft, a portfolio and a resourcing command (issue 17).

Portfolio's is a project status report (`POST /projects/{id}/status-reports`: the project and its portfolio
loaded, earned value and RAG decided, the report on the project's stream, its views and the policies), the
PMO's recurring command; resourcing's is a booking (`POST /allocations`: the resource's calendar loaded, the
project's state read, every week's capacity checked, the allocation on the resource's stream, its views).
Both need data first, made through the public APIs as a front end would (`prepare`): an objective, a
portfolio whose board is one member (quorum 1), `--projects` proposals drafted and submitted in intake,
registered as candidates and approved (each initiates a project, which resourcing learns from portfolio's
events), and `--resources` developers. The requests go round the projects and the resources
(`requests.lua`, each wrk thread from its own line), so concurrent commands rarely meet on one stream;
a booking takes 0.1 FTE of one resource for one week of 2027, each (resource, week) once per 5,000
requests, so no week is over-allocated before 50,000 bookings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.polling import wait_until
from pmo_devstack.stack import Stack

#: The services a target's data needs running while it is prepared.
NEEDS = {
    "intake": ("intake",),
    "portfolio": ("intake", "portfolio"),
    "resourcing": ("intake", "portfolio", "resourcing"),
}
WEEKS = 50


@dataclass(frozen=True)
class Target:
    """One service's command under wrk: `path` for every request (intake's draft, `post.lua`'s body), or the
    prepared `requests` (path, body) taken in turn."""

    service: str
    name: str
    roles: tuple[str, ...]
    path: str = ""
    requests: tuple[tuple[str, dict[str, Any]], ...] = ()

    def write_requests(self, folder: Path) -> Path | None:
        """The requests as `requests.lua` reads them (None: `post.lua`'s one body)."""
        if not self.requests:
            return None
        file = folder / f"{self.service}-requests.tsv"
        file.write_text("".join(f"{path}\t{json.dumps(body)}\n" for path, body in self.requests))
        return file


INTAKE = Target("intake", "intake POST /proposals", ("requester",), path="/proposals")


def _client(stack: Stack, service: str, subject: str, *roles: str) -> httpx.Client:
    token = mint_token(dev_key_paths(stack.data_dir)[0].read_bytes(), subject=subject, roles=list(roles))
    return httpx.Client(base_url=stack.url(service), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _made(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def _approved_projects(stack: Stack, count: int) -> list[str]:
    """`count` projects (at most 200): proposals submitted in intake, registered and approved (quorum 1)."""
    with (
        _client(stack, "portfolio", "paula", "pmo_analyst") as analyst,
        _client(stack, "portfolio", "bob", "board_member") as board,
        _client(stack, "intake", "alice", "requester") as requester,
    ):
        period = {"start": "2026-01-01", "end": "2029-12-31"}
        objective = _made(analyst.post("/objectives", json={"title": "Grow", "weight": "3", "period": period}))["id"]
        budget = [{"fiscal_period": f"FY{year}", "amount": "900000000.00"} for year in (2026, 2027)]
        portfolio = _made(
            analyst.post(
                "/portfolios",
                json={"name": "Bench", "currency": "EUR", "owner": "paula", "board_members": ["bob"], "budget": budget},
            )
        )["id"]
        draft = {
            "title": "Bench project",
            "summary": "a project the benchmark reports on",
            "portfolio_id": portfolio,
            "sponsor": "carol",
            "objective_contributions": [{"objective_id": objective, "contribution": 4}],
            "business_case": {
                "currency": "EUR",
                "costs": [{"fiscal_period": "FY2026", "amount": "100000.00"}],
                "benefits": [{"description": "faster", "kind": "financial", "value_amount": "200000"}],
            },
            "timeline": {"start": "2026-01-05", "end": "2027-12-31"},
            "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-04", "end": "2027-12-31"}],
        }
        proposals = [_made(requester.post("/proposals", json=draft))["id"] for _ in range(count)]
        for proposal in proposals:  # refused until intake has learnt the portfolio and the objective
            wait_until(lambda: requester.post(f"/proposals/{proposal}/submit").status_code == 200, "a submission")  # noqa: B023
        wait_until(
            lambda: len(board.get(f"/portfolios/{portfolio}/candidates?limit=200").json()["items"]) >= count,
            "every candidate registered",
        )
        for proposal in proposals:
            decision = {
                "candidate_id": proposal,
                "outcome": "approved",
                "rationale": "benchmark",
                "override_reason": "no scoring round",
                "approved_budget": [{"fiscal_period": "FY2026", "amount": "100000.00"}],
            }
            _made(board.post(f"/portfolios/{portfolio}/decisions", json=decision))
    return proposals


def _resources(stack: Stack, count: int, projects: list[str]) -> list[str]:
    """`count` developers, once resourcing knows every project is active (its demand has arrived)."""
    with _client(stack, "resourcing", "rita", "resource_manager") as manager:
        body = {"name": "Dev", "kind": "person", "role": "developer", "fte": "1.0", "cost_rate": "600.00"}
        resources = [_made(manager.post("/resources", json=body))["id"] for _ in range(count)]
        for project in projects:
            wait_until(
                lambda: manager.get("/demands", params={"project_id": project}).json()["items"],  # noqa: B023
                "the project's demand in resourcing",
            )
    return resources


def prepare(stack: Stack, names: list[str], *, projects: int, resources: int) -> dict[str, Target]:
    """The targets by service name, their data made (the services of `NEEDS` running)."""
    targets = {"intake": INTAKE}
    if "portfolio" not in names and "resourcing" not in names:
        return targets
    made = _approved_projects(stack, projects)
    today = datetime.now(UTC).date().isoformat()
    report = {"period_end": today, "percent_complete": "40", "actual_cost": "30000.00", "summary": "on track"}
    targets["portfolio"] = Target(
        "portfolio",
        "portfolio POST /projects/{id}/status-reports",
        ("pmo_analyst",),
        requests=tuple((f"/projects/{project}/status-reports", report) for project in made),
    )
    if "resourcing" in names:
        people = _resources(stack, resources, made)
        monday = date(2027, 1, 4)
        bookings = []
        for n in range(len(people) * WEEKS):
            start = monday + timedelta(weeks=n // len(people) % WEEKS)
            body = {
                "resource_id": people[n % len(people)],
                "project_id": made[n % len(made)],
                "start": start.isoformat(),
                "end": (start + timedelta(days=4)).isoformat(),
                "fte": "0.1",
                "status": "confirmed",
            }
            bookings.append(("/allocations", body))
        targets["resourcing"] = Target(
            "resourcing", "resourcing POST /allocations", ("resource_manager",), requests=tuple(bookings)
        )
    return targets

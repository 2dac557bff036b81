"""A demo data set, loaded over HTTP into a running stack (`make run`, then `make demo`).

Everything goes through the public APIs with tokens for different people, exactly as a front end
would: objectives, a portfolio with its board and scoring model, resources, proposals from two
requesters, board scores and decisions, bookings for the approved projects, and a programme of two of
them with tranches, dependencies and a RAID log (`demo_programme`).

Loading twice changes nothing: every command carries an `Idempotency-Key` made of what it asks, so
the services answer a second run with the first run's responses (ids included) and record nothing
new; bookings are made only for demand that has none yet. An interrupted load resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pmo_devstack.demo_programme import load_programme
from pmo_devstack.keys import ensure_dev_keys, mint_token
from pmo_devstack.polling import wait_until

PROPOSALS = [
    ("Customer portal", "Self-service portal for account changes", "240000", "developer", "0.8"),
    ("Billing migration", "Move billing off the mainframe", "380000", "developer", "1.0"),
    ("Data platform", "One governed warehouse for reporting", "310000", "analyst", "0.6"),
    ("Field app", "Offline app for field engineers", "150000", "developer", "0.5"),
    ("GDPR retention", "Automated retention and erasure", "90000", "analyst", "0.4"),
    ("Chatbot pilot", "Deflect tier-1 support calls", "60000", "developer", "0.3"),
]
DECISIONS = ["approved", "approved", "approved", "deferred", "changes_requested", "rejected"]


@dataclass
class Demo:
    urls: dict[str, str]
    private_key: bytes
    log: list[str] = field(default_factory=list)
    #: Commands the services answered from a previous load (`Idempotent-Replayed`), and all commands.
    replayed: int = 0
    commands: int = 0

    def as_(self, service: str, subject: str, *roles: str) -> httpx.Client:
        token = mint_token(self.private_key, subject=subject, roles=list(roles))
        return httpx.Client(base_url=self.urls[service], headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method != "GET":
            kwargs["headers"] = {"Idempotency-Key": _key(method, path, kwargs.get("json"))}
        response = client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        if method != "GET":
            self.commands += 1
            self.replayed += response.headers.get("Idempotent-Replayed") == "true"
        return response.json() if response.content else {}


def _key(method: str, path: str, body: Any) -> str:
    """The same command asks the same thing: its key is a digest of the request (scoped per caller by the service)."""
    digest = hashlib.sha256(json.dumps([method, path, body], sort_keys=True).encode()).hexdigest()
    return f"demo-{digest[:40]}"


def load(urls: dict[str, str], data_dir: Path) -> list[str]:
    """Load the demo set; answers what was created, line by line."""
    private_path, _ = ensure_dev_keys(data_dir)
    demo = Demo(urls, private_path.read_bytes())
    analyst = demo.as_("portfolio", "paula", "pmo_analyst")
    objectives = [
        demo.call(
            analyst,
            "POST",
            "/objectives",
            json={
                "title": title,
                "description": description,
                "weight": weight,
                "period": {"start": "2027-01-01", "end": "2029-12-31"},
            },
        )["id"]
        for title, description, weight in [
            ("Grow digital revenue", "Online share of revenue above 40%", "3"),
            ("Cut cost to serve", "Cost per customer down 15%", "2"),
            ("Stay compliant", "No regulatory findings", "1"),
        ]
    ]
    portfolio = demo.call(
        analyst,
        "POST",
        "/portfolios",
        json={
            "name": "Digital Change",
            "currency": "EUR",
            "owner": "olga",
            "board_members": ["bob", "carla"],
            "budget": [
                {"fiscal_period": "FY2027", "amount": "1200000.00"},
                {"fiscal_period": "FY2028", "amount": "600000.00"},
            ],
        },
    )["id"]
    demo.call(
        analyst,
        "PUT",
        f"/portfolios/{portfolio}/scoring-model",
        json={
            "criteria": [
                {"key": "value", "name": "Business value", "weight": "0.5"},
                {"key": "fit", "name": "Strategic fit", "weight": "0.3"},
                {"key": "risk", "name": "Delivery confidence", "weight": "0.2"},
            ]
        },
    )
    demo.log.append(f"portfolio {portfolio} with 3 objectives, board bob and carla")
    _resources(demo)
    proposals = _proposals(demo, portfolio, objectives)
    _decide(demo, portfolio, proposals)
    _book(demo, proposals)
    load_programme(demo, portfolio, objectives, proposals)
    if demo.replayed == demo.commands:
        demo.log.append("(the demo data set was already loaded: nothing new was recorded)")
    return demo.log + try_next(urls, portfolio)


def try_next(urls: dict[str, str], portfolio: str) -> list[str]:
    """Three commands worth running next, ready to paste."""
    token = '-H "Authorization: Bearer $(make -s token ROLES=viewer SUB=you)"'
    return [
        "try:",
        f"  curl -s {urls['reporting']}/reports/portfolios/{portfolio}/summary {token} | jq",
        f"  curl -s '{urls['resourcing']}/capacity?from=2027-01-01&to=2027-03-31&group_by=role' {token} | jq",
        f"  curl -s {urls['portfolio']}/portfolios/{portfolio}/ranking {token} | jq",
    ]


def _resources(demo: Demo) -> None:
    manager = demo.as_("resourcing", "rita", "resource_manager")
    people = [
        ("Ana", "developer", "python"),
        ("Ben", "developer", "java"),
        ("Cleo", "developer", "python"),
        ("Dev", "analyst", "sql"),
        ("Eve", "architect", "cloud"),
        ("Finn", "tester", "automation"),
    ]
    for name, role, skill in people:
        demo.call(
            manager,
            "POST",
            "/resources",
            json={
                "name": name,
                "kind": "person",
                "role": role,
                "pool": "Digital",
                "fte": "1.0",
                "cost_rate": "650.00",
                "skills": [{"name": skill, "level": 4}],
            },
        )
    demo.log.append(f"{len(people)} resources in pool Digital")


def _proposals(demo: Demo, portfolio: str, objectives: list[str]) -> list[str]:
    ids = []
    for n, (title, summary, cost, role, fte) in enumerate(PROPOSALS):
        requester = demo.as_("intake", ["alice", "dan"][n % 2], "requester")
        body = {
            "title": title,
            "summary": summary,
            "portfolio_id": portfolio,
            "sponsor": "carol",
            "objective_contributions": [{"objective_id": objectives[n % 3], "contribution": 5 - n % 3}],
            "business_case": {
                "currency": "EUR",
                "costs": [{"fiscal_period": "FY2027", "amount": cost}],
                "benefits": [
                    {
                        "description": f"{title} pays back",
                        "kind": "financial",
                        "value_amount": str(int(cost) * 2),
                        "realise_by": "2028-06-30",
                    }
                ],
            },
            "timeline": {"start": "2027-01-04", "end": "2027-12-17"},
            "resource_estimate": [{"role": role, "fte": fte, "start": "2027-01-04", "end": "2027-06-25"}],
            "risk_level": ["low", "medium", "high"][n % 3],
        }
        proposal = demo.call(requester, "POST", "/proposals", json=body)["id"]
        wait_until(
            # Called right here, before the loop moves on, so late binding of the names is harmless.
            lambda: _submitted(demo, requester, proposal),  # noqa: B023
            "intake to learn the portfolio and objectives",
        )
        ids.append(proposal)
    demo.log.append(f"{len(ids)} proposals submitted by alice and dan")
    return ids


def _submitted(demo: Demo, requester: httpx.Client, proposal: str) -> bool:
    """Submit (refused until intake knows the portfolio and objectives: then False, and it is asked again)."""
    try:
        demo.call(requester, "POST", f"/proposals/{proposal}/submit")
    except RuntimeError:
        return False
    return True


def _decide(demo: Demo, portfolio: str, proposals: list[str]) -> None:
    board = {name: demo.as_("portfolio", name, "board_member") for name in ("bob", "carla")}
    wait_until(
        lambda: len(demo.call(board["bob"], "GET", f"/portfolios/{portfolio}/candidates")["items"]) >= len(proposals),
        "the candidates to be registered",
    )
    for n, proposal in enumerate(proposals):
        for offset, client in enumerate(board.values()):
            scores = {"value": 5 - (n + offset) % 3, "fit": 4 - n % 2, "risk": 3 + offset}
            demo.call(
                client,
                "POST",
                f"/portfolios/{portfolio}/candidates/{proposal}/scores",
                json={"scores": scores, "comment": "demo assessment"},
            )
    for (title, _s, cost, _r, _f), proposal, outcome in zip(PROPOSALS, proposals, DECISIONS, strict=True):
        decision: dict[str, Any] = {
            "candidate_id": proposal,
            "outcome": outcome,
            "rationale": f"{outcome.replace('_', ' ')}: demo board view on {title}",
        }
        if outcome == "approved":
            decision["approved_budget"] = [{"fiscal_period": "FY2027", "amount": cost}]
        if outcome == "deferred":
            decision["review_on"] = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()  # after today, always
        # bob moves each decision and votes for it; carla's vote meets the charter (2 of 2) and carries it.
        motion = demo.call(board["bob"], "POST", f"/portfolios/{portfolio}/motions", json=decision)
        if motion["status"] == "open":
            vote = {"vote": "for", "rationale": f"agreed: {title}"}
            demo.call(board["carla"], "POST", f"/portfolios/{portfolio}/motions/{motion['id']}/votes", json=vote)
    demo.log.append("board decisions by vote: 3 approved, 1 deferred, 1 returned for changes, 1 rejected")


def _book(demo: Demo, proposals: list[str]) -> None:
    manager = demo.as_("resourcing", "rita", "resource_manager")
    booked = 0
    for proposal, outcome in zip(proposals, DECISIONS, strict=True):
        if outcome != "approved":
            continue
        demands = wait_until(
            lambda: demo.call(manager, "GET", "/demands", params={"project_id": proposal})["items"],  # noqa: B023
            "demand from the approved project",
        )
        booked_demand = {
            a.get("demand_id")
            for a in demo.call(manager, "GET", "/allocations", params={"project_id": proposal})["items"]
        }
        for demand in (d for d in demands if d["id"] not in booked_demand):
            free = demo.call(
                manager,
                "GET",
                "/resources",
                params={
                    "role": demand["role"],
                    "free_from": demand["start"],
                    "free_to": demand["end"],
                    "min_free_fte": demand["fte"],
                },
            )["items"]
            if free:
                demo.call(
                    manager,
                    "POST",
                    "/allocations",
                    json={
                        "resource_id": free[0]["id"],
                        "project_id": proposal,
                        "demand_id": demand["id"],
                        "start": demand["start"],
                        "end": demand["end"],
                        "fte": demand["fte"],
                        "status": "confirmed",
                    },
                )
                booked += 1
    demo.log.append(f"{booked} confirmed bookings against the approved projects' demand")

"""The demo's programme: two approved projects grouped as "Customer 360" with a ring-fence, two tranches, a
benefits map, dependencies between the projects (one at risk from the start) and on the first tranche's end (a
programme milestone), and a RAID log at every level.

Every command goes through `Demo.call`, so a second load replays them (same ids) and records nothing new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pmo_devstack.demo import Demo

#: Customer portal (0) and Billing migration (1) join the programme; Data platform (2) stays outside it.
PORTAL, BILLING, DATA = 0, 1, 2


def load_programme(demo: Demo, portfolio: str, objectives: list[str], projects: list[str]) -> str:
    """The programme and its RAID log; answers the programme id."""
    analyst = demo.as_("portfolio", "paula", "pmo_analyst")
    paul = demo.as_("portfolio", "paul", "project_manager")
    created = {
        "portfolio_id": portfolio,
        "name": "Customer 360",
        "vision": "Every customer served online end to end, billed from one platform",
        "senior_responsible_owner": "sara",
        "programme_manager": "paul",
        "objective_ids": [objectives[0]],
        "ring_fence": [{"fiscal_period": "FY2027", "amount": "700000.00"}],
    }
    programme: str = demo.call(analyst, "POST", "/programmes", json=created)["id"]
    for index in (BILLING, PORTAL):
        joining = {"project_id": projects[index], "rationale": "delivers the programme's customer outcome"}
        demo.call(paul, "POST", f"/programmes/{programme}/projects", json=joining)
    tranches = [
        ("Tranche 1: billing foundations", "2027-01-04", "2027-06-30", [projects[BILLING]]),
        ("Tranche 2: customer channels", "2027-07-01", "2027-12-17", [projects[PORTAL]]),
    ]
    planned: list[dict[str, Any]] = []
    for name, start, end, members in tranches:
        plan = {"name": name, "start": start, "end": end, "project_ids": members}
        planned = demo.call(paul, "POST", f"/programmes/{programme}/tranches", json=plan)["tranches"]
    _benefits_map(demo, programme, projects)
    manager = {
        "period_end": "2027-01-29",
        "rag": {"overall": "amber", "schedule": "amber", "cost": "green"},
        "summary": "Mobilised; the portal needs the billing API before billing's planned end",
    }
    demo.call(paul, "POST", f"/programmes/{programme}/status-reports", json=manager)
    _dependencies(demo, portfolio, projects)
    _on_milestone(demo, portfolio, projects, programme, planned[0]["tranche_id"])
    _raid(demo, portfolio, programme, projects)
    demo.log.append(
        f"programme {programme} (Customer 360): 2 projects, 2 tranches, a ring-fence of 700,000.00 in FY2027, "
        "a benefit fed by both projects, "
        "3 dependencies (1 at risk, 1 on the end of tranche 1), "
        "a RAID log of 4 items (a risk escalated to the programme)"
    )
    return programme


def _benefits_map(demo: Demo, programme: str, projects: list[str]) -> None:
    """One programme benefit, fed by half of each member project's own financial benefit."""
    paul = demo.as_("portfolio", "paul", "project_manager")
    benefit = {
        "description": "Cost to serve a customer down",
        "owner": "olga",
        "unit": "EUR",
        "profile": [
            {"on": "2027-12-31", "planned_value": "150000.00"},
            {"on": "2028-06-30", "planned_value": "450000.00"},
        ],
    }
    mapped = demo.call(paul, "POST", f"/programmes/{programme}/benefits", json=benefit)["benefits_map"]
    contributions = f"/programmes/{programme}/benefits/{mapped[0]['benefit_id']}/contributions"
    for index in (BILLING, PORTAL):
        fed = {"project_id": projects[index], "project_benefit_id": "#1", "share": "0.5"}
        demo.call(paul, "POST", contributions, json=fed)


def _dependencies(demo: Demo, portfolio: str, projects: list[str]) -> None:
    analyst = demo.as_("portfolio", "paula", "pmo_analyst")
    needs = [
        # Billing ends 2027-12-17: the portal's need date is before it, so the portal is at risk at once.
        (PORTAL, BILLING, "the new billing API in production", "2027-09-30"),
        (DATA, BILLING, "billing history exported to the warehouse", "2028-03-31"),
    ]
    for dependent, provider, needed, need_date in needs:
        body = {
            "dependent_project_id": projects[dependent],
            "provider_project_id": projects[provider],
            "needed": needed,
            "need_date": need_date,
            "provider_contact": "pam",
        }
        demo.call(analyst, "POST", f"/portfolios/{portfolio}/dependencies", json=body)


def _on_milestone(demo: Demo, portfolio: str, projects: list[str], programme: str, tranche_id: str) -> None:
    """Data platform (outside the programme) waits for the end of tranche 1 (2027-06-30): a programme milestone,
    in time unless the tranche is planned past 2027-09-30."""
    analyst = demo.as_("portfolio", "paula", "pmo_analyst")
    body = {
        "dependent_project_id": projects[DATA],
        "provider_milestone": {"programme_id": programme, "tranche_id": tranche_id},
        "needed": "billing foundations delivered (one customer ledger to load)",
        "need_date": "2027-09-30",
        "provider_contact": "paul",
    }
    demo.call(analyst, "POST", f"/portfolios/{portfolio}/dependencies", json=body)


def _raid(demo: Demo, portfolio: str, programme: str, projects: list[str]) -> None:
    pam = demo.as_("portfolio", "pam", "project_manager")
    items: list[dict[str, Any]] = [
        # 4 x 4 = 16 is beyond the project's tolerance (12), within the programme's (16): it sits at the programme.
        {"kind": "risk", "level": "project", "level_id": projects[BILLING], "title": "Mainframe support ends early",
         "owner": "pam", "cause": "the vendor retires the platform", "risk_event": "support ends in Q3 2027",
         "effect": "billing must cut over before it is ready", "probability": 4, "impact": 4,
         "proximity": "2027-06-30"},
        {"kind": "risk", "level": "project", "level_id": projects[PORTAL], "title": "Accessibility audit fails",
         "owner": "pam", "probability": 2, "impact": 3, "proximity": "2027-10-31"},
        {"kind": "issue", "level": "programme", "level_id": programme, "title": "Test environment shared with BAU",
         "owner": "paul", "priority": "high", "due_on": "2027-02-15"},
        {"kind": "assumption", "level": "portfolio", "level_id": portfolio, "title": "FY2028 envelope confirmed in Q3",
         "owner": "olga"},
    ]  # fmt: skip
    raised = [demo.call(pam, "POST", f"/portfolios/{portfolio}/raid-items", json=item)["id"] for item in items]
    response = {
        "response": "reduce",
        "actions": [
            {"description": "Negotiate extended support to 2028", "owner": "pam", "due_on": "2027-03-31"},
            {"description": "Rehearse the cut-over twice", "owner": "pam", "due_on": "2027-05-31"},
        ],
    }
    demo.call(pam, "POST", f"/portfolios/{portfolio}/raid-items/{raised[0]}/response", json=response)

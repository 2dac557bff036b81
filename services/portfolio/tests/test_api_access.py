"""Object-level access over HTTP (issue 15), owner versus non-owner on real objects: the issue's own cases.

The role-by-role walk of every operation is tests/contract/test_access_matrix.py; here each ownership rule
is tried with the one who passes it and one who holds the same role but does not.
"""

from __future__ import annotations

from .api_support import new_portfolio, register
from .test_api_delivery import approved_project, report

APPROVE = {
    "outcome": "approved",
    "rationale": "fits",
    "override_reason": "unscored on purpose",
    "approved_budget": [{"fiscal_period": "FY2027", "amount": "100"}],
}


async def test_a_project_manager_acts_only_on_the_projects_assigned_to_them(service) -> None:
    await approved_project(service, "p-own")  # managed by pam
    url = "/projects/p-own"
    async with (
        service.client("pam", "project_manager") as pam,
        service.client("piet", "project_manager") as piet,
        service.client("ann", "pmo_analyst") as analyst,
    ):
        before = (await pam.get(url)).headers["etag"]
        stranger = await piet.post(f"{url}/status-reports", json=report())
        assert stranger.status_code == 403 and stranger.json()["type"].endswith("not-authorised"), stranger.text
        raised = await piet.post(f"{url}/change-requests", json={"kind": "scope", "rationale": "mine now"})
        assert raised.status_code == 403
        assert (await pam.get(url)).headers["etag"] == before  # refused: nothing recorded
        assert (await pam.post(f"{url}/status-reports", json=report())).status_code == 201
        by_the_pmo = await analyst.post(f"{url}/status-reports", json=report("50", period_end="2026-07-31"))
        assert by_the_pmo.status_code == 201, by_the_pmo.text


async def test_the_portfolio_owner_or_the_pmo_changes_a_projects_manager_and_the_rule_follows(service) -> None:
    await approved_project(service, "p-hands")  # portfolio owner: olga; board: bea; manager: pam
    url = "/projects/p-hands"
    change = {"project_manager": "piet", "reason": "pam moves to another programme"}
    async with (
        service.client("pam", "project_manager") as pam,
        service.client("piet", "project_manager") as piet,
        service.client("bea", "board_member") as bea,
        service.client("olga", "viewer") as owner,
        service.client("nobody") as no_roles,
    ):
        assert (await no_roles.put(f"{url}/manager", json=change)).status_code == 403
        refused = await bea.put(f"{url}/manager", json=change)  # a board member is not the owner
        assert refused.status_code == 403 and refused.json()["type"].endswith("not-authorised")
        assert (await owner.put(f"{url}/manager", json={**change, "reason": ""})).status_code == 422
        changed = await owner.put(f"{url}/manager", json=change)
        assert changed.status_code == 201, changed.text
        [assigned] = changed.json()["recorded"]
        assert (assigned["type"], assigned["previous"], assigned["project_manager"], assigned["reason"]) == (
            "pmo.portfolio.ProjectManagerAssigned.v1", "pam", "piet", "pam moves to another programme",
        )  # fmt: skip
        assert changed.json()["project"]["project_manager"] == "piet"
        assert (await owner.put(f"{url}/manager", json=change)).status_code == 409  # piet already manages it
        assert (await pam.post(f"{url}/status-reports", json=report())).status_code == 403
        assert (await piet.post(f"{url}/status-reports", json=report())).status_code == 201


async def test_board_members_act_only_in_their_own_portfolio(service) -> None:
    await approved_project(service, "p-theirs")  # board: bea
    other = (await new_portfolio(service, ["bob"]))["id"]
    await register(service, other, "c-bob")
    url = "/projects/p-theirs"
    gate = {"gate": "plan", "decision": "proceed", "rationale": "ready"}
    async with service.client("bob", "board_member") as bob, service.client("bea", "board_member") as bea:
        for path, body in (
            ("gates", gate),
            ("pause", {"rationale": "not mine"}),
            ("reviews", {"still_aligned": False, "recommendation": "stop", "notes": "not mine"}),
        ):
            answer = await bob.post(f"{url}/{path}", json=body)
            assert answer.status_code == 403 and answer.json()["type"].endswith("not-board-member"), path
        decided = await bea.post(f"/portfolios/{other}/decisions", json={**APPROVE, "candidate_id": "c-bob"})
        assert decided.status_code == 403 and decided.json()["type"].endswith("not-board-member")
        assert (await bea.post(f"{url}/gates", json=gate)).status_code == 201


async def test_the_issues_own_cases_are_refused(service) -> None:
    """requester+board_member approving their own proposal, an analyst adding themself to a board, a token
    without roles deciding or reading."""
    pid = (await new_portfolio(service, ["rita"]))["id"]
    await register(service, pid, "p-1")  # requested by rita
    async with (
        service.client("rita", "requester", "board_member") as rita,
        service.client("ann", "pmo_analyst") as ann,
        service.client("rita") as rita_without_roles,
    ):
        own = await rita.post(f"/portfolios/{pid}/decisions", json={**APPROVE, "candidate_id": "p-1"})
        assert own.status_code == 403, own.text
        joined = await ann.post(f"/portfolios/{pid}/board", json={"subject": "ann"})
        assert joined.status_code == 403
        bare = await rita_without_roles.post(f"/portfolios/{pid}/decisions", json={**APPROVE, "candidate_id": "p-1"})
        assert bare.status_code == 403 and bare.json()["type"].endswith("forbidden")
        for path in (f"/portfolios/{pid}", f"/portfolios/{pid}/candidates", "/projects"):
            assert (await rita_without_roles.get(path)).status_code == 403
        assert (await ann.get(f"/portfolios/{pid}/decisions")).json()["items"] == []

"""The portfolio review cycle over real HTTP with real tokens: running projects re-scored with the current model
and ranked with the pipeline, run now by an analyst or when due by the scheduler's trigger."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pmo_devstack.testing import RunningService, running_service

from .api_support import isolated, new_portfolio, register, weighted_model

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str):
    async with running_service(
        isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


async def _portfolio_with_a_running_project(service: RunningService) -> str:
    """p-1 (value 5, risk 1) approved and running; p-2 (value 2, risk 5) waits; p-3 waits unscored."""
    pid = (await new_portfolio(service, ["bea"]))["id"]
    await weighted_model(service, pid)  # value 3, risk 1
    for proposal in ("p-1", "p-2", "p-3"):
        await register(service, pid, proposal)
    async with service.client("bea", "board_member") as bea:
        for proposal, scores in (("p-1", {"value": 5, "risk": 1}), ("p-2", {"value": 2, "risk": 5})):
            scored = await bea.post(f"/portfolios/{pid}/candidates/{proposal}/scores", json={"scores": scores})
            assert scored.status_code == 201, scored.text
        approval = {
            "candidate_id": "p-1", "outcome": "approved", "rationale": "best value",
            "approved_budget": [{"fiscal_period": "FY2027", "amount": "300.00"}],
        }  # fmt: skip
        decided = await bea.post(f"/portfolios/{pid}/decisions", json=approval)
        assert decided.status_code == 201, decided.text
    return pid


def _lines(cycle: dict[str, Any]) -> list[tuple[str, str, int | None, str | None, list[str]]]:
    return [(i["id"], i["kind"], i["rank"], i["weighted_score"], i["outranked_by"]) for i in cycle["ranking"]]


async def test_a_changed_scoring_model_moves_a_running_project_below_an_unfunded_candidate(service) -> None:
    pid = await _portfolio_with_a_running_project(service)
    async with service.client("bea", "board_member") as bea:
        refused = await bea.post(f"/portfolios/{pid}/review-cycles")
        assert refused.status_code == 403, refused.text
    async with service.client("ann", "pmo_analyst") as ann:
        first = await ann.post(f"/portfolios/{pid}/review-cycles")
        assert first.status_code == 201, first.text
        assert first.headers["location"] == f"/portfolios/{pid}/review-cycles/1"
        assert _lines(first.json()) == [
            ("p-1", "running", 1, "4.0000", []),
            ("p-2", "candidate", 2, "2.7500", []),
            ("p-3", "candidate", None, None, []),
        ]
        assert first.json()["below_pipeline"] == [] and first.json()["run_by"] == "ann"

        criteria = [{"key": "value", "name": "Value", "weight": "1"}, {"key": "risk", "name": "Risk", "weight": "3"}]
        assert (await ann.put(f"/portfolios/{pid}/scoring-model", json={"criteria": criteria})).status_code == 200
        second = await ann.post(f"/portfolios/{pid}/review-cycles")
        assert second.status_code == 201, second.text
        assert _lines(second.json())[:2] == [
            ("p-2", "candidate", 1, "4.2500", []),
            ("p-1", "running", 2, "2.0000", ["p-2"]),
        ]
        assert second.json()["below_pipeline"] == ["p-1"]
        assert second.json()["model_version"] > first.json()["model_version"]
        assert [c["weight"] for c in second.json()["criteria"]] == ["0.2500", "0.7500"]

    async with service.client("vic", "viewer") as vic:
        listed = (await vic.get(f"/portfolios/{pid}/review-cycles")).json()
        assert [c["id"] for c in listed["items"]] == ["2", "1"]
        assert listed["every_days"] == 91
        run_at = datetime.fromisoformat(second.json()["run_at"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(listed["due_at"].replace("Z", "+00:00")) == run_at + timedelta(days=91)
        paged = (await vic.get(f"/portfolios/{pid}/review-cycles", params={"limit": 1})).json()
        assert [c["id"] for c in paged["items"]] == ["2"] and paged["next_cursor"]
        assert (await vic.get(f"/portfolios/{pid}/review-cycles/latest")).json() == second.json()
        assert (await vic.get(f"/portfolios/{pid}/review-cycles/1")).json() == first.json()
        assert (await vic.get(f"/portfolios/{pid}/review-cycles/9")).status_code == 404
        assert (await vic.get("/portfolios/nope/review-cycles")).status_code == 404


async def test_run_due_runs_each_due_cycle_once_and_the_interval_is_the_owners(service) -> None:
    pid = await _portfolio_with_a_running_project(service)
    bare = (await new_portfolio(service, ["bea"]))["id"]
    async with service.client("ann", "pmo_analyst") as ann:
        no_model = await ann.post(f"/portfolios/{bare}/review-cycles")
        assert no_model.status_code == 422 and no_model.json()["errors"][0]["field"] == "scoring_model", no_model.text
        assert (await ann.post("/portfolios/nope/review-cycles")).status_code == 404
        assert (await ann.get(f"/portfolios/{pid}/review-cycles/latest")).status_code == 404
        ran = await ann.post("/portfolios/review-cycles/run-due")
        assert ran.status_code == 200 and ran.json() == {"cycles_run": 1}, ran.text  # the bare one has no model
        assert (await ann.post("/portfolios/review-cycles/run-due")).json() == {"cycles_run": 0}
        latest = (await ann.get(f"/portfolios/{pid}/review-cycles/latest")).json()
        assert latest["run_by"] == "ann" and latest["id"] == "1"  # who ran the sweep by hand
    async with service.client("bea", "board_member") as bea:
        assert (await bea.post("/portfolios/review-cycles/run-due")).status_code == 403
    interval = f"/portfolios/{pid}/review-cycle-interval"
    async with service.client("vic", "viewer") as vic:
        refused = await vic.put(interval, json={"every_days": 30})
        assert refused.status_code == 403 and refused.json()["type"].endswith("not-authorised"), refused.text
    async with service.client("olga", "viewer") as olga:
        bad = await olga.put(interval, json={"every_days": 0})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "every_days", bad.text
        replaced = await olga.put(interval, json={"every_days": 30})
        assert replaced.status_code == 200 and replaced.json() == {"portfolio_id": pid, "every_days": 30}, replaced.text
        assert (await olga.get(f"/portfolios/{pid}/review-cycles")).json()["every_days"] == 30

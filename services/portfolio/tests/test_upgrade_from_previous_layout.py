"""An upgrade from a database the previous layout wrote: the demo data set with scores on the portfolio's
stream and lessons and benefit realisations on the projects' streams (`fixtures/previous_layout.sqlite.gz`,
written by `fixtures/write_previous_layout.py`). It migrates, answers as before, rebuilds to the same
views, and records new scores, lessons and measurements on streams of their own."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from pmo_devstack.testing import RunningService, running_service
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_events.runtime.schema import events
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.programmes.views import benefit_measurements

from .api_support import isolated

#: A measurement is taken by today.
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parent / "fixtures" / "previous_layout.sqlite.gz"


def _previous(path: Path) -> dict[str, Any]:
    """What the previous layout itself recorded in its views: the facts the upgrade must keep."""
    with sqlite3.connect(path) as db:
        [(portfolio_id, state)] = db.execute("select portfolio_id, state from portfolio_portfolios").fetchall()
        projects = {pid: json.loads(s) for pid, s in db.execute("select project_id, state from portfolio_projects")}
        decisions = db.execute("select count(*) from portfolio_decisions").fetchone()[0]
        versions = dict(db.execute("select stream_id, max(version) from pmo_events group by stream_id").fetchall())
    candidates = json.loads(state)["candidates"]
    return {"portfolio_id": portfolio_id, "candidates": candidates, "projects": projects,
            "decisions": decisions, "versions": versions}  # fmt: skip


@pytest.fixture
async def upgraded(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[tuple[RunningService, dict[str, Any]]]:
    database = tmp_path / "portfolio.db"
    with gzip.open(FIXTURE, "rb") as packed, database.open("wb") as copy:
        shutil.copyfileobj(packed, copy)
    before = _previous(database)
    definition = isolated(f"upgrade{uuid.uuid4().hex[:8]}")
    url = f"sqlite+aiosqlite:///{database}"
    async with running_service(definition, database_url=url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path) as svc:
        yield svc, before


def _means(assessments: dict[str, Any]) -> dict[str, Decimal]:
    keys = {k for a in assessments.values() for k in a["scores"]}
    places = Decimal("0.0001")
    return {k: (Decimal(sum(a["scores"][k] for a in assessments.values())) / len(assessments)).quantize(places)
            for k in keys}  # fmt: skip


async def _answers(service: RunningService, before: dict[str, Any]) -> dict[str, Any]:
    """What a client sees of what the previous layout recorded: the ranking, the decisions, the projects."""
    portfolio_id = before["portfolio_id"]
    async with service.client("bob", "board_member") as board:
        ranking = (await board.get(f"/portfolios/{portfolio_id}/ranking")).json()["items"]
        decisions = (await board.get(f"/portfolios/{portfolio_id}/decisions")).json()["items"]
        projects = {p: (await board.get(f"/projects/{p}")).json() for p in before["projects"]}
    async with service.runtime.db.sessions() as session:
        measured = (await session.execute(select(benefit_measurements))).all()
    return {
        # what programme benefits roll up: filled by portfolio_0008 from the measurements already recorded
        "measurements": sorted((m.project_id, m.benefit_id, m.measured_on, m.measured_value) for m in measured),
        "ranking": [(r["id"], r["rank"], r["assessors"], r["criterion_scores"], r["weighted_score"]) for r in ranking],
        "decisions": [(d["id"], d["outcome"], d["evidence"]["weighted_score"]) for d in decisions],
        "projects": {
            p: (v["status"], v["stage"], v["lessons"], v["realisations"], v["bac"]) for p, v in projects.items()
        },
        "reports": {p: (v["latest_status_report"] or {}).get("report_id") for p, v in projects.items()},
    }


def _check(answers: dict[str, Any], before: dict[str, Any]) -> None:
    # The ranking weighs every assessor's latest scores, as the old Portfolio aggregate folded them.
    undecided = {c: s for c, s in before["candidates"].items() if s["status"] in ("awaiting_decision", "deferred")}
    assert {item[0] for item in answers["ranking"]} == set(undecided)
    for candidate_id, _rank, assessors, means, _score in answers["ranking"]:
        old = undecided[candidate_id]["assessments"]
        assert assessors == len(old)
        assert {k: Decimal(v) for k, v in means.items()} == _means(old)
    assert len(answers["decisions"]) == before["decisions"]
    for project_id, old in before["projects"].items():
        assert answers["projects"][project_id][:4] == (old["status"], old["stage"], old["lessons"], old["realisations"])
    assert sum(p["lessons"] for p in before["projects"].values()) == 3, "the fixture carries lessons to keep"
    realisations = sum(p["realisations"] for p in before["projects"].values())
    assert len(answers["measurements"]) == realisations > 0


async def test_the_previous_layout_answers_as_it_did_and_rebuilds_to_the_same_views(upgraded) -> None:
    service, before = upgraded
    migrated = await _answers(service, before)
    _check(migrated, before)
    # The documented one-off replay of this upgrade (`python -m pmo_portfolio rebuild`): the old store
    # through today's projectors gives the same answers, and the status reports today's view shape holds.
    runtime = service.runtime
    await rebuild_inline_views(runtime.db, runtime.store, tables=PORTFOLIO.view_tables, projectors=PORTFOLIO.projectors)
    rebuilt = await _answers(service, before)
    _check(rebuilt, before)
    assert {k: v for k, v in rebuilt.items() if k != "reports"} == {k: v for k, v in migrated.items() if k != "reports"}
    reported = {p: (old.get("latest_report") or {}).get("report_id") for p, old in before["projects"].items()}
    assert rebuilt["reports"] == reported and any(reported.values())


async def _streams(service: RunningService) -> dict[str, tuple[str, int]]:
    async with service.runtime.db.sessions() as session:
        rows = await session.execute(select(events.c.stream_id, events.c.stream_type, events.c.version))
        found: dict[str, tuple[str, int]] = {}
        for stream_id, stream_type, version in rows:
            found[stream_id] = (stream_type, max(version, found.get(stream_id, ("", 0))[1]))
    return found


async def test_new_scores_lessons_and_measurements_go_to_streams_of_their_own(upgraded) -> None:
    service, before = upgraded
    portfolio_id = before["portfolio_id"]
    deferred = next(c for c, s in before["candidates"].items() if s["status"] == "deferred")
    active = next(p for p, s in before["projects"].items() if s["status"] == "active")
    # The layout before names no project manager, so a PMO analyst (who may act on any project) records them.
    async with service.client("carla", "board_member") as board, service.client("paula", "pmo_analyst") as pm:
        scored = await board.post(f"/portfolios/{portfolio_id}/candidates/{deferred}/scores",
                                  json={"scores": {"value": 5, "fit": 5, "risk": 5}})  # fmt: skip
        lesson = {"title": "Upgrade", "description": "Streams of their own", "category": "delivery"}
        learned = await pm.post(f"/projects/{active}/lessons", json=lesson)
        benefit = quote((await pm.get(f"/projects/{active}")).json()["benefits"][0]["benefit_id"], safe="")
        measured = await pm.post(f"/projects/{active}/benefits/{benefit}/realisations",
                                 json={"measured_value": "30000", "measured_on": YESTERDAY})  # fmt: skip
        moved = await board.post(f"/portfolios/{portfolio_id}/motions", json={
            "candidate_id": deferred, "outcome": "rejected", "rationale": "seen enough"})  # fmt: skip
        project = (await pm.get(f"/projects/{active}")).json()
    async with service.client("bob", "board_member") as bob:
        vote = {"vote": "for", "rationale": "agreed"}
        carried = await bob.post(f"/portfolios/{portfolio_id}/motions/{moved.json()['id']}/votes", json=vote)
        decided = (await bob.get(f"/portfolios/{portfolio_id}/decisions", params={"candidate_id": deferred})).json()
    assert scored.status_code == learned.status_code == measured.status_code == moved.status_code == 201
    assert carried.json()["status"] == "carried"
    streams = await _streams(service)
    assert streams[scored.json()["score_id"]] == ("score", 1)
    assert streams[learned.json()["id"]] == ("lesson", 1)
    assert sum(1 for kind, _ in streams.values() if kind == "benefit_realisation") == 1
    # Neither the portfolio's stream (the score) nor the project's (lesson, measurement) moved for them.
    assert streams[active][1] == before["versions"][active] == project["version"]
    assert streams[portfolio_id][1] == before["versions"][portfolio_id] + 1, "only the decision"
    old = before["projects"][active]
    assert (project["lessons"], project["realisations"]) == (old["lessons"] + 1, old["realisations"] + 1)
    # The decision's evidence holds the old scores and the new one together.
    evidence = decided["items"][-1]["evidence"]
    assessors = {a["assessor"] for a in evidence["assessments"]}
    assert assessors == set(before["candidates"][deferred]["assessments"]) | {"carla"}

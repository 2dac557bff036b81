"""Lessons reach the next project: every recorded lesson joins the library; a project is offered the relevant
ones of other projects, with reasons, on SQLite and PostgreSQL; a database from before the library fills it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import LessonRecorded, ProjectLessonAcknowledged, ProjectLessonsOffered
from pmo_events.figures.relevance import Subject
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import alembic_config
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.delivery.views import lessons

from .test_api_delivery import approved_project

pytestmark = pytest.mark.integration


async def test_a_project_is_offered_other_projects_lessons_with_reasons_never_its_own(service: RunningService) -> None:
    await approved_project(service, "p-done")
    await approved_project(service, "p-next", manager=None)
    onboarding = {"title": "Developer onboarding took weeks", "description": "Prepare laptops and access first",
                  "category": "staffing", "tags": ["savings", "laptops"]}  # fmt: skip
    office = {"title": "Office move", "description": "Book the rooms early", "category": "facilities"}
    own = {"title": "Our developer pairing", "description": "Pair new developers", "category": "staffing"}
    async with service.client("bea", "board_member") as bea:
        for project, lesson in (("p-done", onboarding), ("p-done", office), ("p-next", own)):
            assert (await bea.post(f"/projects/{project}/lessons", json=lesson)).status_code == 201
        offered = await bea.get("/projects/p-next/related-lessons")
        assert offered.status_code == 200, offered.text
        (item,) = offered.json()["items"]
        assert (item["title"], item["project_id"]) == ("Developer onboarding took weeks", "p-done")
        # "Proposal p-next" with the benefit "savings" and a developer: the tag and two words
        assert item["reason"] == "tags: savings; words: savings, developer"
        assert (item["matched_tags"], item["same_portfolio"], item["relevance"]) == (["savings"], False, "4.00")
        assert (await bea.get("/projects/nope/related-lessons")).status_code == 404

        passed = await bea.post(
            "/projects/p-next/gates", json={"gate": "plan", "decision": "proceed", "rationale": "ok"}
        )
        assert passed.headers["etag"] == '"2"'  # the offer is on the project's lesson stream, not its own
        said = {"applies": True, "note": "order the laptops before the execute gate"}
        ack_url = f"/projects/p-next/related-lessons/{item['lesson_id']}/acknowledge"
        async with service.client("eve", "board_member") as eve:
            assert (await eve.post(ack_url, json=said)).status_code == 403  # not on this portfolio's board
        acknowledged = await bea.post(ack_url, json=said)
        assert acknowledged.status_code == 200, acknowledged.text
        assert (acknowledged.json()["acknowledged_by"], acknowledged.headers["etag"]) == ("bea", '"2"')
        (again,) = (await bea.get("/projects/p-next/related-lessons")).json()["items"]
        assert again["acknowledgement"]["note"] == said["note"]
        assert (await bea.post("/projects/p-next/related-lessons/nope/acknowledge", json=said)).status_code == 404
        assert (await bea.post("/projects/nope/related-lessons/x/acknowledge", json=said)).status_code == 404
        held = await bea.post("/projects/p-done/gates", json={"gate": "plan", "decision": "hold", "rationale": "wait"})
        assert held.status_code == 201
    async with service.runtime.db.sessions() as session:
        stream = await service.runtime.store.load(session, "lessons-p-next")
        nothing = await service.runtime.store.load(session, "lessons-p-done")
    offer, said_then = (r.decode() for r in stream)
    assert isinstance(offer, ProjectLessonsOffered) and isinstance(said_then, ProjectLessonAcknowledged)
    assert (offer.occasion, [o.lesson_id for o in offer.lessons]) == ("plan", [item["lesson_id"]])
    assert (said_then.applies, said_then.acknowledged_by) == (True, "bea")
    assert nothing == []  # a held gate offers nothing


async def test_a_database_from_portfolio_0008_fills_the_library_from_the_store(database_url: str) -> None:
    config = alembic_config(database_url, PORTFOLIO.migrations, PORTFOLIO.metadata)
    await asyncio.to_thread(command.upgrade, config, "portfolio_0008")
    lesson = LessonRecorded(
        project_id="p-old", portfolio_id="pf", lesson_id="l-old", title="Vendor contract signed late",
        description="Procurement took months", category="procurement", tags=("vendor",), recorded_by="pam",
        recorded_at=datetime(2026, 10, 1, tzinfo=UTC),
    )  # fmt: skip
    data = json.dumps(lesson.model_dump(mode="json"))
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO pmo_events (event_id, stream_id, stream_type, version, type, data, occurred_at) "
                    "VALUES (:id, 'l-old', 'lesson', 1, :type, :data, :at)"
                ),
                {"id": str(uuid.uuid4()), "type": lesson.type_name(), "data": data, "at": lesson.recorded_at},
            )
        await asyncio.to_thread(command.upgrade, config, "heads")
        async with db.sessions() as session:
            found = await lessons.related(session, Subject(portfolio_id="pf", terms=("contracts", "vendor")))
        assert [(r.lesson.lesson_id, r.reason) for r in found] == [
            ("l-old", "tags: vendor; words: contracts, vendor; same portfolio")
        ]
        await asyncio.to_thread(command.downgrade, config, "portfolio_0008")
    finally:
        await db.dispose()

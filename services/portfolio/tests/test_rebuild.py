"""`rebuild` (every view folded in memory, `pmo_portfolio.replay`) writes exactly the rows the commands wrote.

Scenarios of the API tests (over real HTTP, on SQLite and PostgreSQL) record every kind of event the views
take: objectives, candidates registered, scored, decided and withdrawn, scenarios, projects with their
lessons and realisations, programmes and the projects joining them, dependencies flagged and cleared (and
ones recorded as v1 events), RAID items, motions. After each, every row of every view table (the lesson
library's text index too) is the same after a rebuild as the commands left it, and a second rebuild changes
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pmo_devstack.testing import RunningService, running_service
from pmo_events.runtime.projection import rebuild_inline_views
from pmo_portfolio.bootstrap import PORTFOLIO

from . import (
    api_support,
    test_api_board_actions,
    test_api_delivery,
    test_api_dependencies,
    test_api_governance,
    test_api_milestone_dependencies,
    test_api_portfolio,
    test_api_programmes,
    test_api_raid,
)

pytestmark = pytest.mark.integration

Scenario = Callable[[RunningService], Awaitable[None]]

SCENARIOS: dict[str, Scenario] = {
    "scores-decisions": test_api_portfolio.test_scores_ranking_and_decisions_with_board_authority,
    "objectives-scenarios": test_api_portfolio.test_views_rebuilt_from_the_store_answer_as_before,
    "lessons-realisations": test_api_delivery.test_close_with_lessons_then_benefits_and_lessons_after_closure,
    "withdrawn": test_api_delivery.test_a_withdrawn_proposal_is_refused_a_decision,
    "report-corrections": test_api_delivery.test_status_reports_derive_rag_and_corrections_are_recorded,
    "report-withdrawn": test_api_delivery.test_bad_report_dates_are_refused_and_a_wrong_report_is_withdrawn_not_erased,
    "pause-cancel": test_api_delivery.test_pause_resume_cancel_release_budget_and_people,
    "dependencies": test_api_dependencies.test_a_slipping_provider_flags_its_dependent_at_risk_until_it_recovers,
    "v1-dependencies": test_api_milestone_dependencies.test_dependencies_recorded_as_v1_events_still_load_fold_and_flag,
    "programmes": test_api_programmes.test_the_benefits_map_rolls_up_its_projects_realisations,
    "joined": test_api_programmes.test_an_approval_brings_the_project_into_the_programme_its_proposal_asked_to_join,
    "raid": test_api_raid.test_a_risk_escalates_by_tolerance_and_is_delegated_back,
    "motions": test_api_governance.test_a_vote_after_the_deadline_answers_409_naming_it_and_the_sweep_lapses_the_motion,
    "board-actions": (
        test_api_board_actions.test_a_negative_review_opens_an_action_the_board_pauses_the_project_by_a_motion
    ),
}


async def every_row(service: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    async with service.runtime.db.sessions() as session:
        return {
            table.name: sorted((tuple(row) for row in await session.execute(select(table))), key=repr)
            for table in PORTFOLIO.view_tables
        }


async def rebuild(service: RunningService) -> int:
    runtime = service.runtime
    return await rebuild_inline_views(
        runtime.db, runtime.store, tables=PORTFOLIO.view_tables, projectors=PORTFOLIO.projectors
    )


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_a_rebuild_writes_every_row_the_commands_wrote(service: RunningService, scenario: str) -> None:
    await SCENARIOS[scenario](service)
    live = await every_row(service)
    assert sum(map(len, live.values())) > 0
    assert await rebuild(service) > 0
    rebuilt = await every_row(service)
    for name, rows in live.items():
        assert rebuilt[name] == rows, name
    await rebuild(service)
    assert await every_row(service) == live


async def test_an_edit_made_while_the_views_are_rebuilt_is_in_the_rebuilt_views(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    """`rebuild` while the service serves, folding in memory: an objective's edit that arrives while the
    rebuild's transaction is open waits for the rebuilt rows (the view tables are locked against writes
    before the events are read) and then changes them; the view ends at the stream's version."""
    entered, released = asyncio.Event(), asyncio.Event()

    async def held_open(_session: Any, _event: Any) -> None:  # the rebuild pauses mid-way, its transaction open
        entered.set()
        await released.wait()

    async with running_service(
        api_support.isolated(topic_prefix), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path,
    ) as service, service.client("ann", "pmo_analyst") as analyst:  # fmt: skip
        objective = {"title": "Grow", "weight": "3", "period": {"start": "2027-01-01", "end": "2027-12-31"}}
        url = (await analyst.post("/objectives", json=objective)).headers["location"]
        runtime = service.runtime
        rebuilding = asyncio.create_task(
            rebuild_inline_views(
                runtime.db,
                runtime.store,
                tables=PORTFOLIO.view_tables,
                projectors=[*PORTFOLIO.projectors, held_open],
            )
        )
        await asyncio.wait_for(entered.wait(), 10)
        editing = asyncio.create_task(analyst.patch(url, json={"weight": "5"}, headers={"If-Match": '"1"'}))
        await asyncio.sleep(1.0)
        assert not editing.done(), "the edit waits for the rebuild"
        released.set()
        assert await rebuilding == 1
        edited = await editing
        assert edited.status_code == 200, edited.text
        after = await analyst.get(url)
        assert (after.headers["etag"], after.json()["weight"]) == ('"2"', "5")
        live = await every_row(service)
        await rebuild(service)
        assert await every_row(service) == live

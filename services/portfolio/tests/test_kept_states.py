"""Portfolio's commands keep the portfolio, project, fiscal calendar and dependency graph states their committed
units of work folded (`AggregateType.keep`), and decide on them with the stream's later events: what another
worker process (its own runtime, same database) recorded in between is never missed. Over HTTP, SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Update, text
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import LessonRecorded, graph_id_of
from pmo_events.runtime import CommandRuntime, Metadata, UnitOfWork, pgdirect
from pmo_portfolio import calendar
from pmo_portfolio.delivery import views
from pmo_portfolio.delivery.commands import PROJECT, apply_to_project
from pmo_portfolio.delivery.domain import lifecycle, status_reports
from pmo_portfolio.delivery.domain.lifecycle import Act
from pmo_portfolio.delivery.domain.status_reports import ReportStatus
from pmo_portfolio.delivery.queries import get_project_in
from pmo_portfolio.delivery.responses import ProjectView
from pmo_portfolio.dependencies.commands import register_dependency
from pmo_portfolio.dependencies.domain import RegisterDependency
from pmo_portfolio.funding.commands import PORTFOLIO

from .api_support import register
from .test_api_delivery import YEAR_2026, approved_project, report
from .test_rebuild import every_row, rebuild

pytestmark = pytest.mark.integration


def _other_worker(service: RunningService) -> CommandRuntime:
    """A second worker process's command runtime: the same database, views and policies, states of its own."""
    mine = service.runtime.commands
    return CommandRuntime(mine.db, mine.store, projectors=mine.projectors, policies=mine.policies)


async def test_a_report_after_another_worker_changed_the_project_manager_is_refused(service: RunningService) -> None:
    await approved_project(service, "p-kept")
    async with service.client("pam", "project_manager") as pam:
        first = await pam.post("/projects/p-kept/status-reports", json=report())
        assert first.status_code == 201, first.text
        version = first.json()["project"]["version"]
    assert len(service.runtime.commands.kept) >= 2  # the project and its portfolio, as the report left them
    act = Act(by="ann", at=datetime.now(UTC), rationale="pam moves to another project")
    async with _other_worker(service).unit_of_work(Metadata(actor="ann")) as uow:
        await apply_to_project(
            uow, "p-kept", lambda pf, pr: lifecycle.assign_manager(pf, pr, "pia", act, is_steward=True)
        )
    async with service.client("pam", "project_manager") as pam:
        refused = await pam.post("/projects/p-kept/status-reports", json=report("50", "250"))
        assert refused.status_code == 403, refused.text  # no longer pam's project
    async with service.client("pia", "project_manager") as pia:
        second = await pia.post("/projects/p-kept/status-reports", json=report("50", "250"))
        assert second.status_code == 201, second.text
        assert second.json()["project"]["version"] == version + 2
        assert second.json()["project"]["project_manager"] == "pia"


async def test_the_kept_states_equal_a_fold_of_their_streams(service: RunningService) -> None:
    """After reports, a pause by another worker and a resumption: what the process keeps is what a load from the
    snapshot and the events gives (the runtime of another worker loads without kept states of the streams)."""
    portfolio_id = await approved_project(service, "p-fold")
    async with service.client("pam", "project_manager") as pam:
        for n in range(3):
            answer = await pam.post("/projects/p-fold/status-reports", json=report(str(10 + n), str(100 + n)))
            assert answer.status_code == 201, answer.text
    async with service.client("bea", "board_member") as bea:
        assert (await bea.post("/projects/p-fold/pause", json={"rationale": "wait"})).status_code == 201
        assert (await bea.post("/projects/p-fold/resume", json={"rationale": "go"})).status_code == 201
    async with service.runtime.commands.unit_of_work(Metadata()) as uow:
        kept = (await uow.load(PROJECT, "p-fold"), await uow.load(PORTFOLIO, portfolio_id))
    async with _other_worker(service).unit_of_work(Metadata()) as uow:
        folded = (await uow.load(PROJECT, "p-fold"), await uow.load(PORTFOLIO, portfolio_id))
    assert kept == folded
    assert kept[0].state.status == "active" and kept[0].version == 7  # initiated, manager, 3 reports, pause, resume


async def test_a_command_answers_the_project_as_a_read_of_it_shows_it(service: RunningService) -> None:
    """The answer's review cadence and currency come from the portfolio the command decided on; a read takes them
    from the portfolios view: the two agree (a 30-day cadence, money at the currency's scale)."""
    portfolio_id = await approved_project(service, "p-answer")
    async with service.client("ann", "pmo_analyst") as ann:
        cadence = await ann.put(f"/portfolios/{portfolio_id}/review-cadence", json={"every_days": 30})
        assert cadence.status_code == 200, cadence.text
    async with service.client("bea", "board_member") as bea:
        review = {"still_aligned": True, "recommendation": "continue", "notes": "fine"}
        assert (await bea.post("/projects/p-answer/reviews", json=review)).status_code == 201
    async with service.client("pam", "project_manager") as pam:
        answered = await pam.post("/projects/p-answer/status-reports", json=report("40", "123.4"))
        assert answered.status_code == 201, answered.text
        read = await pam.get("/projects/p-answer")
    assert answered.json()["project"] == read.json()
    reviewed_on = date.fromisoformat(read.json()["last_reviewed_on"])
    assert read.json()["next_review_due"] == (reviewed_on + timedelta(days=30)).isoformat()
    assert read.json()["latest_status_report"]["actual_cost"] == "123.40"


async def test_an_answer_counts_a_lesson_recorded_after_the_report(service: RunningService) -> None:
    """The answer takes the project's row as the command wrote it (`written_project`, not read again); a lesson
    counted on the row later in the same transaction is in the answer too, as a read after the commit shows."""
    portfolio_id = await approved_project(service, "p-counted")
    async with service.client("pam", "project_manager") as pam:
        first = await pam.post("/projects/p-counted/status-reports", json=report("40", "123.4"))
        assert first.status_code == 201, first.text
    now = datetime.now(UTC)
    lesson = LessonRecorded(
        project_id="p-counted", portfolio_id=portfolio_id, lesson_id="l-counted", title="Pilot", description="d",
        category="delivery", recorded_by="pam", recorded_at=now,
    )  # fmt: skip
    runtime = service.runtime.commands
    async with runtime.unit_of_work(Metadata(actor="pam")) as uow:
        act = Act(by="pam", at=now, rationale="second report")
        command = ReportStatus(
            period_end=date(2026, 6, 30), percent_complete=Decimal("50"), actual_cost=Decimal("150"), summary="ok",
            reported_by=act.by, reported_at=now,
        )  # fmt: skip
        fiscal = await calendar.fiscal_calendar(uow)
        await apply_to_project(uow, "p-counted", lambda pf, pr: status_reports.report_status(pf, pr, command, fiscal))
        await uow.open_stream("lesson", "l-counted", [lesson])
        answered, _ = await get_project_in(uow.session, "p-counted", lambda _: None)
    assert answered["lessons"] == 1
    async with service.client("pam", "project_manager") as pam:
        read = await pam.get("/projects/p-counted")
    shown = ProjectView.model_validate({**answered, "version": read.json()["version"]}).model_dump(mode="json")
    assert shown == read.json()  # as the answer's and the read's response models show it


async def test_the_closing_answer_counts_its_lessons_as_a_read_does(service: RunningService) -> None:
    await approved_project(service, "p-closing")
    closing = {"final_cost": "380", "lessons": [{"title": "Pilot", "description": "d", "category": "delivery"}],
               "notes": "delivered"}  # fmt: skip
    async with service.client("bea", "board_member") as bea:
        for gate in ("plan", "execute"):
            await bea.post("/projects/p-closing/gates", json={"gate": gate, "decision": "proceed", "rationale": "ok"})
        closed = await bea.post("/projects/p-closing/close", json=closing)
        assert closed.status_code == 201, closed.text
        read = await bea.get("/projects/p-closing")
    assert closed.json()["project"] == read.json()
    assert read.json()["lessons"] == 1 and read.json()["status"] == "closed"


async def test_a_report_reads_its_streams_and_the_dependency_graph_in_one_statement(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report on a project whose states the process keeps reads the project, its portfolio, the fiscal calendar
    and the portfolio's dependency graph (which `reassess_dependencies` reads after the append) in ONE statement,
    and loads no stream after it; a dependency another worker registered meanwhile is in that read, so the report
    that slips the provider past the need date flags the dependent."""
    portfolio_id = await approved_project(service, "p-provider")
    await register(service, portfolio_id, "p-needs", timeline=YEAR_2026)
    body = {"candidate_id": "p-needs", "outcome": "approved", "rationale": "fits", "project_manager": "pam",
            "approved_budget": [{"fiscal_period": "FY2026", "amount": "100"}], "override_reason": "waived"}  # fmt: skip
    async with service.client("bea", "board_member") as bea:
        assert (await bea.post(f"/portfolios/{portfolio_id}/decisions", json=body)).status_code == 201
    async with service.client("pam", "project_manager") as pam:
        first = await pam.post("/projects/p-provider/status-reports", json=report())
        assert first.status_code == 201, first.text  # the graph (empty) is kept from here on
    need = RegisterDependency(
        dependency_id="d-kept", dependent_project_id="p-needs", provider_project_id="p-provider",
        provider_milestone=None, needed="the API", need_date=date(2027, 3, 31), provider_contact=None,
        registered_by="ann", registered_at=datetime.now(UTC),
    )  # fmt: skip
    async with _other_worker(service).unit_of_work(Metadata(actor="ann")) as uow:
        await register_dependency(uow, portfolio_id, need)
    store = service.runtime.commands.store
    loaded: list[str] = []
    together: list[set[str]] = []
    load, load_after_each = store.load, store.load_after_each

    async def counted_load(session: Any, stream_id: str, **kwargs: Any) -> Any:
        loaded.append(stream_id)
        return await load(session, stream_id, **kwargs)

    async def counted_together(session: Any, after: dict[str, int]) -> Any:
        together.append(set(after))
        return await load_after_each(session, after)

    monkeypatch.setattr(store, "load", counted_load)
    monkeypatch.setattr(store, "load_after_each", counted_together)
    async with service.client("pam", "project_manager") as pam:
        late = await pam.post("/projects/p-provider/status-reports", json=report(forecast_end="2027-06-30"))
        assert late.status_code == 201, late.text
    graph = graph_id_of(portfolio_id)
    assert together == [{"p-provider", portfolio_id, calendar.FISCAL_CALENDAR_STREAM[1], graph}] and loaded == []
    monkeypatch.undo()
    async with service.client("ann", "pmo_analyst") as ann:
        flagged = (await ann.get(f"/portfolios/{portfolio_id}/dependencies", params={"at_risk": "true"})).json()
    assert [(d["dependent_project_id"], d["cause"]) for d in flagged["items"]] == [
        ("p-needs", "forecast_after_need_date")
    ]


async def test_a_report_writes_the_project_row_from_its_state_and_keeps_the_lessons_the_row_counts(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a report rewrites the projects view's row from the state the command folded, with the lessons
    and realisations the row counts (recorded on streams of their own) read first (their text alone, no state
    validated) and spliced in: the row goes in the statement that writes the event and its outbox record, guarded
    by those counts, with no session (no BEGIN, no COMMIT). The answer and a read show the lesson."""
    portfolio_id = await approved_project(service, "p-spliced")
    lesson = LessonRecorded(
        project_id="p-spliced", portfolio_id=portfolio_id, lesson_id="l-spliced", title="Pilot", description="d",
        category="delivery", recorded_by="pam", recorded_at=datetime.now(UTC),
    )  # fmt: skip
    async with service.runtime.commands.unit_of_work(Metadata(actor="pam")) as uow:
        await uow.open_stream("lesson", "l-spliced", [lesson])
    sent: list[str] = []
    fetch = pgdirect.fetch

    async def recorded(session: Any, statement: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(statement)
        return await fetch(session, statement, *args, **kwargs)

    sessions: list[Any] = []  # a unit of work's session asked for (the relay's and the subscription's are not)
    asked = vars(UnitOfWork)["session"].fget

    def counted_session(uow: UnitOfWork) -> Any:
        if type(uow) is UnitOfWork:  # a command's (a poll's is a PollUnitOfWork)
            sessions.append(uow)
        return asked(uow)

    monkeypatch.setattr(pgdirect, "fetch", recorded)
    monkeypatch.setattr(UnitOfWork, "session", property(counted_session))
    async with service.client("pam", "project_manager") as pam:
        answer = await pam.post("/projects/p-spliced/status-reports", json=report())
        assert answer.status_code == 201, answer.text
    monkeypatch.undo()
    if service.runtime.db.is_postgres:
        assert [s for s in sent if "FROM portfolio_projects" in s] == [views._COUNTS]
        written = [s for s in sent if "UPDATE portfolio_projects" in s]
        assert len(written) == 1 and written[0].startswith("WITH guarded0 AS (UPDATE portfolio_projects")
        assert "appended AS (INSERT INTO" in written[0] and "queued AS (INSERT INTO" in written[0]
        assert sessions == []  # no ORM session: the reads and the one write on a pooled asyncpg connection
    async with service.client("pam", "project_manager") as pam:
        read = await pam.get("/projects/p-spliced")
    assert read.json()["lessons"] == 1 and read.json()["version"] == answer.json()["project"]["version"]
    assert answer.json()["project"] == read.json()


async def test_a_report_committed_while_a_lesson_is_counted_stays_in_the_project_row(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesson (on a stream of its own) counts itself in the project's row by reading the row's state and
    writing it back. A report that commits between that read and the write was lost from the row (the row went
    back to the state before the report, one lesson more) until a rebuild: the read now locks the row, the report
    waits and has the count in (its guarded row finds the count changed when it gets the lock, writes nothing, and
    the report is decided again with the count). Deterministic: the lesson's transaction stops before its write
    until the report has committed or waits for the row's lock (PostgreSQL; SQLite has one writer at a time)."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL: SQLite serialises the two writers")
    portfolio_id = await approved_project(service, "p-raced")
    lesson = LessonRecorded(
        project_id="p-raced", portfolio_id=portfolio_id, lesson_id="l-raced", title="Pilot", description="d",
        category="delivery", recorded_by="pam", recorded_at=datetime.now(UTC),
    )  # fmt: skip
    execute = AsyncSession.execute
    reports: list[asyncio.Task[Any]] = []

    async def posted() -> Any:
        async with service.client("pam", "project_manager") as pam:
            return await pam.post("/projects/p-raced/status-reports", json=report())

    async def report_waits_or_committed() -> None:
        while not reports[0].done():
            async with service.runtime.db.sessions() as other:
                waiting = await execute(
                    other,
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE '%UPDATE portfolio_projects%'"
                    ),
                )
                if waiting.scalar_one():
                    return
            await asyncio.sleep(0.02)

    async def interleaved(session: AsyncSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if not reports and isinstance(statement, Update) and statement.table is views.projects:
            reports.append(asyncio.create_task(posted()))
            await asyncio.wait_for(report_waits_or_committed(), 30)
        return await execute(session, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "execute", interleaved)
    async with service.runtime.commands.unit_of_work(Metadata(actor="pam")) as uow:
        await uow.open_stream("lesson", "l-raced", [lesson])
    monkeypatch.undo()
    assert reports, "the lesson was not counted through an UPDATE of the row"
    answer = await reports[0]
    assert answer.status_code == 201, answer.text
    async with service.client("pam", "project_manager") as pam:
        read = (await pam.get("/projects/p-raced")).json()
    assert (read["lessons"], read["version"]) == (1, answer.json()["project"]["version"])
    reported = answer.json()["project"]["latest_status_report"]
    assert reported is not None and read["latest_status_report"] == reported  # lost before: None
    live = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == live


async def test_a_lesson_counted_while_a_multi_event_append_waits_stays_in_the_project_row(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project append of two events writes the row once per event: the last from the command's state with the
    counts the row holds (`_SPLICE`), the others from a read of the row and a fold. That read took no lock: a
    lesson that counted itself (row locked, not committed yet) was read around, the append's first write waited
    for the lesson's commit and then wrote the row back from its stale read, the lesson's count gone from the row
    (the splice then kept the stale count) until a rebuild. The read now locks the row (FOR UPDATE): it waits for
    the lesson and reads its count. Deterministic: the lesson's transaction stops after its write until the append
    waits for the row's lock (PostgreSQL; SQLite has one writer at a time)."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL: SQLite serialises the two writers")
    portfolio_id = await approved_project(service, "p-multi")
    lesson = LessonRecorded(
        project_id="p-multi", portfolio_id=portfolio_id, lesson_id="l-multi", title="Pilot", description="d",
        category="delivery", recorded_by="pam", recorded_at=datetime.now(UTC),
    )  # fmt: skip
    at = datetime.now(UTC)

    act = Act(by="ann", at=at, rationale="moves")

    def two_managers(portfolio: Any, project: Any) -> list[Any]:
        first = lifecycle.assign_manager(portfolio, project, "pia", act, is_steward=True)
        after = project.model_copy(update={"project_manager": "pia"})
        return [*first, *lifecycle.assign_manager(portfolio, after, "pib", act, is_steward=True)]

    async def appended() -> Any:
        async with _other_worker(service).unit_of_work(Metadata(actor="ann")) as uow:
            return await apply_to_project(uow, "p-multi", two_managers)

    execute = AsyncSession.execute
    appends: list[asyncio.Task[Any]] = []

    async def append_waits_for_the_row() -> None:
        while not appends[0].done():
            async with service.runtime.db.sessions() as other:
                waiting = await execute(
                    other,
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE '%portfolio_projects%'"
                    ),
                )
                if waiting.scalar_one():
                    return
            await asyncio.sleep(0.02)

    async def interleaved(session: AsyncSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await execute(session, statement, *args, **kwargs)
        if not appends and isinstance(statement, Update) and statement.table is views.projects:
            appends.append(asyncio.create_task(appended()))  # the lesson's count written, the row locked
            await asyncio.wait_for(append_waits_for_the_row(), 30)
        return result

    monkeypatch.setattr(AsyncSession, "execute", interleaved)
    async with service.runtime.commands.unit_of_work(Metadata(actor="pam")) as uow:
        await uow.open_stream("lesson", "l-multi", [lesson])
    monkeypatch.undo()
    assert appends, "the lesson was not counted through an UPDATE of the row"
    assert not appends[0].done(), "the append did not wait for the lesson's lock"
    events, _ = await appends[0]
    assert len(events) == 2
    async with service.client("pam", "project_manager") as pam:
        read = (await pam.get("/projects/p-multi")).json()
    assert (read["project_manager"], read["lessons"]) == ("pib", 1)  # lost before: 0
    live = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == live


async def _post_report(service: RunningService, project_id: str, **body: Any) -> Any:
    async with service.client("pam", "project_manager") as pam:
        return await pam.post(f"/projects/{project_id}/status-reports", json=report(**body))


async def test_a_report_that_another_writer_overtook_answers_409_and_writes_nothing(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optimistic concurrency with the report's row and event in one statement: another worker's report committed
    between this report's load and its write makes it lose (`ConcurrencyConflict`); with one attempt allowed the
    answer is 409 `concurrent-change` and nothing of it is written: neither its event nor the row."""
    from pmo_portfolio.delivery import routes
    from pmo_servicekit import commands

    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL: on SQLite the other writer waits for this report's transaction (one writer)")
    await approved_project(service, "p-overtaken")
    first = await _post_report(service, "p-overtaken")
    assert first.status_code == 201, first.text
    guard = views.guard_report_row
    overtaken: list[int] = []

    async def other_report_first(uow: Any, state: Any, version: int) -> Any:
        if not overtaken:
            now = datetime.now(UTC)
            command = ReportStatus(
                period_end=date(2026, 7, 31), percent_complete=Decimal("45"), actual_cost=Decimal("210"),
                summary="the other worker's", reported_by="pam", reported_at=now,
            )  # fmt: skip
            async with _other_worker(service).unit_of_work(Metadata(actor="pam")) as other:
                fiscal = await calendar.fiscal_calendar(other)
                _, after = await apply_to_project(
                    other, "p-overtaken", lambda pf, pr: status_reports.report_status(pf, pr, command, fiscal)
                )
            overtaken.append(after)
        return await guard(uow, state, version)

    monkeypatch.setattr(routes.project_views, "guard_report_row", other_report_first)
    monkeypatch.setattr(commands, "ATTEMPTS", 1)
    lost = await _post_report(service, "p-overtaken", summary="lost")
    monkeypatch.undo()
    assert lost.status_code == 409, lost.text
    assert lost.json()["type"].endswith("concurrent-change")
    async with service.client("pam", "project_manager") as pam:
        read = (await pam.get("/projects/p-overtaken")).json()
    assert read["version"] == overtaken[0] and read["latest_status_report"]["summary"] == "the other worker's"
    async with service.runtime.db.sessions() as session:
        stream = await service.runtime.store.load(session, "p-overtaken")
    assert "lost" not in [getattr(e.decode(), "summary", None) for e in stream]
    live = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == live
    again = await _post_report(service, "p-overtaken", summary="again")
    assert again.status_code == 201 and again.json()["project"]["version"] == overtaken[0] + 1


async def test_a_lesson_counted_between_a_reports_read_and_its_write_is_in_its_answer(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report reads the row's counts before its one statement and writes the row only where they still hold:
    a lesson counted in between (committed) makes the statement write nothing, and the report is decided again,
    so its answer counts the lesson as the row does (without the guard: the answer 0, the row 1)."""
    if not service.runtime.db.is_postgres:
        pytest.skip("PostgreSQL: SQLite's report writes the row through the projector, in its transaction")
    portfolio_id = await approved_project(service, "p-guarded")
    guard = views.guard_report_row
    counted: list[str] = []

    async def lesson_after_the_read(uow: Any, state: Any, version: int) -> Any:
        text = await guard(uow, state, version)
        if not counted:
            lesson = LessonRecorded(
                project_id="p-guarded", portfolio_id=portfolio_id, lesson_id="l-guarded", title="Pilot",
                description="d", category="delivery", recorded_by="pam", recorded_at=datetime.now(UTC),
            )  # fmt: skip
            async with _other_worker(service).unit_of_work(Metadata(actor="pam")) as other:
                await other.open_stream("lesson", "l-guarded", [lesson])
            counted.append("l-guarded")
        return text

    from pmo_portfolio.delivery import routes

    monkeypatch.setattr(routes.project_views, "guard_report_row", lesson_after_the_read)
    answer = await _post_report(service, "p-guarded")
    monkeypatch.undo()
    assert answer.status_code == 201, answer.text
    async with service.client("pam", "project_manager") as pam:
        read = (await pam.get("/projects/p-guarded")).json()
    assert answer.json()["project"]["lessons"] == 1 and answer.json()["project"] == read
    live = await every_row(service)
    await rebuild(service)
    assert await every_row(service) == live

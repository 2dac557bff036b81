"""A command on a resource's calendar writes its views with its events: on PostgreSQL in the unit of work's one
statement (`RESOURCING_VIEWS.upserts`: the resource's row and each named allocation's row, from the aggregate's
state after the events), with no session, `BEGIN` or `COMMIT`; elsewhere (SQLite, a demand line's coverage, a
profile's skills) through the projectors as before. Either way the rows are the projectors' rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, event, insert, select

from pmo_events.runtime import (
    CommandRuntime,
    ConcurrencyConflict,
    EventStore,
    Metadata,
    PremiseFailed,
    UnitOfWork,
    fold,
)
from pmo_events.runtime.database import Database
from pmo_events.runtime.migrate import upgrade
from pmo_resourcing.adapters.db.tables import project_states, resources
from pmo_resourcing.application import allocations as commands
from pmo_resourcing.application import resources as resource_commands
from pmo_resourcing.bootstrap import RESOURCING
from pmo_resourcing.domain.booking import BookAllocation
from pmo_resourcing.domain.errors import OverAllocated, RuleViolation
from pmo_resourcing.domain.overallocation import Acceptance
from pmo_resourcing.domain.profile import ResourceProfile
from pmo_resourcing.domain.resource import Resource, initial

T = TypeVar("T")
ANY = Acceptance()
PROJECT = "p-1"


class Statements:
    """The statements PostgreSQL receives (asyncpg's query logger on every pooled connection)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, record: Any) -> None:
        self.seen.append(record.query.split(None, 1)[0].upper().rstrip(";"))

    async def taken(self) -> list[str]:
        await asyncio.sleep(0)  # asyncpg hands its query loggers each statement through `call_soon`
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[tuple[CommandRuntime, Statements]]:
    await asyncio.to_thread(upgrade, database_url, RESOURCING.migrations, RESOURCING.metadata)
    db = Database(database_url)
    async with db.transaction() as session:
        await session.execute(insert(project_states).values(project_id=PROJECT, status="active", changed_at=_NOW))
    statements = Statements()
    if db.is_postgres:

        @event.listens_for(db.engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(statements)

        await db.dispose()  # connections made from now on log their statements
    store = EventStore(source="/pmo/resourcing", topic="pmo.resourcing.test")
    yield CommandRuntime(db, store, projectors=RESOURCING.projectors), statements
    await db.dispose()


_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def _run(runtime: CommandRuntime, action: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with runtime.unit_of_work(Metadata(actor="rita")) as uow:
        return await action(uow)


def _booking(fte: str, *, start: date = date(2027, 1, 4), end: date = date(2027, 1, 8), **more: Any) -> BookAllocation:
    return BookAllocation(
        allocation_id=str(uuid.uuid4()), project_id=PROJECT, start=start, end=end, fte=Decimal(fte), **more
    )


async def _register(runtime: CommandRuntime, name: str = "Ada") -> str:
    resource_id = str(uuid.uuid4())
    described = ResourceProfile(name=name, role="developer", fte=Decimal(1))
    await _run(runtime, lambda uow: resource_commands.register_resource(uow, resource_id, described))
    return resource_id


async def _rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    async with db.sessions() as session:
        return {
            table.name: sorted(tuple(row) for row in await session.execute(select(table)))
            for table in RESOURCING.view_tables
        }


async def _projected_one_by_one(runtime: CommandRuntime) -> dict[str, list[tuple[object, ...]]]:
    """The views as the projectors leave them, every stored event run through them in turn (the old path)."""
    async with runtime.db.transaction() as session:
        for table in RESOURCING.view_tables:
            await session.execute(delete(table))
        for recorded in await runtime.store.read_all(session):
            for project in runtime.projectors:
                await project(session, recorded)
    return await _rows(runtime.db)


async def test_every_calendar_command_leaves_the_rows_the_projectors_leave(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    commands_runtime, _ = runtime
    ada = await _register(commands_runtime)
    soft = _booking("0.5", status="proposed")
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, soft))
    await _run(commands_runtime, lambda uow: commands.confirm_allocation(uow, soft.allocation_id, acceptance=ANY))
    crunch = _booking("0.7", acceptance=Acceptance(True, "crunch"))  # two events: booked, over-allocated
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, crunch))
    await _run(
        commands_runtime,
        lambda uow: commands.change_allocation(
            uow, soft.allocation_id, start=None, end=date(2027, 1, 15), fte=Decimal("0.4"),
            acceptance=Acceptance(True, "still"), expected_revision=2,
        ),
    )  # fmt: skip
    await _run(
        commands_runtime,
        lambda uow: resource_commands.record_time_off(
            uow, ada, time_off_id="t1", start=date(2027, 1, 5), end=date(2027, 1, 5), reason="x"
        ),
    )
    await _run(commands_runtime, lambda uow: commands.release_allocation(uow, crunch.allocation_id, reason="done"))
    later = _booking("0.2", start=date(2027, 3, 1), end=date(2027, 3, 5))
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, later))
    await _run(
        commands_runtime,
        lambda uow: resource_commands.retire_resource(
            uow, ada, retired_on=date(2027, 2, 1), release_bookings=True, reason="leaves"
        ),
    )
    written = await _rows(commands_runtime.db)
    assert len(written["resourcing_allocations"]) == 3
    statuses = {row[0]: row[8] for row in written["resourcing_allocations"]}
    assert statuses == {
        soft.allocation_id: "confirmed", crunch.allocation_id: "released", later.allocation_id: "released"
    }  # fmt: skip
    assert await _projected_one_by_one(commands_runtime) == written
    # A command's load folds the calendar in place (`RESOURCE.evolve_owned`): the state `evolve` gives.
    loaded = await _run(commands_runtime, lambda uow: uow.load(resource_commands.RESOURCE, ada))
    async with commands_runtime.db.sessions() as session:
        stored = await commands_runtime.store.load(session, ada)
    pure = fold(resource_commands.RESOURCE, initial(ada), [e.decode() for e in stored])
    assert (loaded.state, loaded.version) == (pure, len(stored))


async def test_a_booking_on_postgresql_is_its_reads_and_one_statement(
    runtime: tuple[CommandRuntime, Statements], database_url: str
) -> None:
    commands_runtime, statements = runtime
    if not commands_runtime.db.is_postgres:
        pytest.skip("the one statement is PostgreSQL's (SQLite runs the projectors in the transaction)")
    ada = await _register(commands_runtime)
    warm_up = _booking("0.1", start=date(2027, 6, 7), end=date(2027, 6, 11))
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, warm_up))
    await statements.taken()
    soft = _booking("0.5", status="proposed")
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, soft))
    # The resource's events after the calendar this process kept (the project's status is not read: the statement
    # checks it); then events, outbox and view rows at once.
    assert await statements.taken() == ["SELECT", "WITH"]
    await _run(commands_runtime, lambda uow: commands.confirm_allocation(uow, soft.allocation_id, acceptance=ANY))
    assert await statements.taken() == ["SELECT", "SELECT", "SELECT", "WITH"]  # + the allocation's resource
    await _run(commands_runtime, lambda uow: commands.release_allocation(uow, soft.allocation_id, reason=None))
    assert await statements.taken() == ["SELECT", "SELECT", "WITH"]
    rows = await _rows(commands_runtime.db)
    assert [(row[0], row[8], row[9]) for row in rows["resourcing_allocations"] if row[0] == soft.allocation_id] == [
        (soft.allocation_id, "released", 3)
    ]


async def test_a_booking_that_lost_the_race_writes_no_row(runtime: tuple[CommandRuntime, Statements]) -> None:
    commands_runtime, _ = runtime
    if not commands_runtime.db.is_postgres:
        pytest.skip("two units of work interleaved need PostgreSQL's concurrent transactions")
    ada = await _register(commands_runtime)
    first, second = _booking("0.5"), _booking("0.6")
    loaded = asyncio.Event()
    went_on = asyncio.Event()

    async def slow(uow: UnitOfWork) -> Any:
        async def decide(_uow: UnitOfWork, state: Resource) -> Any:
            loaded.set()
            await went_on.wait()  # the other booking commits on the same calendar meanwhile
            from pmo_resourcing.domain import booking

            return booking.book(state, second, by="rita", project_state="active")

        return await resource_commands.decide_in(uow, ada, decide)

    losing = asyncio.create_task(_run(commands_runtime, slow))
    await loaded.wait()
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, first))
    went_on.set()
    with pytest.raises(ConcurrencyConflict):
        await losing
    rows = await _rows(commands_runtime.db)
    assert [row[0] for row in rows["resourcing_allocations"]] == [first.allocation_id]
    (resource_row,) = rows["resourcing_resources"]
    assert resource_row[6] == 2  # version: registered, booked (the loser's event is not in the row)
    assert Resource.model_validate_json(str(resource_row[7])).bookings.keys() == {first.allocation_id}


async def test_a_booking_rewrites_a_missing_resource_row_from_the_whole_calendar(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """The row is the aggregate's state after the booking (before: the projector folded the booking onto an
    empty resource, and the view showed a nameless resource until a rebuild). On PostgreSQL the one statement
    writes it from the calendar; on SQLite the projector folds the missing row from the resource's stream."""
    commands_runtime, _ = runtime
    ada = await _register(commands_runtime, name="Ada")
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, _booking("0.5")))
    async with commands_runtime.db.transaction() as session:
        await session.execute(delete(resources))
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, _booking("0.2")))
    (row,) = (await _rows(commands_runtime.db))["resourcing_resources"]
    assert (row[1], row[5], row[6]) == ("Ada", "active", 3)
    assert len(Resource.model_validate_json(str(row[7])).bookings) == 2


async def test_a_kept_calendar_takes_in_what_another_process_appended_and_equals_a_fresh_fold(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """`RESOURCE.keep`: a command's calendar after it commits serves the next command on the resource, which reads
    the events after it (another process's booking, a consumer's release) and folds only those; the state is
    the one a fresh load (snapshot and every event) gives, and a rolled-back command leaves nothing kept."""
    ours, _ = runtime
    other = CommandRuntime(ours.db, ours.store, projectors=RESOURCING.projectors)  # another process's kept states
    ada = await _register(ours)
    first, theirs, second = _booking("0.2"), _booking("0.3"), _booking("0.1")
    await _run(ours, lambda uow: commands.book_allocation(uow, ada, first))
    assert ours.kept.get(resource_commands.RESOURCE, ada) is not None
    await _run(other, lambda uow: commands.book_allocation(uow, ada, theirs))
    await _run(other, lambda uow: commands.release_allocation(uow, first.allocation_id, reason="elsewhere"))
    with pytest.raises(OverAllocated):
        await _run(ours, lambda uow: commands.book_allocation(uow, ada, _booking("0.9")))
    changed = await _run(ours, lambda uow: commands.book_allocation(uow, ada, second))
    fresh = CommandRuntime(ours.db, ours.store, projectors=RESOURCING.projectors)
    loaded = await _run(fresh, lambda uow: uow.load(resource_commands.RESOURCE, ada))
    assert (
        (changed.state, changed.version)
        == (loaded.state, loaded.version)
        == (
            ours.kept.get(resource_commands.RESOURCE, ada).loaded.state,  # type: ignore[union-attr]
            5,
        )
    )
    assert loaded.state.bookings[first.allocation_id].status == "released"


async def test_a_booking_on_postgresql_decides_on_an_active_project_and_its_statement_checks_it(
    runtime: tuple[CommandRuntime, Statements],
) -> None:
    """On PostgreSQL a booking does not read its project's status: it is decided on "active" and its one statement
    writes nothing unless the project's row is active (`PremiseFailed`, decided again by `run_command`). Decided
    again, it reads the status, and so does every later booking on that project in this process."""
    commands_runtime, statements = runtime
    if not commands_runtime.db.is_postgres:
        pytest.skip("the premise in the one statement is PostgreSQL's")
    paused = f"paused-{uuid.uuid4()}"
    async with commands_runtime.db.transaction() as session:
        await session.execute(insert(project_states).values(project_id=paused, status="paused", changed_at=_NOW))
    ada = await _register(commands_runtime)
    await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, _booking("0.1")))
    await statements.taken()
    on_paused = BookAllocation(
        allocation_id=str(uuid.uuid4()), project_id=paused, start=date(2027, 1, 4), end=date(2027, 1, 8),
        fte=Decimal("0.1"),
    )  # fmt: skip
    with pytest.raises(PremiseFailed):
        await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, on_paused))
    assert await statements.taken() == ["SELECT", "WITH"]
    for _ in range(2):
        with pytest.raises(RuleViolation, match=f"project {paused} is paused"):
            await _run(commands_runtime, lambda uow: commands.book_allocation(uow, ada, on_paused))
        assert await statements.taken() == ["SELECT", "SELECT"]
    rows = await _rows(commands_runtime.db)
    assert [row for row in rows["resourcing_allocations"] if row[2] == paused] == []

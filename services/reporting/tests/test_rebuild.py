"""Live read models and their rebuilds on SQLite and PostgreSQL: a rebuilt model equals the live one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.documents import write_documents
from pmo_reporting.adapters.db.tables import documents, event_entities, event_log
from pmo_reporting.application.live import apply_event, apply_events, projection_row
from pmo_reporting.application.rebuild import (
    RebuildProgress,
    _fold_into_generations,
    _swap,
    begin_rebuild,
    run_rebuild,
    run_rebuilds,
)
from pmo_reporting.application.reports import live_documents
from pmo_reporting.application.time_travel import fold_as_of
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO, PROJECTIONS
from pmo_reporting.reports.summary import portfolio_summary, summary_slimmers

from .support import standard_history, varied_history, with_lessons

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str):
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    database = Database(database_url)
    yield database
    await database.dispose()


async def consume(db: Database, events: list[RecordedEvent], batch: int = 7) -> None:
    """As the subscription does: several events per transaction, each with its topic position."""
    for start in range(0, len(events), batch):
        async with db.transaction() as session:
            for offset, event in enumerate(events[start : start + batch], start=start):
                await apply_event(session, replace(event, topic="pmo.test.events", partition=0, offset=offset))


async def consume_in_batches(db: Database, events: list[RecordedEvent], batch: int) -> None:
    """As the subscription's batch path does: each poll's events folded together, written once."""
    for start in range(0, len(events), batch):
        placed = [
            replace(event, topic="pmo.test.events", partition=0, offset=offset)
            for offset, event in enumerate(events[start : start + batch], start=start)
        ]
        async with db.transaction() as session:
            await apply_events(session, placed)


async def log_rows(db: Database) -> list[tuple[object, ...]]:
    async with db.sessions() as session:
        rows = await session.execute(select(event_log.c.seq, event_log.c.event_id, event_log.c.offset))
        return sorted(tuple(r) for r in rows)


async def entity_rows(db: Database) -> list[tuple[object, ...]]:
    async with db.sessions() as session:
        rows = await session.execute(select(event_entities.c.entity_id, event_entities.c.event_id))
        return sorted(tuple(r) for r in rows)


async def snapshot(db: Database, name: str) -> list[tuple[str, str, str, str]]:
    async with db.sessions() as session:
        generation = (await projection_row(session, name, lock=False))["generation"]
        rows = await session.execute(
            select(documents.c.kind, documents.c.key, documents.c.scope, documents.c.body).where(
                documents.c.projection == name, documents.c.generation == generation
            )
        )
        return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize("batch", [1, 5, 500])
async def test_a_batch_folded_at_once_equals_the_events_applied_one_by_one(
    database_url: str, tmp_path, batch: int
) -> None:
    history = with_lessons(standard_history())
    history.unknown("p-1")
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'one-by-one.db'}"
    await asyncio.to_thread(upgrade, other_url, REPORTING.migrations, REPORTING.metadata)
    one_by_one = Database(other_url)
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    batched = Database(database_url)
    try:
        await consume(one_by_one, history.events, batch=1)
        await consume_in_batches(batched, history.events, batch)
        for name in PROJECTIONS:
            expected = await snapshot(one_by_one, name)
            assert expected, f"{name} has documents"
            assert await snapshot(batched, name) == expected, name
        assert [r[1:] for r in await log_rows(batched)] == [r[1:] for r in await log_rows(one_by_one)]
        assert await entity_rows(batched) == await entity_rows(one_by_one)
    finally:
        await one_by_one.dispose()
        await batched.dispose()


async def test_a_rebuilt_read_model_equals_the_live_one(db: Database) -> None:
    history = with_lessons(standard_history())
    history.unknown("p-1")
    await consume(db, history.events)
    for name, projection in PROJECTIONS.items():
        live = await snapshot(db, name)
        assert live, f"{name} has documents"
        progress = await begin_rebuild(db, projection)
        await run_rebuild(db, projection, progress)
        assert progress.phase == "done", progress.error
        async with db.sessions() as session:
            assert (await projection_row(session, name, lock=False))["generation"] == 2
        assert await snapshot(db, name) == live


async def test_every_read_model_rebuilt_from_one_read_of_the_log_equals_the_live_one(db: Database) -> None:
    from pmo_reporting.application.rebuild import Rebuilds

    await consume(db, standard_history().events)
    live = {name: await snapshot(db, name) for name in PROJECTIONS}
    rebuilds = Rebuilds(db)
    started = await rebuilds.start(*PROJECTIONS.values())
    for name in PROJECTIONS:
        await rebuilds.wait(name)
    assert [p.phase for p in started] == ["done"] * len(PROJECTIONS), [p.error for p in started]
    assert all(p.folded == p.total > 0 for p in started)
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live


async def test_a_rebuild_folds_superseded_versions_and_skips_invalid_events_as_live_does(db: Database) -> None:
    """Replay reads the stored JSON of every version: v1 dependency events fold as their v2 successors, an
    event its contract refuses is skipped, an unknown type changes nothing; the rebuilt documents equal the
    live ones, byte for byte."""
    import uuid
    from datetime import date

    from pmo_events.contracts.portfolio.dependencies import DependencyAtRiskV1, DependencyRegisteredV1

    graph = "dependencies-pf-1"
    history = with_lessons(standard_history())
    history.initiated("p-2", "pf-1")
    pair = {"graph_id": graph, "portfolio_id": "pf-1", "dependency_id": "d-1", "dependent_project_id": "p-2",
            "provider_project_id": "p-1", "need_date": date(2026, 6, 30)}  # fmt: skip
    history.at(22).add(DependencyRegisteredV1.model_validate({**pair, "needed": "the API", "registered_by": "ann",
                                                              "registered_at": history.now}), graph)  # fmt: skip
    at_risk = history.at(40).add(
        DependencyAtRiskV1.model_validate({**pair, "cause": "provider_paused", "flagged_at": history.now}), graph
    )
    refused = {**at_risk.data, "cause": "not a cause this contract knows"}
    history.events.append(replace(at_risk, event_id=str(uuid.uuid4()), sequence=at_risk.sequence + 1, data=refused))
    history.unknown("p-1")
    assert {"pmo.portfolio.DependencyRegistered.v1", "pmo.portfolio.DependencyAtRisk.v1"} <= {
        e.type for e in history.events
    }
    await consume(db, history.events)
    live = {name: await snapshot(db, name) for name in PROJECTIONS}
    [body] = [b for kind, key, _, b in live["portfolio"] if (kind, key) == ("dependency", "d-1")]
    assert '"cause":"provider_paused"' in body, body  # the v1 events folded; the invalid one did not
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs)
    assert [p.phase for _, p in jobs] == ["done"] * len(jobs), [p.error for _, p in jobs]
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live


async def test_events_that_arrive_during_a_rebuild_are_caught_up_at_the_swap(db: Database) -> None:
    history = standard_history()
    await consume(db, history.events[:10])
    progress = await begin_rebuild(db, PORTFOLIO)
    folded, position = await _fold_into_generations(db, [(PORTFOLIO, progress)], None)
    async with db.transaction() as session:
        await write_documents(session, "portfolio", progress.generation, folded["portfolio"].rows())
    await consume(db, history.events[10:])
    # The old generation still answers, and it is up to date.
    answering = await live_documents(db, PORTFOLIO, {"proposal": None})
    assert len(answering.all("proposal")) == 4
    await _swap(db, PORTFOLIO, progress.generation, position)
    rebuilt = await snapshot(db, "portfolio")
    fresh = await snapshot_after_full_rebuild(db)
    assert rebuilt == fresh


async def snapshot_after_full_rebuild(db: Database) -> list[tuple[str, str, str, str]]:
    progress = await begin_rebuild(db, PORTFOLIO)
    await run_rebuild(db, PORTFOLIO, progress)
    return await snapshot(db, "portfolio")


async def test_as_of_now_equals_live_and_before_the_first_event_is_empty(db: Database) -> None:
    history = standard_history()
    await consume(db, history.events)
    live = await live_documents(
        db, PORTFOLIO, {k: None for k in ("portfolio", "proposal", "project", "decision", "objective")}
    )
    now = history.events[-1].time
    assert portfolio_summary(await fold_as_of(db, PORTFOLIO, now), "pf-1") == portfolio_summary(live, "pf-1")
    before = history.events[0].time.replace(year=2000)
    assert len(await fold_as_of(db, PORTFOLIO, before)) == 0


async def test_as_of_from_a_checkpoint_equals_a_full_fold_with_late_arrivals(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmo_reporting.application import time_travel

    monkeypatch.setattr(time_travel, "CHECKPOINT_AFTER", 1)
    history = standard_history()
    late = next(e for e in history.events if e.type.endswith("InvestmentDecided.v1") and "reject" in str(e.data))
    await consume(db, [e for e in history.events if e is not late])
    checkpoints = time_travel.Checkpoints(sweep_every=None)
    day_15 = history.events[0].time + timedelta(days=15)
    first = await fold_as_of(db, PORTFOLIO, day_15, checkpoints)
    assert checkpoints.nearest("portfolio", day_15, head=10**9) is not None
    assert portfolio_summary(first, "pf-1")["pipeline"].get("rejected") is None
    await consume(db, [late])  # decided on day 12, logged after the checkpoint
    for as_of in (day_15, day_15 + timedelta(days=30)):
        from_checkpoint = await fold_as_of(db, PORTFOLIO, as_of, checkpoints)
        assert sorted(from_checkpoint.rows()) == sorted((await fold_as_of(db, PORTFOLIO, as_of)).rows())
        assert portfolio_summary(from_checkpoint, "pf-1")["pipeline"]["rejected"] == 1


async def test_a_second_rebuild_is_refused_unless_forced(db: Database) -> None:
    from pmo_reporting.application.rebuild import RebuildRefused

    await consume(db, standard_history().events)
    live = await snapshot(db, "portfolio")
    abandoned = await begin_rebuild(db, PORTFOLIO)
    with pytest.raises(RebuildRefused):
        await begin_rebuild(db, PORTFOLIO)
    taken_over = await begin_rebuild(db, PORTFOLIO, force=True)
    assert taken_over.generation == abandoned.generation + 1
    await run_rebuild(db, PORTFOLIO, taken_over)
    assert await snapshot(db, "portfolio") == live


async def test_a_sweep_leaves_checkpoints_that_answer_like_full_folds(db: Database) -> None:
    from pmo_reporting.application import time_travel

    history = standard_history()
    late = next(e for e in history.events if e.type.endswith("InvestmentDecided.v1") and "reject" in str(e.data))
    await consume(db, [e for e in history.events if e is not late])
    checkpoints = time_travel.Checkpoints(sweep_every=None)
    await time_travel.sweep(db, PORTFOLIO, checkpoints, timedelta(days=7))
    await consume(db, [late])  # decided on day 12, before the day-14 checkpoint, logged after the sweep
    first = history.events[0].time
    assert checkpoints.nearest("portfolio", first + timedelta(days=30), head=10**9) is not None
    for days in (0, 3, 8, 15, 22, 23, 40):
        as_of = first + timedelta(days=days)
        swept = await fold_as_of(db, PORTFOLIO, as_of, checkpoints)
        assert sorted(swept.rows()) == sorted((await fold_as_of(db, PORTFOLIO, as_of)).rows()), days


async def test_the_cli_rebuilds_with_a_progress_bar(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pmo_reporting.cli import projections_main

    await consume(db, standard_history().events)
    live = await snapshot(db, "portfolio")
    monkeypatch.setenv("PMO_ENV", "development")
    monkeypatch.setenv("PMO_DATABASE_URL", database_url)
    assert await asyncio.to_thread(projections_main, ["rebuild", "portfolio"]) == 0
    assert "generation 2 answers now" in capsys.readouterr().out
    assert await snapshot(db, "portfolio") == live
    assert await asyncio.to_thread(projections_main, ["list"]) == 0
    assert "portfolio" in capsys.readouterr().out


async def test_a_fold_that_fails_mid_read_keeps_the_live_generation_and_the_next_rebuild_works(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild's read asks for the next page before folding this one: a fold that fails on the first page
    with the next one in flight fails the rebuild alone; the answering generation stays and the next rebuild
    (on a connection from the same pool) works."""
    from pmo_reporting.application import log_reader

    monkeypatch.setattr(log_reader, "REBUILD_PAGE", 3)
    history = standard_history()
    await consume(db, history.events)
    live = await snapshot(db, "portfolio")
    calls = 0
    real_apply = PORTFOLIO.apply

    def failing(docs, event):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("fold failed")
        return real_apply(docs, event)

    monkeypatch.setattr(type(PORTFOLIO), "apply", lambda self, docs, event: failing(docs, event))
    progress = await begin_rebuild(db, PORTFOLIO)
    await run_rebuild(db, PORTFOLIO, progress)
    assert progress.phase == "failed" and "fold failed" in (progress.error or "")
    assert await snapshot(db, "portfolio") == live
    monkeypatch.undo()
    monkeypatch.setattr(log_reader, "REBUILD_PAGE", 3)
    progress = await begin_rebuild(db, PORTFOLIO)
    await run_rebuild(db, PORTFOLIO, progress)
    assert progress.phase == "done", progress.error
    assert await snapshot(db, "portfolio") == live


@pytest.mark.parametrize("page", [3, 500])
async def test_the_live_summary_read_a_page_at_a_time_and_cut_to_its_fields_is_the_whole_documents_summary(
    db: Database, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmo_reporting.adapters.db import documents as stored

    monkeypatch.setattr(stored, "PAGE", page)
    history = varied_history()
    await consume(db, history.events)
    for portfolio_id in ("pf-1", "pf-2", "pf-none"):
        kinds = {"portfolio": portfolio_id, "proposal": portfolio_id, "project": portfolio_id,
                 "decision": portfolio_id, "objective": None, "fiscal_calendar": None}  # fmt: skip
        whole = await live_documents(db, PORTFOLIO, kinds)
        cut = await live_documents(db, PORTFOLIO, kinds, summary_slimmers())
        assert [(k, key) for k, key, *_ in cut.rows()] == [(k, key) for k, key, *_ in whole.rows()]
        assert portfolio_summary(cut, portfolio_id) == portfolio_summary(whole, portfolio_id), portfolio_id
        assert portfolio_summary(whole, portfolio_id)["pipeline"] or portfolio_id == "pf-none"


async def every_row(db: Database) -> list[tuple[object, ...]]:
    """Every document of every generation, as stored (the body's text byte for byte)."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(
                documents.c.projection,
                documents.c.generation,
                documents.c.kind,
                documents.c.key,
                documents.c.scope,
                documents.c.body,
            )
        )
        return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize("chosen", [("portfolio", "capacity"), ("portfolio",)])
async def test_read_models_rebuilt_by_worker_processes_are_byte_equal_to_a_serial_rebuild(
    db: Database, chosen: tuple[str, ...]
) -> None:
    """`workers=2` on PostgreSQL: the read models' parts are shared out between this process and a forked worker,
    each reading under the exported snapshot; every stored row equals a serial rebuild's, text for text (on
    SQLite the serial path runs both)."""
    history = with_lessons(varied_history())
    history.events += standard_history().events
    history.unknown("p-1")
    await consume(db, history.events)
    live = {name: await snapshot(db, name) for name in chosen}
    rebuilt: dict[int, list[object]] = {}
    for workers in (1, 2, 1, 2):
        jobs = [(PROJECTIONS[name], await begin_rebuild(db, PROJECTIONS[name])) for name in chosen]
        await run_rebuilds(db, jobs, workers=workers)
        assert [p.phase for _, p in jobs] == ["done"] * len(jobs), [p.error for _, p in jobs]
        assert all(p.folded == p.total > 0 for _, p in jobs), [(p.folded, p.total) for _, p in jobs]
        assert {name: await snapshot(db, name) for name in chosen} == live
        # generations differ from run to run: compare the rows without them
        rebuilt.setdefault(workers, []).append([(p, k, key, s, b) for p, _, k, key, s, b in await every_row(db)])
    assert rebuilt[2][0] == rebuilt[1][0] == rebuilt[1][1] == rebuilt[2][1]


async def test_a_worker_killed_mid_write_leaves_its_read_models_answering_and_nothing_half_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forked worker is killed (SIGKILL) after COPYing part of its documents: its transaction never commits;
    each read model it held a part of keeps its answering generation, the attempt's rows (this process's parts
    too) are gone and the error is kept; the next rebuild works."""
    import os
    import signal

    from pmo_reporting.application import rebuild

    if not db.is_postgres:
        pytest.skip("workers run on PostgreSQL only (SQLite rebuilds in one process)")
    history = with_lessons(standard_history())
    await consume(db, history.events)
    live = {name: await snapshot(db, name) for name in PROJECTIONS}
    before = await every_row(db)
    parent = os.getpid()
    real_write = rebuild.write_documents

    async def dying(session, projection, generation, rows):
        if os.getpid() == parent:
            return await real_write(session, projection, generation, rows)
        rows = list(rows)
        await real_write(session, projection, generation, rows[: len(rows) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(rebuild, "write_documents", dying)
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs, workers=2)
    failed = {p.projection: p for _, p in jobs if p.phase == "failed"}
    assert failed and all(p.phase == "done" for _, p in jobs if p.projection not in failed), [p.phase for _, p in jobs]
    assert all("code -9" in (p.error or "") for p in failed.values()), [p.error for p in failed.values()]
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live
    after = await every_row(db)
    for name, progress in failed.items():
        async with db.sessions() as session:
            row = await projection_row(session, name, lock=False)
        assert (row["generation"], row["state"], row["rebuild_generation"]) == (1, "live", None)
        assert "code -9" in row["last_error"]
        assert not [r for r in after if r[:2] == (name, progress.generation)]
        assert [r for r in after if r[0] == name] == [r for r in before if r[0] == name]
    monkeypatch.undo()
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs, workers=2)
    assert [p.phase for _, p in jobs] == ["done"] * len(jobs), [p.error for _, p in jobs]
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live


async def test_a_cancelled_rebuild_stops_its_forked_workers(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A rebuild cancelled (a shutdown, the CLI's ^C) while its forked worker writes: the worker is ended with it
    (its pid gone, its transaction rolled back), not left folding and writing a generation nobody swaps in."""
    import os
    import signal

    from pmo_reporting.application import rebuild

    if not db.is_postgres:
        pytest.skip("workers run on PostgreSQL only (SQLite rebuilds in one process)")
    await consume(db, with_lessons(standard_history()).events)
    slow, pids = _stalled_in_forked_workers(tmp_path)
    monkeypatch.setattr(rebuild, "write_documents", slow)
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    running = asyncio.create_task(run_rebuilds(db, jobs, workers=2))
    forked: list[int] = []
    try:
        forked = await _forked_pids(pids, running)
        assert forked
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        left = [pid for pid in forked if _alive(pid)]
        assert not left, f"forked rebuild workers still running after the cancel: {left}"
    finally:
        for pid in forked:  # the old code left them: end them here, not at the session's end
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    monkeypatch.undo()
    jobs = [(projection, await begin_rebuild(db, projection, force=True)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs, workers=2)
    assert [p.phase for _, p in jobs] == ["done"] * len(jobs), [p.error for _, p in jobs]


def _stalled_in_forked_workers(tmp_path: Path) -> tuple[Any, Path]:
    """A stand-in for `rebuild.write_documents`: the starting process writes as before; a forked worker records its
    pid in the returned file and then sleeps in its write (busy when the rebuild is cancelled or the service stops)."""
    import os

    from pmo_reporting.application import rebuild

    parent = os.getpid()
    real_write = rebuild.write_documents
    pids = tmp_path / "pids"

    async def slow(session: Any, projection: Any, generation: Any, rows: Any) -> Any:
        if os.getpid() == parent:
            return await real_write(session, projection, generation, rows)
        with pids.open("a") as found:
            found.write(f"{os.getpid()}\n")
        await asyncio.sleep(120)

    return slow, pids


async def _forked_pids(pids: Path, running: asyncio.Task[Any] | None = None) -> list[int]:
    """The pids the stalled workers recorded, once one has (up to 30 s; `running` must not end meanwhile)."""
    for _ in range(600):
        if _recorded(pids).endswith("\n"):
            break
        assert running is None or not running.done(), running
        await asyncio.sleep(0.05)
    return [int(pid) for pid in _recorded(pids).split()]


def _recorded(pids: Path) -> str:
    return pids.read_text() if pids.exists() else ""


def _alive(pid: int) -> bool:
    """The process is running (not gone, not a zombie waiting for its parent to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["killed", "raises"])
async def test_a_worker_that_fails_fails_only_the_read_models_it_held_a_part_of(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    """The forked worker holds one of portfolio's parts only, this process the rest (capacity among it): whether
    the worker is killed or its write raises (its `failed` message drained during this process's fold),
    portfolio fails with the worker's error and capacity is swapped (s14-review R1)."""
    import os
    import signal

    from pmo_reporting.application import rebuild
    from pmo_reporting.projections.catalogue import PARTS

    if not db.is_postgres:
        pytest.skip("workers run on PostgreSQL only (SQLite rebuilds in one process)")
    await consume(db, with_lessons(standard_history()).events)
    live = {name: await snapshot(db, name) for name in PROJECTIONS}
    parent = os.getpid()
    real_write = rebuild.write_documents

    async def failing(session, projection, generation, rows):
        if os.getpid() == parent:
            return await real_write(session, projection, generation, rows)
        (tmp_path / "failing").touch()
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("worker write failed")

    def groups(jobs, weights, workers):
        rest = [("portfolio", i) for i in range(len(PARTS["portfolio"])) if i != 1]
        return [[("capacity", 0), *rest], [("portfolio", 1)]]

    monkeypatch.setattr(rebuild, "write_documents", failing)
    monkeypatch.setattr(rebuild, "_groups", groups)
    real_fold = rebuild._fold_shares

    async def slow_here(session, shares, head, each_page):
        docs = await real_fold(session, shares, head, each_page)
        if os.getpid() == parent:  # the worker's `failed` is drained while this process folds
            for _ in range(600):
                if (tmp_path / "failing").exists():
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            each_page(RebuildProgress("capacity", 0))
        return docs

    monkeypatch.setattr(rebuild, "_fold_shares", slow_here)
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs, workers=2)
    phases = {p.projection: p for _, p in jobs}
    assert phases["capacity"].phase == "done", phases["capacity"].error
    assert phases["portfolio"].phase == "failed"
    expected = "code -9" if how == "killed" else "RuntimeError: worker write failed"
    assert expected in (phases["portfolio"].error or ""), phases["portfolio"].error
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live
    async with db.sessions() as session:
        row = await projection_row(session, "portfolio", lock=False)
    assert (row["generation"], row["state"], row["rebuild_generation"]) == (1, "live", None)
    assert not [r for r in await every_row(db) if r[:2] == ("portfolio", phases["portfolio"].generation)]


async def test_a_fold_failing_in_the_starting_process_fails_only_the_read_models_it_held_a_part_of(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process holds capacity only and its fold raises; the forked worker holds all of portfolio: capacity
    fails (its answering generation stays), portfolio is swapped (s14-review R1's addendum)."""
    import os

    from pmo_reporting.application import rebuild
    from pmo_reporting.projections.catalogue import PARTS

    if not db.is_postgres:
        pytest.skip("workers run on PostgreSQL only (SQLite rebuilds in one process)")
    await consume(db, with_lessons(standard_history()).events)
    live = {name: await snapshot(db, name) for name in PROJECTIONS}
    parent = os.getpid()
    real_fold = rebuild._fold_shares

    async def failing_here(session, shares, head, each_page):
        if os.getpid() == parent:
            raise RuntimeError("fold failed here")
        return await real_fold(session, shares, head, each_page)

    def groups(jobs, weights, workers):
        return [[("capacity", 0)], [("portfolio", i) for i in range(len(PARTS["portfolio"]))]]

    monkeypatch.setattr(rebuild, "_fold_shares", failing_here)
    monkeypatch.setattr(rebuild, "_groups", groups)
    jobs = [(projection, await begin_rebuild(db, projection)) for projection in PROJECTIONS.values()]
    await run_rebuilds(db, jobs, workers=2)
    phases = {p.projection: p for _, p in jobs}
    assert phases["portfolio"].phase == "done", phases["portfolio"].error
    assert phases["capacity"].phase == "failed"
    assert "RuntimeError: fold failed here" in (phases["capacity"].error or "")
    assert {name: await snapshot(db, name) for name in PROJECTIONS} == live
    async with db.sessions() as session:
        row = await projection_row(session, "capacity", lock=False)
    assert (row["generation"], row["state"], row["rebuild_generation"]) == (1, "live", None)
    assert not [r for r in await every_row(db) if r[:2] == ("capacity", phases["capacity"].generation)]


async def test_a_service_shutting_down_cancels_its_rebuild_and_kills_its_workers(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Session 15's review R6: the service's shutdown cancels a rebuild still running (`Rebuilds.stop`, from
    REPORTING's `on_stop`, before the database is disposed), so its forked workers are killed and reaped there.
    Before, nothing cancelled it: the lifespan disposed the database under it and its workers went on writing."""
    import os
    import signal

    from pmo_devstack.testing import running_service
    from pmo_reporting.application import rebuild

    slow, pids = _stalled_in_forked_workers(tmp_path)
    forked: list[int] = []
    try:
        async with running_service(
            REPORTING, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path, rebuild_workers=2
        ) as service:
            await consume(service.runtime.db, with_lessons(standard_history()).events)
            monkeypatch.setattr(rebuild, "write_documents", slow)
            async with service.client("ada", "admin") as admin:
                assert (await admin.post("/admin/projections/portfolio/rebuild")).status_code == 202
            forked = await _forked_pids(pids)
            assert forked
        left = [pid for pid in forked if _alive(pid)]
        assert not left, f"forked rebuild workers still running after the service stopped: {left}"
    finally:
        for pid in forked:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

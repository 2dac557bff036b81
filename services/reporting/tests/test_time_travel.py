"""`as_of` checkpoints kept in the database, on SQLite and PostgreSQL: a cold process starts from the nearest
one and folds the tail, and the answer is the full fold's, at every instant."""

from __future__ import annotations

import asyncio
import itertools
import zlib
from dataclasses import replace
from datetime import datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select, text, update

from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Database
from pmo_events.runtime.migrate import upgrade
from pmo_reporting.adapters.db.checkpoints import (
    INDEXED,
    checkpoint_count,
    checkpoint_marks,
    decode,
    encode,
    is_month_start,
    prune_checkpoints,
    save_checkpoint,
)
from pmo_reporting.adapters.db.tables import checkpoints, event_log
from pmo_reporting.application import time_travel
from pmo_reporting.application.live import apply_events
from pmo_reporting.application.log_reader import log_head
from pmo_reporting.application.rebuild import begin_rebuild, run_rebuild
from pmo_reporting.application.time_travel import Checkpoints, fold_as_of, sweep
from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import Body, InMemoryDocuments, Text
from pmo_reporting.reports.summary import portfolio_summary

from .support import T0, History

pytestmark = pytest.mark.integration

WEEKLY = timedelta(days=7)


@pytest.fixture
async def db(database_url: str):
    await asyncio.to_thread(upgrade, database_url, REPORTING.migrations, REPORTING.metadata)
    database = Database(database_url)
    yield database
    await database.dispose()


def busy_history() -> tuple[History, list[RecordedEvent]]:
    """Two portfolios over ten weeks, proposals decided days after submission (several events share an
    instant); the second list holds decisions logged late, after everything else."""
    h = History()
    h.portfolio("pf-1", {"FY2026": "900000"})
    h.portfolio("pf-2", {"FY2026": "400000"})
    h.objective("o-1")
    late: list[RecordedEvent] = []
    outcomes = ("approve", "reject", "defer")
    for n in range(30):
        portfolio = f"pf-{1 + n % 2}"
        proposal = f"p-{n}"
        h.at(n * 2.3).submitted(proposal, portfolio)
        h.registered(proposal, portfolio)  # the same instant as its submission
        h.at(n * 2.3 + 4)
        before = len(h.events)
        h.decided(proposal, portfolio, outcomes[n % 3])
        if n % 7 == 3:
            late += h.events[before:]
            del h.events[before:]
        elif outcomes[n % 3] == "approve":
            h.initiated(proposal, portfolio)
    return h, late


async def consume(db: Database, events: list[RecordedEvent], batch: int = 9, first_offset: int = 0) -> None:
    for start in range(0, len(events), batch):
        placed = [
            replace(event, topic="pmo.test.events", partition=0, offset=offset)
            for offset, event in enumerate(events[start : start + batch], start=first_offset + start)
        ]
        async with db.transaction() as session:
            await apply_events(session, placed)


def instants() -> list[datetime]:
    """Every 11 hours from before the first event to after the last (on, between and off checkpoints)."""
    return [T0 - timedelta(days=1) + timedelta(hours=11 * n) for n in range(160)]


async def assert_like_full_folds(db: Database, checkpoints: Checkpoints) -> None:
    for as_of in instants():
        from_checkpoint = await fold_as_of(db, PORTFOLIO, as_of, checkpoints)
        full = await fold_as_of(db, PORTFOLIO, as_of)
        assert sorted(from_checkpoint.rows()) == sorted(full.rows()), as_of


def cold() -> Checkpoints:
    """A process that just started: nothing in memory, and no sweep of its own."""
    return Checkpoints(sweep_every=None)


async def test_a_cold_process_answers_from_kept_checkpoints_like_the_full_fold(db: Database) -> None:
    history, late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    async with db.sessions() as session:
        marks = await checkpoint_marks(session, "portfolio", 1)
    assert len(marks) > 10
    fresh = cold()
    await assert_like_full_folds(db, fresh)
    middle = T0 + timedelta(days=30)
    used = fresh.nearest("portfolio", middle, head=10**9)
    assert used is not None and used.at in {at for at, _ in marks}  # read from the database
    # The same question again is answered by the first answer, folding nothing.
    first = await fold_as_of(db, PORTFOLIO, middle, fresh)
    assert await fold_as_of(db, PORTFOLIO, middle, fresh) is first
    # Decisions logged after the checkpoints, about instants they cover, are folded from the tail.
    await consume(db, late, first_offset=len(history.events))
    assert portfolio_summary(await fold_as_of(db, PORTFOLIO, middle, cold()), "pf-1") == portfolio_summary(
        await fold_as_of(db, PORTFOLIO, middle), "pf-1"
    )
    await assert_like_full_folds(db, cold())


async def test_a_second_sweep_reads_only_the_log_past_the_newest_checkpoint(db: Database) -> None:
    history, late = busy_history()
    half = len(history.events) // 2
    await consume(db, history.events[:half])
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    async with db.sessions() as session:
        first = await checkpoint_marks(session, "portfolio", 1)
    await consume(db, history.events[half:] + late, first_offset=half)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, lazy=True, thin=False)
    async with db.sessions() as session:
        second = await checkpoint_marks(session, "portfolio", 1)
        head = await log_head(session)
    assert set(first) < set(second)  # the first sweep's checkpoints are kept, new ones added after them
    assert max(upto for _, upto in second) == head
    await assert_like_full_folds(db, cold())
    # Lazy, with fewer than `per` new events: nothing to do.
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, lazy=True, thin=False)
    async with db.sessions() as session:
        assert await checkpoint_marks(session, "portfolio", 1) == second


async def test_a_checkpoint_of_an_older_generation_is_ignored_and_dropped_by_the_rebuild(db: Database) -> None:
    history, _ = busy_history()
    await consume(db, history.events)
    async with db.sessions() as session:
        head = await log_head(session)
    at = T0 + timedelta(days=30)
    wrong = InMemoryDocuments()  # what an older fold might have made of the same events: nothing
    async with db.transaction() as session:
        await save_checkpoint(session, "portfolio", 1, at, head, wrong)
    # Generation 1 answers: the checkpoint is taken at its word (so this test can tell it is ignored).
    assert len(await fold_as_of(db, PORTFOLIO, at, cold())) == 0
    progress = await begin_rebuild(db, PORTFOLIO)
    await run_rebuild(db, PORTFOLIO, progress)
    assert progress.generation == 2
    async with db.transaction() as session:
        assert await checkpoint_count(session, "portfolio") == 0  # the swap dropped generation 1's
        await save_checkpoint(session, "portfolio", 1, at, head, wrong)  # one written late by an old process
    assert sorted((await fold_as_of(db, PORTFOLIO, at, cold())).rows()) == sorted(
        (await fold_as_of(db, PORTFOLIO, at)).rows()
    )
    # In memory too: a process that remembered generation 1's folds forgets them once generation 2 answers.
    remembered = cold()
    async with db.transaction() as session:
        await save_checkpoint(session, "portfolio", 2, at, head, wrong)
    assert len(await fold_as_of(db, PORTFOLIO, at, remembered)) == 0
    await run_rebuild(db, PORTFOLIO, await begin_rebuild(db, PORTFOLIO))
    assert len(await fold_as_of(db, PORTFOLIO, at, remembered)) > 0


async def test_a_checkpoint_taken_while_a_batch_is_written_does_not_cover_the_batch(db: Database) -> None:
    history, late = busy_history()
    await consume(db, history.events)
    async with db.sessions() as session:
        before = await log_head(session)
    placed = [
        replace(event, topic="pmo.test.events", partition=0, offset=len(history.events) + n)
        for n, event in enumerate(late)
    ]
    async with db.transaction() as session:
        await apply_events(session, placed)  # logged, folded into the live models, not yet committed
        # The sweep reads the log meanwhile; on SQLite it waits for the batch's commit to write its checkpoints.
        sweeping = asyncio.create_task(sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False))
        await asyncio.sleep(0.5)
    await sweeping
    async with db.sessions() as session:
        marks = await checkpoint_marks(session, "portfolio", 1)
        assert await log_head(session) > before
    assert marks and {upto for _, upto in marks} == {before}
    # The late decisions (before most checkpoints' instants) come from the tail, so every answer is whole.
    await assert_like_full_folds(db, cold())
    summary = portfolio_summary(await fold_as_of(db, PORTFOLIO, T0 + timedelta(days=80), cold()), "pf-1")
    assert summary == portfolio_summary(await fold_as_of(db, PORTFOLIO, T0 + timedelta(days=80)), "pf-1")


async def test_as_of_questions_start_the_sweep_again_only_once_the_log_has_grown(db: Database) -> None:
    history, late = busy_history()
    await consume(db, history.events)
    process = Checkpoints(sweep_every=WEEKLY, per=3)  # as the service's: sweeps in the background, kept
    middle = T0 + timedelta(days=30)
    await fold_as_of(db, PORTFOLIO, middle, process)
    assert process.sweeping("portfolio")
    await process.wait_for_sweeps()
    async with db.sessions() as session:
        swept = await checkpoint_marks(session, "portfolio", 1)
    assert swept
    await fold_as_of(db, PORTFOLIO, middle + timedelta(days=3), process)
    assert not process.sweeping("portfolio")  # nothing new in the log: no sweep
    await consume(db, late, first_offset=len(history.events))  # `per` or more new log positions
    await fold_as_of(db, PORTFOLIO, middle + timedelta(days=5), process)
    assert process.sweeping("portfolio")
    await process.wait_for_sweeps()
    async with db.sessions() as session:
        # Only late arrivals came: the newest checkpoint is taken again, now covering them.
        assert max(upto for _, upto in await checkpoint_marks(session, "portfolio", 1)) == await log_head(session)
    await assert_like_full_folds(db, cold())


def unindexed(body: bytes) -> bytes:
    """The body as a sweep before reporting_0006 wrote it: one JSON object `{kind: {key: [scope, text]}}`."""

    def text(held: Body | Text) -> str:
        if isinstance(held, dict):
            return orjson.dumps(held).decode()
        return held if isinstance(held, str) else bytes(held).decode()

    kinds = {
        kind: {key: (scope, text(held)) for key, (scope, held) in of_kind.items()}
        for kind, of_kind in decode(body).held()
    }
    return orjson.dumps(kinds)


async def test_checkpoints_kept_zlib_compressed_before_reporting_0004_are_still_read(db: Database) -> None:
    """Bodies are indexed now (lz4-compressed by PostgreSQL); the zlib-compressed JSON ones kept before
    reporting_0004 are read as they were, and a cold process answers from them like the full fold."""
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    async with db.transaction() as session:
        bodies = (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all()
        assert bodies and all(body[:1] == bytes([INDEXED]) for _, body in bodies)
        for at, body in bodies:  # as a sweep before reporting_0004 wrote them
            old = zlib.compress(unindexed(body), 1)
            await session.execute(update(checkpoints).where(checkpoints.c.at == at).values(body=old))
        if session.bind.dialect.name == "postgresql":
            method = (
                await session.execute(
                    text(
                        "SELECT attcompression::text FROM pg_attribute"
                        " WHERE attrelid = 'reporting_checkpoints'::regclass AND attname = 'body'"
                    )
                )
            ).scalar_one()
            assert method == "l"  # lz4 (reporting_0004)
    assert decode(zlib.compress(encode(InMemoryDocuments()))).rows() is not None
    await assert_like_full_folds(db, cold())


async def test_checkpoints_kept_as_one_json_object_before_reporting_0006_are_still_read(db: Database) -> None:
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    async with db.transaction() as session:
        for at, body in (await session.execute(select(checkpoints.c.at, checkpoints.c.body))).all():
            await session.execute(update(checkpoints).where(checkpoints.c.at == at).values(body=unindexed(body)))
    await assert_like_full_folds(db, cold())


async def test_a_kept_checkpoint_is_read_back_without_parsing_its_documents(db: Database) -> None:
    """A body is an index and each document's JSON as it is: reading one back decodes no document, a report
    about one portfolio decodes only the documents it reads, and the answers are the full fold's."""
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    async with db.sessions() as session:
        newest = select(checkpoints.c.at, checkpoints.c.body).order_by(checkpoints.c.at.desc()).limit(1)
        at, body = (await session.execute(newest)).one()
    assert body[:1] == bytes([INDEXED])
    kept = decode(body)
    assert decoded_count(kept) == 0 and len(kept) > 0
    full = await fold_as_of(db, PORTFOLIO, at)
    for kind, key, _scope, document in kept.rows():
        assert orjson.dumps(document) in body, (kind, key)  # as it is: not escaped in a JSON string
    assert sorted(kept.rows()) == sorted(full.rows())
    kept = decode(body)
    assert portfolio_summary(kept, "pf-1") == portfolio_summary(full, "pf-1")
    assert 0 < decoded_count(kept) < len(kept)  # pf-2's proposals, projects and decisions stay as read
    assert decoded_count(decode(encode(kept))) == 0
    assert sorted(decode(encode(kept)).rows()) == sorted(full.rows())
    await assert_like_full_folds(db, cold())


async def test_checkpoints_and_answers_in_memory_stay_within_their_budget(db: Database) -> None:
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    asked = instants()[::8]
    unbounded = Checkpoints(sweep_every=None, budget=10**12)
    for as_of in asked:
        await fold_as_of(db, PORTFOLIO, as_of, unbounded)
    one = (await fold_as_of(db, PORTFOLIO, asked[-1])).approx_bytes()
    budget = one * 2
    assert unbounded.held_bytes("portfolio") > budget  # so that the budget below is what bounds
    bounded = Checkpoints(sweep_every=None, budget=budget)
    for as_of in asked:
        answer = await fold_as_of(db, PORTFOLIO, as_of, bounded)
        assert bounded.held_bytes("portfolio") <= budget
        assert await fold_as_of(db, PORTFOLIO, as_of, bounded) is answer  # the newest answer is kept
    # Within a budget of less than one answer, the newest answer is still kept, and nothing else.
    tiny = Checkpoints(sweep_every=None, budget=1)
    for as_of in asked[-3:]:
        answer = await fold_as_of(db, PORTFOLIO, as_of, tiny)
        assert await fold_as_of(db, PORTFOLIO, as_of, tiny) is answer
        assert tiny.held_bytes("portfolio") == answer.approx_bytes()
    await assert_like_full_folds(db, Checkpoints(sweep_every=None, budget=budget))


async def test_memory_is_given_back_once_answers_held_in_memory_were_let_go(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The allocator is asked to give memory back (servicekit's `give_back_memory`) after an answer that made
    the process let go of a checkpoint or an answer, and not after one that let nothing go."""
    history, _late = busy_history()
    await consume(db, history.events)
    given: list[str] = []
    monkeypatch.setattr(time_travel, "give_back_memory", lambda: given.append("trim"))
    asked = instants()[::8]
    unbounded = Checkpoints(sweep_every=None, budget=10**12)
    for as_of in asked:
        await fold_as_of(db, PORTFOLIO, as_of, unbounded)
    await asyncio.sleep(0.05)
    assert given == []
    tiny = Checkpoints(sweep_every=None, budget=1)
    for as_of in asked[:3]:
        await fold_as_of(db, PORTFOLIO, as_of, tiny)
    for _ in range(500):  # it runs in the loop's executor once the answer is on its way
        if len(given) >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(given) == 2  # the second and third answers each let the one before go


async def test_a_sweep_thins_its_checkpoints_keeping_the_fold_bound_and_answers_stay_the_full_folds(
    db: Database,
) -> None:
    history, late = busy_history()
    half = len(history.events) // 2 // 2 * 2
    types = event_log.c.type.in_(sorted(PORTFOLIO.handles))

    async def events_between(a: datetime, b: datetime) -> int:
        async with db.sessions() as session:
            query = (
                select(func.count())
                .select_from(event_log)
                .where(types, event_log.c.occurred_at > a, event_log.c.occurred_at <= b)
            )
            return int((await session.execute(query)).scalar_one())

    async def assert_thinned(unthinned: list[datetime], per: int) -> list[datetime]:
        async with db.sessions() as session:
            kept = [at for at, _ in await checkpoint_marks(session, "portfolio", 1)]
        assert set(kept) <= set(unthinned) and kept[-1] == unthinned[-1]  # the newest stays
        assert {at for at in unthinned if is_month_start(at)} <= set(kept)
        for a, b in itertools.pairwise(kept):  # a dropped one lay where the fold stays within `per`
            if unthinned.index(b) > unthinned.index(a) + 1:
                assert await events_between(a, b) <= per
        return kept

    # Sweeps every 2 events leave one checkpoint per pass at the newest instant (as lazy sweeps every 1,000
    # events of every kind do for a read model with fewer of them); thinned, the fold bound still holds.
    for upto in range(2, half + 1, 2):
        await consume(db, history.events[upto - 2 : upto], first_offset=upto - 2)
        await sweep(db, PORTFOLIO, cold(), timedelta(days=30), per=5, persist=True, thin=False)
    async with db.sessions() as session:
        unthinned = [at for at, _ in await checkpoint_marks(session, "portfolio", 1)]
    async with db.transaction() as session:
        dropped = await prune_checkpoints(session, "portfolio", 1, types, 5, None)
    kept = await assert_thinned(unthinned, 5)
    assert dropped > 0 and len(kept) == len(unthinned) - dropped
    await assert_like_full_folds(db, cold())
    # The sweep itself thins what it took, from the checkpoint it started from on.
    seen = set(kept)
    rest = history.events[half:]
    for first in range(0, len(rest), 2):
        await consume(db, rest[first : first + 2], first_offset=half + first)
        await sweep(db, PORTFOLIO, cold(), timedelta(days=30), per=5, persist=True)
        async with db.sessions() as session:
            seen |= {at for at, _ in await checkpoint_marks(session, "portfolio", 1)}
    async with db.sessions() as session:
        final = [at for at, _ in await checkpoint_marks(session, "portfolio", 1)]
    # Events of this history arrive out of time order, so a kept pair's count can grow after it was thinned
    # (an answer folds such late events on top of its checkpoint either way): the bound is checked above.
    assert len(final) < len(seen) and final[-1] == max(seen)
    assert {at for at in seen if is_month_start(at)} <= set(final)
    # Late arrivals add to a fold's events (an answer folds them on top of its checkpoint either way).
    await consume(db, late, first_offset=len(history.events))
    await sweep(db, PORTFOLIO, cold(), timedelta(days=30), per=5, persist=True)
    async with db.sessions() as session:
        head = await log_head(session)
        assert max(upto for _, upto in await checkpoint_marks(session, "portfolio", 1)) == head
    await assert_like_full_folds(db, cold())


def decoded_count(docs: InMemoryDocuments) -> int:
    return sum(isinstance(body, dict) for of_kind in docs._kinds.values() for _scope, body in of_kind.values())


def test_forgetting_what_was_decoded_holds_the_text_again_but_not_over_a_newer_body() -> None:
    docs = InMemoryDocuments.encoded({"k": {"a": ("s", '{"n":1}'), "b": ("s", '{"n":2}')}})
    assert docs.get("k", "a") == {"n": 1}
    assert docs.all("k", scope="s") == [{"n": 1}, {"n": 2}]
    docs.put("k", "b", {"n": 3}, scope="s")  # replaced after it was decoded: the newer body stays
    assert docs.forget_decoded() == 1
    assert docs._kinds["k"] == {"a": ("s", '{"n":1}'), "b": ("s", {"n": 3})}
    assert docs.get("k", "a") == {"n": 1} and docs.forget_decoded() == 1
    assert docs.forget_decoded() == 0


async def test_an_answer_kept_in_memory_holds_what_its_report_read_as_text_again(db: Database) -> None:
    """Once the caller has made its report (on the loop's next turn), the bodies the report decoded are held as
    their JSON text again, and the same instant asked again answers the same documents and the same report."""
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    process = cold()
    as_of = T0 + timedelta(days=40, hours=5)
    answer = await fold_as_of(db, PORTFOLIO, as_of, process)
    folded_by_the_tail = decoded_count(answer)
    summary = portfolio_summary(answer, "pf-1")
    assert decoded_count(answer) > folded_by_the_tail
    await asyncio.sleep(0)
    assert decoded_count(answer) == folded_by_the_tail
    again = await fold_as_of(db, PORTFOLIO, as_of, process)
    assert again is answer
    full = await fold_as_of(db, PORTFOLIO, as_of)
    assert portfolio_summary(again, "pf-1") == summary == portfolio_summary(full, "pf-1")
    assert sorted(again.rows()) == sorted((await fold_as_of(db, PORTFOLIO, as_of)).rows())


async def test_what_is_held_in_memory_is_let_go_once_no_question_came_for_a_while(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hold_seconds` after the last question every checkpoint and answer in memory goes and the memory is given
    back; each question puts that off; the answers after that are the full folds' again."""
    history, _late = busy_history()
    await consume(db, history.events)
    await sweep(db, PORTFOLIO, cold(), WEEKLY, per=10, persist=True, thin=False)
    given: list[str] = []
    monkeypatch.setattr(time_travel, "give_back_memory", lambda: given.append("trim"))
    loop = asyncio.get_running_loop()
    waiting = Checkpoints(sweep_every=None, budget=10**12, hold_seconds=3600)
    asked = instants()[::16]
    await fold_as_of(db, PORTFOLIO, asked[0], waiting)
    assert waiting._release is not None
    first_due = waiting._release.when()
    await asyncio.sleep(0.01)
    answer = await fold_as_of(db, PORTFOLIO, asked[-1], waiting)
    assert waiting._release.when() > first_due >= loop.time() + 3500  # put off by the later question
    assert await fold_as_of(db, PORTFOLIO, asked[-1], waiting) is answer
    waiting._release.cancel()
    process = Checkpoints(sweep_every=None, budget=10**12, hold_seconds=0.2)
    for as_of in asked:
        await fold_as_of(db, PORTFOLIO, as_of, process)
    assert process.held_bytes("portfolio") > 0
    await asyncio.sleep(1)  # the release was due 0.2 s after the last question
    for _ in range(100):  # the memory is given back in the loop's executor
        if given:
            break
        await asyncio.sleep(0.01)
    assert process.held_bytes("portfolio") == 0 and process.nearest("portfolio", asked[-1], 10**9) is None
    assert given == ["trim"]
    await assert_like_full_folds(db, Checkpoints(sweep_every=None, hold_seconds=0.01))

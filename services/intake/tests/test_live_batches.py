"""Intake's live path applies a whole poll at once (the board's scores and decisions mirrored with one load per
proposal and one write): killed mid-poll it leaves nothing behind, and whatever the poll boundaries it ends
exactly where applying one event at a time ends. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event

from pmo_devstack.batches import (
    Feed,
    another_database,
    bookkeeping_of,
    killed_then_restarted,
    recorded_of,
    rows_of,
    run_until_applied,
    service_runtime,
    subscription_of,
)
from pmo_events.contracts import intake, portfolio
from pmo_events.contracts.common import (
    Benefit,
    BusinessCase,
    ObjectiveContribution,
    PeriodAmount,
    Timeline,
)
from pmo_events.contracts.portfolio.programmes import TrancheDecision
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import Metadata
from pmo_events.runtime.tracing import spans_of_applied
from pmo_intake.adapters.db.tables import known_objectives, known_portfolios, known_programmes, proposals
from pmo_intake.application.commands import PROPOSAL
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.contract.shared import DecisionVerb
from pmo_servicekit.service import ServiceRuntime

pytestmark = pytest.mark.integration

PROPOSALS = [f"prop-{n}" for n in range(6)]
#: Columns written from the time of writing (new on every run).
TIMES = ("updated_at", "created_at", "listed_at")


def the_board(feed: Feed) -> list[RecordedEvent]:
    """A portfolio and an objective, then each proposal scored twice and decided; a stale decision; one
    decision for a proposal intake never saw. Streams interleave, so polls cut through them anywhere."""
    when = datetime(2027, 3, 1, tzinfo=UTC)
    budget = (PeriodAmount(fiscal_period="FY2027", amount=Decimal("1000000")),)
    feed.event("pf-1", portfolio.PortfolioCreated(
        portfolio_id="pf-1", name="Change", currency="EUR", owner="olivia", budget=budget,
        board_members=("bob",), created_by="olivia",
    ))  # fmt: skip
    feed.event("o-1", portfolio.ObjectiveCreated(
        objective_id="o-1", title="Grow", weight=Decimal("0.5"), period_start=date(2027, 1, 1),
        period_end=date(2029, 12, 31), created_by="olivia",
    ))  # fmt: skip
    for round_ in (1, 2):
        for pid in PROPOSALS:
            feed.event(pid, portfolio.CandidateScored(
                portfolio_id="pf-1", candidate_id=pid, assessor=f"bob{round_}", scores={"value": round_},
                scored_at=when, submission=1,
            ), actor="bob")  # fmt: skip
    outcomes: tuple[DecisionVerb, ...] = ("approve", "reject", "defer", "request_changes")
    for n, pid in enumerate([*PROPOSALS, "prop-unknown", PROPOSALS[0]]):
        feed.event(pid, portfolio.InvestmentDecided(
            decision_id=f"d-{n}", portfolio_id="pf-1", candidate_id=pid, proposal_id=pid,
            outcome=outcomes[n % 4], rationale=f"decision {n}", decided_by="bob", decided_at=when,
        ), actor="bob")  # fmt: skip
    return feed.published


async def seed(runtime: ServiceRuntime) -> None:
    """The proposals, drafted and submitted in intake's own store (events, outbox, view)."""
    for pid in PROPOSALS:
        content: dict[str, Any] = {
            "proposal_id": pid, "portfolio_id": "pf-1", "title": f"Initiative {pid}", "summary": "why",
            "sponsor": "sam",
            "objective_contributions": (ObjectiveContribution(objective_id="o-1", contribution=3),),
            "business_case": BusinessCase(
                currency="EUR",
                costs=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(1000)),),
                benefits=(
                    Benefit(benefit_id="b1", description="savings", kind="financial", value_amount=Decimal(2000)),
                ),
            ),
            "timeline": Timeline(start=date(2027, 2, 1), end=date(2027, 12, 31)),
        }  # fmt: skip
        at = datetime(2027, 1, 10, tzinfo=UTC)
        drafted = intake.ProposalDrafted(requester="alice", **content)
        submitted = intake.ProposalSubmitted(requester="alice", submission=1, submitted_at=at, **content)
        async with runtime.commands.unit_of_work(Metadata(actor="alice")) as uow:
            await uow.append(PROPOSAL, pid, 0, [drafted, submitted])


async def read_models(runtime: ServiceRuntime) -> dict[str, Any]:
    return {
        "proposals": await rows_of(runtime, proposals, leave_out=TIMES),
        "portfolios": await rows_of(runtime, known_portfolios),
        "objectives": await rows_of(runtime, known_objectives, leave_out=("updated_at",)),
        "recorded": await recorded_of(runtime),
    }


async def test_a_poll_killed_before_its_commit_leaves_nothing_and_the_restart_applies_it_once(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    board = the_board(feed)
    await feed.send()
    async with service_runtime(INTAKE, database_url, kafka_bootstrap, tmp_path) as runtime:
        await seed(runtime)
        seen = await killed_then_restarted(runtime, topic, len(board), read_models)
    assert seen.kept_before == {"offsets": [], "streams": [], "outbox": 12}
    after, kept = seen.after, seen.kept
    statuses = {row["proposal_id"]: row["status"] for row in after["proposals"]}
    assert statuses == {
        "prop-0": "approved", "prop-1": "rejected", "prop-2": "deferred", "prop-3": "changes_requested",
        "prop-4": "approved", "prop-5": "rejected",
    }  # fmt: skip
    mirrored = [(stream, version, kind.rsplit(".", 2)[1]) for stream, version, kind, *_ in after["recorded"]]
    # Each proposal: drafted, submitted, under review once (the second score changes nothing), decided once.
    assert [m for m in mirrored if m[0] == "prop-0"] == [
        ("prop-0", 1, "ProposalDrafted"), ("prop-0", 2, "ProposalSubmitted"),
        ("prop-0", 3, "ProposalUnderReview"), ("prop-0", 4, "ProposalApproved"),
    ]  # fmt: skip
    assert len(mirrored) == 4 * len(PROPOSALS) and kept["outbox"] == len(mirrored)
    causes = {event.event_id for event in board}
    assert all(row[-1] in causes for row in after["recorded"] if row[1] > 2)


@pytest.mark.parametrize("max_records", [2000, 3])
async def test_polls_end_where_one_event_at_a_time_ends(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, request: pytest.FixtureRequest,
    max_records: int,
) -> None:  # fmt: skip
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    board = the_board(feed)
    await feed.send()
    models = []
    async with another_database(database_url, lambda: request.getfixturevalue("postgres_admin_url"), tmp_path) as other:
        for url, one_at_a_time in ((database_url, False), (other, True)):
            async with service_runtime(INTAKE, url, kafka_bootstrap, tmp_path) as runtime:
                await seed(runtime)
                subscription = subscription_of(runtime, topic, one_at_a_time=one_at_a_time, max_records=max_records)
                await run_until_applied(subscription, len(board))
                models.append((await read_models(runtime), await bookkeeping_of(runtime)))
    (batched, kept), (reference, kept_reference) = models
    assert batched == reference
    assert kept == kept_reference
    assert len(batched["recorded"]) == 4 * len(PROPOSALS)


async def test_when_lines_per_event_are_wanted_every_event_of_a_poll_is_applied_in_its_own_span(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The debug line per applied event is written in the event's consumer span (the producer's trace): the
    poll opens one for each event while someone collects them, and only then for events that record nothing."""
    board = the_board(Feed(kafka_bootstrap, "unused.portfolio.events", "/pmo/portfolio", tmp_path))
    async with service_runtime(INTAKE, database_url, kafka_bootstrap, tmp_path) as runtime:
        await seed(runtime)
        assert INTAKE.batch_consumer is not None
        handle = INTAKE.batch_consumer(runtime)
        async with runtime.db.transaction() as session:
            with spans_of_applied() as applied:
                await handle(session, board)
            with spans_of_applied() as applied_again:
                await handle(session, board)  # all duplicates of what the proposals mirrored: nothing recorded
    assert [event.event_id for event, _ in applied] == [event.event_id for event in board]
    assert [event.event_id for event, _ in applied_again] == [event.event_id for event in board]


def the_facts(feed: Feed) -> list[RecordedEvent]:
    """What intake learns and writes as it comes (no command): portfolios, objectives and programmes, each row
    changed several times, streams interleaved. An objective retired before intake knew it, then updated (event
    by event the retirement finds no row and the update inserts the objective, not retired), and one retired
    after its update; a programme created and closed, another reviewed without closing."""
    when = datetime(2027, 3, 1, tzinfo=UTC)
    for n in range(3):
        pid = f"pf-{n}"
        feed.event(pid, portfolio.PortfolioCreated(
            portfolio_id=pid, name=f"Portfolio {n}", currency="EUR", owner="olivia",
            budget=(PeriodAmount(fiscal_period="FY2027", amount=Decimal("1000")),), board_members=("bob",),
            created_by="olivia",
        ))  # fmt: skip
    objective: dict[str, Any] = {"weight": Decimal("0.5"), "period_start": date(2027, 1, 1),
                                 "period_end": date(2029, 12, 31)}  # fmt: skip
    feed.event("o-late", portfolio.ObjectiveRetired(objective_id="o-late", retired_by="olivia"))
    feed.event("o-1", portfolio.ObjectiveCreated(objective_id="o-1", title="Grow", created_by="olivia", **objective))
    for n in range(3):
        feed.event(f"pf-{n}", portfolio.PortfolioBudgetSet(
            portfolio_id=f"pf-{n}", set_by="olivia",
            budget=tuple(PeriodAmount(fiscal_period=f"FY{2027 + y}", amount=Decimal("10")) for y in range(n + 1)),
        ))  # fmt: skip
        feed.event(f"g-{n}", portfolio.ProgrammeCreated(
            programme_id=f"g-{n}", portfolio_id=f"pf-{n}", name=f"Programme {n}", vision="v",
            senior_responsible_owner="sam", programme_manager="pat", created_by="olivia", created_at=when,
        ))  # fmt: skip
    feed.event("o-late", portfolio.ObjectiveUpdated(
        objective_id="o-late", title="Late", updated_by="olivia", portfolio_ids=("pf-1",), **objective
    ))  # fmt: skip
    feed.event("o-1", portfolio.ObjectiveUpdated(objective_id="o-1", title="Grow more", updated_by="olivia",
                                                  **objective))  # fmt: skip
    feed.event("o-1", portfolio.ObjectiveRetired(objective_id="o-1", retired_by="olivia"))
    decisions: tuple[TrancheDecision, ...] = ("close_programme", "continue")
    for n, decision in enumerate(decisions):
        feed.event(f"g-{n}", portfolio.TrancheReviewed(
            programme_id=f"g-{n}", portfolio_id=f"pf-{n}", tranche_id=f"t-{n}", decision=decision, rationale="r",
            decided_by="bob", decided_at=when,
        ))  # fmt: skip
    feed.event("pf-0", portfolio.PortfolioCreated(
        portfolio_id="pf-0", name="Renamed", currency="USD", owner="olivia",
        budget=(PeriodAmount(fiscal_period="FY2030", amount=Decimal("1")),), board_members=("bob",),
        created_by="olivia",
    ))  # fmt: skip
    return feed.published


@pytest.mark.parametrize("max_records", [2000, 4, 1])
async def test_what_a_poll_learns_ends_where_one_event_at_a_time_ends(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, request: pytest.FixtureRequest,
    max_records: int,
) -> None:  # fmt: skip
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    facts = the_facts(feed)
    await feed.send()
    models = []
    async with another_database(database_url, lambda: request.getfixturevalue("postgres_admin_url"), tmp_path) as other:
        for url, one_at_a_time in ((database_url, False), (other, True)):
            async with service_runtime(INTAKE, url, kafka_bootstrap, tmp_path) as runtime:
                subscription = subscription_of(runtime, topic, one_at_a_time=one_at_a_time, max_records=max_records)
                await run_until_applied(subscription, len(facts))
                models.append({
                    "portfolios": await rows_of(runtime, known_portfolios),
                    "objectives": await rows_of(runtime, known_objectives, leave_out=("updated_at",)),
                    "programmes": await rows_of(runtime, known_programmes),
                })  # fmt: skip
    batched, reference = models
    assert batched == reference
    assert {row["objective_id"]: row["retired"] for row in batched["objectives"]} == {"o-1": True, "o-late": False}
    assert {row["programme_id"]: row["closed"] for row in batched["programmes"]} == {
        "g-0": True, "g-1": False, "g-2": False,
    }  # fmt: skip
    assert [row["name"] for row in batched["portfolios"]] == ["Renamed", "Portfolio 1", "Portfolio 2"]


async def test_a_poll_writes_what_it_learns_in_a_few_statements_per_table(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Not one or two statements per event: the poll's 20 facts go in at most two statements per table (which
    rows exist, then an insert or an update per set of columns) beside the one update met before its row's first
    upsert."""
    facts = the_facts(Feed(kafka_bootstrap, "unused.portfolio.events", "/pmo/portfolio", tmp_path))
    async with service_runtime(INTAKE, database_url, kafka_bootstrap, tmp_path) as runtime:
        assert INTAKE.batch_consumer is not None
        handle = INTAKE.batch_consumer(runtime)
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "intake_known_" in statement:
                statements.append(statement.split()[0])

        engine = runtime.db.engine.sync_engine
        sqlalchemy_event.listen(engine, "before_cursor_execute", seen)
        try:
            async with runtime.db.transaction() as session:
                await handle(session, facts)
        finally:
            sqlalchemy_event.remove(engine, "before_cursor_execute", seen)
    # o-late's retirement (alone, at once); then per table: the read of which rows exist and one insert
    # (objectives: one insert per set of columns: o-1 with its period, o-late too), nothing to update.
    assert len(statements) <= 1 + 3 * 3, statements
    assert statements.count("SELECT") == 3

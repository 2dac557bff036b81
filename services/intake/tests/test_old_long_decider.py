"""The board's scores and decisions recorded before session 10 bounded token subjects (c4a70a4; review 1 of
session 11, F2): portfolio's events keep the scorer's and the decider's whole subject (`assessor`,
`decided_by`, the envelope's actor), which had no bound then. Intake mirrors each on its proposal with a command
recorded by that subject (`Metadata.caused_by(event, actor=...)`): with `pmo_events.actor` VARCHAR(200) the
command was refused on PostgreSQL (StringDataRightTruncation, not transient), the score or decision
dead-lettered and the proposal left under review for good. Since runtime_0004 the column is unbounded text.
Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pmo_devstack.batches import Feed, recorded_of, run_until_applied, service_runtime, subscription_of
from pmo_events.contracts import portfolio
from pmo_intake.bootstrap import INTAKE

from .test_live_batches import PROPOSALS, seed

pytestmark = pytest.mark.integration

#: A subject as long as an e-mail address may be (254): older code took it, and longer ones too.
OLD = "b" * (254 - len("@example.org")) + "@example.org"


async def test_scores_and_decisions_by_an_older_longer_subject_are_mirrored_whole(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}.portfolio.events"
    feed = Feed(kafka_bootstrap, topic, "/pmo/portfolio", tmp_path)
    when = datetime(2027, 3, 1, tzinfo=UTC)
    for pid in PROPOSALS:
        feed.event(pid, portfolio.CandidateScored(
            portfolio_id="pf-1", candidate_id=pid, assessor=OLD, scores={"value": 3}, scored_at=when, submission=1,
        ), actor=OLD)  # fmt: skip
        feed.event(pid, portfolio.InvestmentDecided(
            decision_id=f"d-{pid}", portfolio_id="pf-1", candidate_id=pid, proposal_id=pid, outcome="approve",
            rationale="fits", decided_by=OLD, decided_at=when,
        ), actor=OLD)  # fmt: skip
    board = feed.published
    await feed.send()
    async with service_runtime(INTAKE, database_url, kafka_bootstrap, tmp_path) as runtime:
        await seed(runtime)
        subscription = subscription_of(runtime, topic)
        await run_until_applied(subscription, len(board))
        assert subscription.status.dead_lettered == 0, subscription.status.last_error
        recorded = await recorded_of(runtime)
    mirrored = [
        (stream, kind.rsplit(".", 2)[1], actor) for stream, version, kind, _, actor, *_ in recorded if version > 2
    ]
    assert sorted(mirrored) == sorted(
        (pid, kind, OLD) for pid in PROPOSALS for kind in ("ProposalUnderReview", "ProposalApproved")
    )

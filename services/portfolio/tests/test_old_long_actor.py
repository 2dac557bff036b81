"""A proposal submitted before session 10 bounded token subjects (c4a70a4; review 1 of session 11, F2).

Until then a subject of any length was taken, and intake's envelope kept it whole as the event's actor (the
outbox's headers are text, the signature covers the whole actor). The candidate this service registers for it
is recorded as caused by that event, by its actor (`Metadata.caused_by`): with `pmo_events.actor` VARCHAR(200)
the registration was refused on PostgreSQL (StringDataRightTruncation, not transient), the proposal
dead-lettered and every later event of its stream left waiting. Since runtime_0004 the column is unbounded text:
the candidate is registered, by the whole actor, on both databases. The same older subjects are in portfolio's
own decisions, scores and scenarios (`decided_by`, `assessor`, `saved_by`): unbounded since portfolio_0011."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, text

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService, running_service
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import CandidateRegistered, InvestmentDecided
from pmo_events.runtime.schema import events
from pmo_portfolio.candidates.views import candidates, decisions

from .api_support import isolated
from .support import submitted
from .test_api_delivery import approved_project
from .test_live_path import _intake_records, _publish, _seeded
from .test_rebuild import rebuild

pytestmark = pytest.mark.integration

#: A subject as long as an e-mail address may be (254): older code took it, and longer ones too.
OLD_ACTOR = "r" * (254 - len("@example.org")) + "@example.org"


async def test_a_proposal_submitted_by_an_older_longer_actor_becomes_a_candidate(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> None:
    definition = isolated(topic_prefix)
    [portfolio_id] = await _seeded(definition, database_url, kafka_bootstrap, tmp_path, boards=1)
    streams: dict[str, list[Event]] = {
        "old": [submitted("old", 1, portfolio_id)],
        "new": [submitted("new", 1, portfolio_id)],
    }
    recorded = [replace(e, actor=OLD_ACTOR) if e.stream_id == "old" else e for e in _intake_records(streams)]
    await _publish(kafka_bootstrap, definition.consumes[0], recorded, tmp_path)
    async with running_service(
        definition, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        status = service.runtime.subscription.status  # type: ignore[union-attr]

        async def settled() -> bool:
            return status.applied + status.dead_lettered >= len(recorded) and status.lag == 0

        await eventually(settled, timeout=60)
        assert status.dead_lettered == 0, status.last_error
        async with service.runtime.db.sessions() as session:
            registered = set((await session.execute(select(candidates.c.candidate_id))).scalars())
            actors = (
                await session.execute(select(events.c.actor).where(events.c.type == CandidateRegistered.type_name()))
            ).scalars()
            assert sorted(actors) == sorted(["rita", OLD_ACTOR])
        assert registered == {"old", "new"}


async def test_a_history_decided_by_an_older_longer_subject_still_rebuilds_whole(service: RunningService) -> None:
    """The decider's subject is kept in the decision (`decided_by`) and, before session 10, was not bounded: the
    event kept it whole while the view row was cut to 200. A rebuild no longer cuts, so `decided_by`
    VARCHAR(200) made such a history's rebuild fail on PostgreSQL; unbounded text since portfolio_0011."""
    await approved_project(service, "p-old-decider")
    async with service.runtime.db.transaction() as session:  # the history as older code left it
        changed = await session.execute(
            text("UPDATE pmo_events SET data = replace(data, :today, :old) WHERE type = :type"),
            {"today": '"bea"', "old": f'"{OLD_ACTOR}"', "type": InvestmentDecided.type_name()},
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
    assert await rebuild(service) >= 1
    async with service.runtime.db.sessions() as session:
        assert list((await session.execute(select(decisions.c.decided_by))).scalars()) == [OLD_ACTOR]

"""Drafts do not leak through reporting (issue 15): over the real service (real broker, real tokens, SQLite and
PostgreSQL), a proposal that was still a draft at `as_of` is its requester's own (and the PMO's), as in intake."""

from __future__ import annotations

import pytest

from pmo_events.contracts import intake

from .support import History, _content
from .test_api import all_logged, publish
from .test_api import reporting as reporting  # the fixture

pytestmark = pytest.mark.integration


def drafts_and_a_submission() -> History:
    """alice drafts p-1 (day 1), edits it (day 2) and submits it (day 10); p-2 stays her draft; both in pf-1."""
    history = History()
    first = _content("p-1", "pf-1", "o-1", "100000")
    history.at(1).add(intake.ProposalDrafted(requester="alice", **first), "p-1")
    history.at(2).add(intake.ProposalEdited(edited_by="alice", changed_fields=("summary",), **first), "p-1")
    history.at(3).add(intake.ProposalDrafted(requester="alice", **_content("p-2", "pf-1", "o-1", "5000")), "p-2")
    history.at(10).add(
        intake.ProposalSubmitted(requester="alice", submission=1, submitted_at=history.now, **first), "p-1"
    )
    return history


def _names(answer) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return [(e["event"], e["data"]["proposal_id"]) for e in answer.json()["items"]]


async def test_someone_elses_draft_has_no_history_in_reporting_until_it_is_submitted(reporting) -> None:
    history = drafts_and_a_submission()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    while_a_draft = {"as_of": history.events[2].time.isoformat()}  # p-2 drafted, p-1 not yet submitted
    async with reporting.client("bob", "requester", "board_member") as bob:
        refused = await bob.get("/history/p-1", params=while_a_draft)
        assert refused.status_code == 404 and refused.json()["type"].endswith("not-found"), refused.text
        assert "alice" not in refused.text and "Initiative" not in refused.text
        assert (await bob.get("/history/p-2")).status_code == 404  # still a draft now
        assert _names(await bob.get("/history/p-1")) == [
            ("ProposalDrafted", "p-1"),
            ("ProposalEdited", "p-1"),
            ("ProposalSubmitted", "p-1"),
        ]  # once submitted, anyone who may read sees it, drafts included
        # The portfolio's history leaves out what the caller may not see, then and now.
        assert _names(await bob.get("/history/pf-1", params=while_a_draft)) == []
        assert [p for _, p in _names(await bob.get("/history/pf-1"))] == ["p-1", "p-1", "p-1"]
    for who in (("alice", "requester"), ("ann", "pmo_analyst"), ("ada", "admin")):
        async with reporting.client(*who) as client:
            assert _names(await client.get("/history/p-2")) == [("ProposalDrafted", "p-2")], who
            then = _names(await client.get("/history/p-1", params=while_a_draft))
            assert then == [("ProposalDrafted", "p-1"), ("ProposalEdited", "p-1")], who
            assert sorted(p for _, p in _names(await client.get("/history/pf-1"))) == ["p-1", "p-1", "p-1", "p-2"]
    async with reporting.client("vera", "viewer") as viewer:
        assert (await viewer.get("/history/p-2", params={"as_of": "2020-01-01T00:00:00Z"})).status_code == 200
        assert (await viewer.get("/history/p-2")).status_code == 404


async def test_the_consoles_events_of_the_day_leave_out_someone_elses_draft(reporting) -> None:
    history = drafts_and_a_submission()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    p2_drafted = {"as_of": history.events[2].time.isoformat()}  # the only event of that day: p-2 drafted
    async with reporting.client("bob", "viewer") as bob, reporting.client("alice", "requester") as alice:
        assert "ProposalDrafted" not in (await bob.get("/console", params=p2_drafted)).text
        assert "ProposalDrafted" in (await alice.get("/console", params=p2_drafted)).text

"""Proposal rules as given events / when a command / then events (pure, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import (
    Benefit,
    BusinessCase,
    ObjectiveContribution,
    PeriodAmount,
    RoleEstimate,
    Timeline,
)
from pmo_events.contracts.intake import (
    ProposalApproved,
    ProposalChangesRequested,
    ProposalDecisionEvent,
    ProposalDeferred,
    ProposalDrafted,
    ProposalEdited,
    ProposalRejected,
    ProposalSubmitted,
    ProposalUnderReview,
    ProposalWithdrawn,
)
from pmo_intake.application.commands import PROPOSAL
from pmo_intake.domain import lifecycle
from pmo_intake.domain.completeness import ObjectiveFacts, PortfolioFacts, ProgrammeFacts, SubmissionContext
from pmo_intake.domain.errors import IncompleteProposal, InvalidProposal, NotAllowed, ProposalNotFound, RuleViolation
from pmo_intake.domain.lifecycle import Actor, BoardDecision, DraftProposal
from pmo_intake.domain.proposal import Proposal

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PID = "11111111-1111-4111-8111-111111111111"
ALICE = Actor("alice", frozenset({"requester"}))
CONTEXT = SubmissionContext(
    portfolio=PortfolioFacts("p-1", frozenset({"FY2027", "FY2028"}), "EUR"),
    objectives={"o-1": ObjectiveFacts("o-1", "Grow online"), "o-old": ObjectiveFacts("o-old", "Old", retired=True)},
)


def complete_content(**overrides: object) -> dict[str, Any]:
    content: dict[str, object] = {
        "title": "New CRM",
        "portfolio_id": "p-1",
        "summary": "Replace the CRM",
        "sponsor": "carol",
        "objective_contributions": (ObjectiveContribution(objective_id="o-1", contribution=4),),
        "business_case": BusinessCase(
            currency="EUR",
            costs=(PeriodAmount(fiscal_period="FY2027", amount=Decimal("120000.00")),),
            benefits=(
                Benefit(
                    description="Faster sales",
                    kind="financial",
                    measure="revenue",
                    target_value="+5%",
                    realise_by=date(2027, 12, 31),
                    value_amount=Decimal("300000"),
                ),
            ),
        ),
        "timeline": Timeline(start=date(2027, 1, 1), end=date(2027, 12, 31)),
        "resource_estimate": (
            RoleEstimate(role="developer", fte=Decimal("0.5"), start=date(2027, 1, 1), end=date(2027, 6, 30)),
        ),
        "risk_level": "medium",
    }
    content.update(overrides)
    return content


def drafted(**overrides: object) -> ProposalDrafted:
    return ProposalDrafted(proposal_id=PID, requester="alice", **complete_content(**overrides))


def submitted(submission: int = 1) -> ProposalSubmitted:
    return ProposalSubmitted(
        proposal_id=PID, requester="alice", submission=submission, submitted_at=NOW, **complete_content()
    )


def decided(kind: type[ProposalDecisionEvent]) -> Event:
    return kind(
        proposal_id=PID, portfolio_id="p-1", decided_by="bob", decided_at=NOW, rationale="why", decision_event_id="d"
    )


def given(*events: Event) -> Proposal:
    """The proposal after `events`."""
    return testing.given(PROPOSAL, *events, stream_id=PID)


def decision(outcome: str) -> BoardDecision:
    return BoardDecision(outcome, "the board's reasons", "bob", NOW, "decision-1")


# --- draft ------------------------------------------------------------------------------------


def test_a_draft_needs_only_a_title_and_a_portfolio() -> None:
    events = lifecycle.draft(DraftProposal(PID, "alice", "New CRM", "p-1"))
    assert [type(e) for e in events] == [ProposalDrafted]
    state = given(*events)
    assert (state.status, state.requester, state.title, state.submission) == ("draft", "alice", "New CRM", 0)


def test_a_draft_out_of_bounds_is_refused_naming_every_field() -> None:
    too_many = BusinessCase(benefits=tuple(Benefit(description="b", kind="non_financial") for _ in range(51)))
    command = DraftProposal(PID, "alice", "x" * 201, "p-1", summary="s" * 10_001, business_case=too_many)
    with pytest.raises(InvalidProposal) as refused:
        lifecycle.draft(command)
    assert {f.field for f in refused.value.findings} == {"title", "summary", "business_case.benefits"}


# --- edit -------------------------------------------------------------------------------------


def test_editing_a_draft_records_the_whole_content_and_what_changed() -> None:
    events = lifecycle.edit(given(drafted()), {"title": "Newer CRM", "summary": "Replace the CRM"}, actor=ALICE)
    assert len(events) == 1 and isinstance(events[0], ProposalEdited)
    assert events[0].changed_fields == ("title",)
    assert given(drafted(), *events).title == "Newer CRM"
    assert events[0].sponsor == "carol"


def test_an_edit_that_changes_nothing_records_nothing() -> None:
    assert lifecycle.edit(given(drafted()), {"title": "New CRM"}, actor=ALICE) == []


@pytest.mark.parametrize(
    "history",
    [
        (submitted(),),
        (submitted(), ProposalUnderReview(proposal_id=PID, portfolio_id="p-1", submission=1, assessor="b",
                                          scored_at=NOW, scoring_event_id="s")),
        (submitted(), decided(ProposalApproved)),
        (submitted(), decided(ProposalRejected)),
    ],
)  # fmt: skip
def test_submitted_reviewed_or_decided_proposals_cannot_be_edited(history: tuple[Event, ...]) -> None:
    with pytest.raises(RuleViolation):
        lifecycle.edit(given(drafted(), *history), {"title": "Other"}, actor=ALICE)


@pytest.mark.parametrize("outcome", [ProposalChangesRequested, ProposalDeferred])
def test_changes_requested_and_deferred_proposals_are_editable_again(outcome: type[ProposalDecisionEvent]) -> None:
    events = lifecycle.edit(given(drafted(), submitted(), decided(outcome)), {"summary": "Better"}, actor=ALICE)
    assert given(drafted(), submitted(), decided(outcome), *events).summary == "Better"


def test_the_portfolio_changes_only_while_a_draft() -> None:
    assert lifecycle.edit(given(drafted()), {"portfolio_id": "p-2"}, actor=ALICE)
    with pytest.raises(RuleViolation):
        lifecycle.edit(given(drafted(), submitted(), decided(ProposalDeferred)), {"portfolio_id": "p-2"}, actor=ALICE)


def test_only_the_requester_an_analyst_or_an_admin_may_edit() -> None:
    state = given(drafted())
    with pytest.raises(ProposalNotFound):  # someone else's draft: not even its existence shows
        lifecycle.edit(state, {"title": "Mine now"}, actor=Actor("mallory", frozenset({"requester"})))
    submitted = given(drafted(), *lifecycle.submit(state, CONTEXT, actor=ALICE, now=NOW))
    with pytest.raises(NotAllowed):  # submitted: everyone may see it, still only its requester withdraws it
        lifecycle.withdraw(submitted, reason="not mine", actor=Actor("mallory", frozenset({"requester"})), now=NOW)
    for role in ("pmo_analyst", "admin"):
        assert lifecycle.edit(state, {"title": "Tidied"}, actor=Actor("pat", frozenset({role})))


def test_a_draft_is_seen_by_its_requester_and_the_pmo_a_submitted_proposal_by_every_reader() -> None:
    draft = given(drafted())
    readers = [Actor("mallory", frozenset({role})) for role in ("viewer", "requester", "board_member")]
    assert lifecycle.may_see(draft, ALICE)
    assert not any(lifecycle.may_see(draft, reader) for reader in readers)
    assert all(lifecycle.may_see(draft, Actor("pat", frozenset({role}))) for role in ("pmo_analyst", "admin"))
    submitted = given(drafted(), *lifecycle.submit(draft, CONTEXT, actor=ALICE, now=NOW))
    assert all(lifecycle.may_see(submitted, reader) for reader in readers)


def test_an_edit_out_of_bounds_is_refused() -> None:
    with pytest.raises(InvalidProposal) as refused:
        lifecycle.edit(given(drafted()), {"dependencies": tuple(f"d{i}" for i in range(51))}, actor=ALICE)
    assert [f.field for f in refused.value.findings] == ["dependencies"]


# --- submit -----------------------------------------------------------------------------------


def test_a_complete_proposal_is_submitted_as_submission_one() -> None:
    events = lifecycle.submit(given(drafted()), CONTEXT, actor=ALICE, now=NOW)
    assert len(events) == 1 and isinstance(events[0], ProposalSubmitted)
    assert (events[0].submission, events[0].submitted_at, events[0].possible_duplicates) == (1, NOW, ())
    assert given(drafted(), *events).status == "submitted"


def test_submit_lists_every_problem_at_once_with_its_field_path() -> None:
    thin = ProposalDrafted(proposal_id=PID, requester="alice", title="Thin", portfolio_id="nowhere")
    with pytest.raises(IncompleteProposal) as refused:
        lifecycle.submit(given(thin), SubmissionContext(portfolio=None), actor=ALICE, now=NOW)
    assert {f.field for f in refused.value.findings} == {
        "summary", "sponsor", "portfolio_id", "objective_contributions", "business_case.currency",
        "business_case.costs", "business_case.benefits", "timeline",
    }  # fmt: skip


def test_submit_checks_amounts_dates_fte_objectives_and_periods() -> None:
    content = complete_content(
        objective_contributions=(
            ObjectiveContribution(objective_id="o-unknown", contribution=3),
            ObjectiveContribution(objective_id="o-old", contribution=2),
        ),
        business_case=BusinessCase(
            currency="USD",
            costs=(
                PeriodAmount(fiscal_period="FY2027", amount=Decimal("0")),
                PeriodAmount(fiscal_period="FY2031", amount=Decimal("-5")),
            ),
            benefits=(
                Benefit(description="b", kind="financial", measure="m", target_value="t", realise_by=date(2026, 1, 1)),
            ),
        ),
        timeline=Timeline(start=date(2027, 1, 1), end=date(2026, 12, 31)),
        resource_estimate=(
            RoleEstimate(role="dev", fte=Decimal("1.5"), start=date(2027, 2, 1), end=date(2027, 1, 1)),
            RoleEstimate(role="qa", fte=Decimal("0"), start=date(2027, 1, 1), end=date(2027, 2, 1)),
        ),
        dependencies=("not-a-proposal", PID),
    )
    state = given(ProposalDrafted(proposal_id=PID, requester="alice", **content))
    with pytest.raises(IncompleteProposal) as refused:
        lifecycle.submit(state, CONTEXT, actor=ALICE, now=NOW)
    assert {f.field for f in refused.value.findings} == {
        "objective_contributions.0.objective_id", "objective_contributions.1.objective_id",
        "business_case.currency", "business_case.costs.0.amount", "business_case.costs.1.amount",
        "business_case.costs.1.fiscal_period", "business_case.benefits.0.realise_by",
        "business_case.benefits.0.value_amount", "timeline.end", "resource_estimate.0.fte",
        "resource_estimate.0.end", "resource_estimate.1.fte", "dependencies.0", "dependencies.1",
    }  # fmt: skip
    retired = next(f for f in refused.value.findings if f.field == "objective_contributions.1.objective_id")
    assert "retired" in retired.message


def test_a_contribution_to_another_portfolios_objective_is_refused_and_a_shared_one_is_fine() -> None:
    objectives = {
        "o-theirs": ObjectiveFacts("o-theirs", "Their growth", portfolio_ids=("p-2",)),
        "o-shared": ObjectiveFacts("o-shared", "Shared", portfolio_ids=("p-2", "p-1")),
    }
    context = SubmissionContext(portfolio=CONTEXT.portfolio, objectives=objectives)
    theirs = (ObjectiveContribution(objective_id="o-theirs", contribution=5),)
    with pytest.raises(IncompleteProposal) as refused:
        lifecycle.submit(given(drafted(objective_contributions=theirs)), context, actor=ALICE, now=NOW)
    [finding] = refused.value.findings
    assert finding.field == "objective_contributions.0.objective_id" and "another portfolio" in finding.message
    shared = (ObjectiveContribution(objective_id="o-shared", contribution=5),)
    assert lifecycle.submit(given(drafted(objective_contributions=shared)), context, actor=ALICE, now=NOW)


def test_a_proposal_asks_to_join_a_live_programme_of_its_own_portfolio() -> None:
    ours = ProgrammeFacts("pg-1", "p-1", "Digital journey")
    assert lifecycle.submit(given(drafted(programme_id="pg-1")), replace(CONTEXT, programme=ours), actor=ALICE, now=NOW)
    for programme, says in (
        (None, "does not exist"),
        (ProgrammeFacts("pg-1", "p-2", "Theirs"), "another portfolio's"),
        (replace(ours, closed=True), "closed"),
    ):
        with pytest.raises(IncompleteProposal) as refused:
            context = replace(CONTEXT, programme=programme)
            lifecycle.submit(given(drafted(programme_id="pg-1")), context, actor=ALICE, now=NOW)
        [finding] = refused.value.findings
        assert finding.field == "programme_id" and says in finding.message


def test_dependencies_on_known_proposals_are_fine() -> None:
    state = given(drafted(dependencies=("22222222-2222-4222-8222-222222222222",)))
    context = SubmissionContext(
        **{**CONTEXT.__dict__, "known_proposals": frozenset({"22222222-2222-4222-8222-222222222222"})}
    )
    assert lifecycle.submit(state, context, actor=ALICE, now=NOW)


def test_a_same_titled_open_proposal_is_a_warning_not_a_refusal() -> None:
    siblings = (("other-1", "  new   crm "), ("other-2", "Something else"), (PID, "New CRM"))
    context = SubmissionContext(**{**CONTEXT.__dict__, "open_siblings": siblings})
    events = lifecycle.submit(given(drafted()), context, actor=ALICE, now=NOW)
    assert isinstance(events[0], ProposalSubmitted) and events[0].possible_duplicates == ("other-1",)
    assert given(drafted(), *events).possible_duplicates == ("other-1",)


@pytest.mark.parametrize("outcome", [ProposalChangesRequested, ProposalDeferred])
def test_resubmission_increments_the_submission_counter(outcome: type[ProposalDecisionEvent]) -> None:
    events = lifecycle.submit(given(drafted(), submitted(1), decided(outcome)), CONTEXT, actor=ALICE, now=NOW)
    assert isinstance(events[0], ProposalSubmitted) and events[0].submission == 2
    assert given(drafted(), submitted(1), decided(outcome), *events).status == "submitted"


@pytest.mark.parametrize("history", [(submitted(),), (submitted(), decided(ProposalApproved))])
def test_a_submitted_or_decided_proposal_cannot_be_submitted_again(history: tuple[Event, ...]) -> None:
    with pytest.raises(RuleViolation):
        lifecycle.submit(given(drafted(), *history), CONTEXT, actor=ALICE, now=NOW)


def test_only_the_requester_an_analyst_or_an_admin_may_submit() -> None:
    with pytest.raises(ProposalNotFound):  # someone else's draft
        lifecycle.submit(given(drafted()), CONTEXT, actor=Actor("bob", frozenset({"board_member"})), now=NOW)


# --- withdraw ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [(), (submitted(),), (submitted(), decided(ProposalDeferred)), (submitted(), decided(ProposalChangesRequested))],
)
def test_an_undecided_proposal_can_be_withdrawn_with_a_reason(history: tuple[Event, ...]) -> None:
    events = lifecycle.withdraw(given(drafted(), *history), reason="no longer needed", actor=ALICE, now=NOW)
    assert isinstance(events[0], ProposalWithdrawn)
    state = given(drafted(), *history, *events)
    assert state.status == "withdrawn"
    assert state.withdrawal is not None and state.withdrawal.reason == "no longer needed"


@pytest.mark.parametrize("final", [ProposalApproved, ProposalRejected])
def test_a_decided_proposal_cannot_be_withdrawn(final: type[ProposalDecisionEvent]) -> None:
    with pytest.raises(RuleViolation):
        lifecycle.withdraw(given(drafted(), submitted(), decided(final)), reason="r", actor=ALICE, now=NOW)


def test_withdrawing_twice_is_refused_and_a_blank_reason_too() -> None:
    withdrawn = ProposalWithdrawn(proposal_id=PID, portfolio_id="p-1", withdrawn_by="alice", reason="r")
    with pytest.raises(RuleViolation):
        lifecycle.withdraw(given(drafted(), withdrawn), reason="again", actor=ALICE, now=NOW)
    with pytest.raises(InvalidProposal):
        lifecycle.withdraw(given(drafted()), reason="  ", actor=ALICE, now=NOW)


# --- the board's moves, mirrored ----------------------------------------------------------------


def test_the_first_score_puts_a_submitted_proposal_under_review_and_later_ones_do_nothing() -> None:
    events = lifecycle.start_review(given(drafted(), submitted()), assessor="bob", scored_at=NOW, scoring_event_id="s1")
    assert isinstance(events[0], ProposalUnderReview)
    state = given(drafted(), submitted(), *events)
    assert (state.status, state.under_review_since) == ("under_review", NOW)
    assert lifecycle.start_review(state, assessor="eve", scored_at=NOW, scoring_event_id="s2") == []
    assert lifecycle.start_review(given(drafted()), assessor="eve", scored_at=NOW, scoring_event_id="s3") == []


def test_a_score_for_an_earlier_submission_does_not_put_the_resubmission_under_review() -> None:
    state = given(drafted(), submitted(1), decided(ProposalChangesRequested), submitted(2))
    assert lifecycle.start_review(state, assessor="b", scored_at=NOW, scoring_event_id="s", submission=1) == []
    assert lifecycle.start_review(state, assessor="b", scored_at=NOW, scoring_event_id="s", submission=2)


@pytest.mark.parametrize(
    ("outcome", "event_type", "status"),
    [
        ("approve", ProposalApproved, "approved"),
        ("reject", ProposalRejected, "rejected"),
        ("defer", ProposalDeferred, "deferred"),
        ("request_changes", ProposalChangesRequested, "changes_requested"),
    ],
)
def test_the_boards_decision_is_mirrored_with_its_rationale(outcome: str, event_type: type[Event], status: str) -> None:
    for history in ((submitted(),), (submitted(), *lifecycle.start_review(given(drafted(), submitted()),
                                                                             assessor="b", scored_at=NOW,
                                                                             scoring_event_id="s"))):  # fmt: skip
        events = lifecycle.record_decision(given(drafted(), *history), decision(outcome))
        assert [type(e) for e in events] == [event_type]
        state = given(drafted(), *history, *events)
        assert state.status == status
        assert state.decision is not None
        assert (state.decision.rationale, state.decision.decided_by) == ("the board's reasons", "bob")


def test_a_decision_for_a_withdrawn_or_already_decided_proposal_changes_nothing() -> None:
    withdrawn = ProposalWithdrawn(proposal_id=PID, portfolio_id="p-1", withdrawn_by="alice", reason="r")
    assert lifecycle.record_decision(given(drafted(), submitted(), withdrawn), decision("approve")) == []
    assert lifecycle.record_decision(given(drafted(), submitted(), decided(ProposalApproved)), decision("reject")) == []


def test_a_decision_read_again_after_a_resubmission_is_not_mirrored_twice() -> None:
    first = lifecycle.record_decision(given(drafted(), submitted(1)), decision("request_changes"))
    resubmitted = given(drafted(), submitted(1), *first, submitted(2))
    assert lifecycle.record_decision(resubmitted, decision("request_changes")) == []
    later = BoardDecision("approve", "ok now", "bob", NOW, "decision-2")
    assert [type(e) for e in lifecycle.record_decision(resubmitted, later)] == [ProposalApproved]


def test_an_unknown_outcome_is_a_rule_violation() -> None:
    with pytest.raises(RuleViolation):
        lifecycle.record_decision(given(drafted(), submitted()), decision("postpone"))

"""Candidates, ranking and the board's decisions: given events, when a command, then events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_devstack.testing import only
from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    CandidateRegistered,
    DelegatedAuthority,
    InvestmentDecided,
    MotionCarried,
)
from pmo_events.runtime import fold
from pmo_portfolio.candidates.domain import registration
from pmo_portfolio.candidates.domain.assessments import scorecard
from pmo_portfolio.candidates.domain.decisions import DecideInvestment, carried, decide, motion_terms
from pmo_portfolio.candidates.domain.ranking import rank
from pmo_portfolio.governance import MOTION
from pmo_portfolio.governance.domain import motions
from pmo_portfolio.shared.errors import (
    ConflictOfInterest,
    EnvelopeExceeded,
    InvalidCommand,
    NotBoardMember,
    NotFound,
    RuleViolation,
)

from .support import NOW, PORTFOLIO_ID, created, given, model_set, money, registered, scored, submitted

WEIGHTS = {"o-1": Decimal(3), "o-2": Decimal(1)}


def _decide(outcome: str = "approve", by: str = "bea", candidate: str = "c-1", **extra) -> DecideInvestment:
    fields = {"approved_budget": money(("2027", "400"))} if outcome == "approve" else {}
    fields.update(extra)
    return DecideInvestment(candidate, outcome, "fits the strategy", by, NOW, **fields)  # type: ignore[arg-type]


def test_a_submitted_proposal_becomes_a_candidate_and_a_resubmission_updates_it() -> None:
    [first] = registration.register_candidate(given(created()), submitted("c-1"))
    assert isinstance(first, CandidateRegistered)
    assert (first.candidate_id, first.proposal_id, first.submission) == ("c-1", "c-1", 1)
    assert registration.register_candidate(given(created(), first), submitted("c-1")) == []  # seen before
    [second] = registration.register_candidate(given(created(), first), submitted("c-1", submission=2))
    state = given(created(), first, second)
    assert state.candidates["c-1"].submission == 2


def test_a_proposal_for_an_unknown_portfolio_is_not_found() -> None:
    with pytest.raises(NotFound):
        registration.register_candidate(given(), submitted("c-1"))


def test_ranking_orders_by_weighted_score_with_alignment_cost_and_value_per_cost() -> None:
    history = (
        created(),
        model_set(("value", "0.5"), ("risk", "0.5")),
        registered("c-1", costs=(("2027", "200"),), contributions=(("o-1", 5),)),
        registered("c-2", costs=(("2027", "100"), ("2028", "100")), contributions=(("o-2", 5), ("o-old", 5))),
        registered("c-3"),
        scored("c-1", "bea", value=3, risk=3),
        scored("c-2", "bea", value=5, risk=4),
    )
    ranking = rank(given(*history), scorecard(history, WEIGHTS))
    assert [(r.candidate_id, r.rank) for r in ranking] == [("c-2", 1), ("c-1", 2), ("c-3", None)]
    best, second, unscored = ranking
    assert best.weighted_score == Decimal("4.5")
    assert best.total_cost == Decimal("200")
    assert best.value_per_cost == Decimal("0.0225")
    # Σ weight * contribution / (Σ weights * 5): retired or unknown objectives count for nothing.
    assert best.strategic_alignment == Decimal("0.25")  # 1 * 5 / (4 * 5)
    assert second.strategic_alignment == Decimal("0.75")  # 3 * 5 / (4 * 5)
    assert unscored.weighted_score is None and unscored.value_per_cost is None


def test_ties_on_weighted_score_are_broken_by_strategic_alignment() -> None:
    history = (
        created(),
        model_set(("value", "1")),
        registered("c-1", contributions=(("o-2", 5),)),
        registered("c-2", contributions=(("o-1", 5),)),
        scored("c-1", "bea", value=4),
        scored("c-2", "bea", value=4),
    )
    assert [r.candidate_id for r in rank(given(*history), scorecard(history, WEIGHTS))] == ["c-2", "c-1"]


#: The board's portfolio manager (bea, who is also on the board) decides alone below 100000.
DELEGATED = BoardCharterSet(
    portfolio_id=PORTFOLIO_ID,
    charter=BoardCharter(
        version=2,
        members=("bea", "bob"),
        chair="bea",
        quorum=2,
        rule="simple_majority",
        delegated_authority=DelegatedAuthority(portfolio_manager="bea", up_to=Decimal(100000)),
    ),
    set_by="olga",
    set_at=NOW,
)
SCORED = (
    created(budget=(("2027", "1000"), ("2028", "500"))),
    DELEGATED,
    model_set(("value", "1")),
    registered("c-1"),
    registered("c-2"),
    scored("c-1", "bea", value=4),
    scored("c-1", "bob", value=5),
    scored("c-2", "bea", value=5),
)
#: What the board has in front of it after SCORED: the scores and today's objective weights.
CARD = scorecard(SCORED, WEIGHTS)


def test_an_approval_records_decider_rationale_and_the_evidence_in_front_of_the_board() -> None:
    [event] = decide(given(*SCORED), _decide(), CARD)
    assert isinstance(event, InvestmentDecided)
    assert (event.outcome, event.decided_by, event.rationale, event.decided_at) == (
        "approve",
        "bea",
        "fits the strategy",
        NOW,
    )
    assert event.approved_budget == money(("2027", "400"))
    evidence = event.evidence
    assert (evidence.weighted_score, evidence.rank, evidence.ranked_candidates) == (Decimal("4.5"), 2, 2)
    assert evidence.criterion_scores == {"value": Decimal("4.5")}
    assert [(a.assessor, a.scores) for a in evidence.assessments] == [("bea", {"value": 4}), ("bob", {"value": 5})]
    assert [(p.fiscal_period, p.remaining) for p in evidence.remaining_envelope] == [
        ("2027", Decimal("1000")),
        ("2028", Decimal("500")),
    ]
    state = given(*SCORED, event)
    assert state.candidates["c-1"].status == "approved"
    assert state.committed == {"2027": Decimal("400")}


def test_only_a_board_member_of_this_portfolio_decides() -> None:
    with pytest.raises(NotBoardMember):
        decide(given(*SCORED), _decide(by="admin-alice"), CARD)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (DecideInvestment("c-1", "reject", "   ", "bea", NOW), "rationale"),
        (DecideInvestment("c-1", "defer", "later", "bea", NOW), "review_on"),
        (DecideInvestment("c-1", "defer", "later", "bea", NOW, review_on=NOW.date().isoformat()), "review_on"),
        (DecideInvestment("c-1", "defer", "later", "bea", NOW, review_on="2026-01-31"), "review_on"),
        (DecideInvestment("c-1", "approve", "yes", "bea", NOW), "approved_budget"),
        (DecideInvestment("c-1", "approve", "yes", "bea", NOW, money(("2027", "0"))), "approved_budget.0.amount"),
        (DecideInvestment("c-1", "reject", "no", "bea", NOW, money(("2027", "5"))), "approved_budget"),
    ],
)
def test_a_decision_without_what_it_needs_names_the_field(command, field) -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide(given(*SCORED), command, CARD)
    assert refused.value.field == field


def test_an_approval_never_takes_a_period_above_its_envelope() -> None:
    more = _decide(approved_budget=money(("2027", "700"), ("2028", "100")), exceeds_request_reason="scope grew")
    first = decide(given(*SCORED), more, CARD)
    with pytest.raises(EnvelopeExceeded) as refused:
        decide(given(*SCORED, *first), _decide(candidate="c-2", approved_budget=money(("2027", "301"))), CARD)
    assert (refused.value.fiscal_period, refused.value.remaining, refused.value.asked) == (
        "2027",
        Decimal("300"),
        Decimal("301"),
    )
    assert str(refused.value) == "2027: EUR 301.00 asked but only EUR 300.00 remains in the envelope"
    exact = decide(given(*SCORED, *first), _decide(candidate="c-2", approved_budget=money(("2027", "300"))), CARD)
    assert exact


def test_a_period_without_an_envelope_has_nothing_to_give() -> None:
    with pytest.raises(EnvelopeExceeded) as refused:
        decide(given(*SCORED), _decide(approved_budget=money(("2030", "1"))), CARD)
    assert (refused.value.fiscal_period, refused.value.remaining) == ("2030", Decimal("0"))


def test_a_decided_candidate_is_not_awaiting_a_decision_but_a_deferred_one_is() -> None:
    approved = decide(given(*SCORED), _decide(), CARD)
    with pytest.raises(RuleViolation, match="not awaiting"):
        decide(given(*SCORED, *approved), _decide("reject", by="bob"), CARD)
    deferred = decide(given(*SCORED), _decide("defer", review_on="2027-03-01"), CARD)
    assert isinstance(deferred[0], InvestmentDecided) and deferred[0].review_on == "2027-03-01"
    assert given(*SCORED, *deferred).candidates["c-1"].status == "deferred"
    assert decide(given(*SCORED, *deferred), _decide("reject"), CARD)


def test_changes_requested_waits_for_a_resubmission_which_makes_it_decidable_again() -> None:
    returned = decide(given(*SCORED), _decide("request_changes"), CARD)
    state = given(*SCORED, *returned)
    assert state.candidates["c-1"].status == "changes_requested"
    with pytest.raises(RuleViolation):
        decide(state, _decide("reject"), CARD)
    resubmitted = registration.register_candidate(state, submitted("c-1", submission=2))
    assert given(*SCORED, *returned, *resubmitted).candidates["c-1"].status == "awaiting_decision"


def test_an_approved_candidate_ignores_a_later_submission() -> None:
    approved = decide(given(*SCORED), _decide(), CARD)
    assert registration.register_candidate(given(*SCORED, *approved), submitted("c-1", submission=2)) == []


def test_an_unknown_candidate_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide(given(*SCORED), _decide(candidate="c-9"), CARD)


def test_approving_more_than_was_asked_needs_a_stated_reason_recorded_in_the_decision() -> None:
    above = money(("2027", "300"), ("2028", "101"))  # 401 in all against the 400 requested
    with pytest.raises(InvalidCommand) as refused:
        decide(given(*SCORED), _decide(approved_budget=above), CARD)
    assert refused.value.field == "exceeds_request_reason"
    assert refused.value.message.startswith("EUR 401.00 approved is more than the EUR 400.00 requested")
    with pytest.raises(InvalidCommand):
        decide(given(*SCORED), _decide(approved_budget=above, exceeds_request_reason="  "), CARD)
    reasoned = _decide(approved_budget=above, exceeds_request_reason="contingency")
    assert only(InvestmentDecided, decide(given(*SCORED), reasoned, CARD)).exceeds_request_reason == "contingency"
    rephased = _decide(approved_budget=money(("2028", "400")))  # moved to another period, not more
    assert only(InvestmentDecided, decide(given(*SCORED), rephased, CARD)).exceeds_request_reason is None


def test_a_reason_to_exceed_the_request_is_refused_where_nothing_exceeds_it() -> None:
    for command in (_decide(exceeds_request_reason="why not"), _decide("reject", exceeds_request_reason="why not")):
        with pytest.raises(InvalidCommand) as refused:
            decide(given(*SCORED), command, CARD)
        assert refused.value.field == "exceeds_request_reason"


# --- the ladder and separation of duties --------------------------------------------------------------------


def _charter(up_to: str, manager: str = "bea") -> BoardCharterSet:
    delegation = DelegatedAuthority(portfolio_manager=manager, up_to=Decimal(up_to))
    return DELEGATED.model_copy(
        update={"charter": DELEGATED.charter.model_copy(update={"delegated_authority": delegation})}
    )


def test_below_the_threshold_the_portfolio_manager_decides_alone_recorded_as_delegated() -> None:
    [event] = decide(given(*SCORED, _charter("401")), _decide(), CARD)
    assert isinstance(event, InvestmentDecided)
    assert (event.authority, event.motion_id, event.evidence.charter_version) == ("delegated", None, 2)


def test_at_or_above_the_threshold_the_board_decides_by_a_motion() -> None:
    state = given(*SCORED, _charter("400"))
    with pytest.raises(RuleViolation, match="the board decides it by a motion"):
        decide(state, _decide(), CARD)  # 400 is not below 400
    terms = motion_terms(state, _decide(), CARD)
    assert (terms.kind, terms.subject_id, terms.outcome, terms.amount) == ("investment", "c-1", "approve", Decimal(400))
    # The requester and the sponsor are conflicted on the motion from the start.
    assert {(c.subject, c.reason) for c in terms.conflicts} == {("rita", "requester")}
    # Another board member without delegation, and a non-member, are sent to the board too, or refused.
    with pytest.raises(RuleViolation, match="by a motion"):
        decide(state, _decide(by="bob"), CARD)
    with pytest.raises(NotBoardMember):
        motion_terms(state, _decide(by="zed"), CARD)


def test_nobody_decides_on_what_they_requested_or_sponsor() -> None:
    sponsored = registered("c-1").model_copy(update={"requester": "bob", "sponsor": "bea"})
    state = given(*SCORED, sponsored)
    with pytest.raises(ConflictOfInterest, match=r"conflict of interest \(sponsor\)"):
        decide(state, _decide(), CARD)  # bea is the delegate, but she sponsors it
    with pytest.raises(ConflictOfInterest, match=r"\(requester\)"):
        motion_terms(state, _decide(by="bob"), CARD)


def test_approving_an_unscored_candidate_needs_an_override_reason() -> None:
    state = given(*SCORED, registered("c-3"))
    with pytest.raises(InvalidCommand) as refused:
        decide(state, _decide(candidate="c-3"), CARD)
    assert refused.value.field == "override_reason"
    assert decide(state, _decide("reject", candidate="c-3"), CARD)  # only an approval needs the reason
    [event] = decide(state, _decide(candidate="c-3", override_reason="statutory: no scoring applies"), CARD)
    assert isinstance(event, InvestmentDecided)
    assert event.evidence.weighted_score is None and event.override_reason == "statutory: no scoring applies"


def test_a_carried_motion_records_the_decision_with_every_vote() -> None:
    state = given(*SCORED, _charter("1"))
    terms = motion_terms(state, _decide(), CARD)
    assert state.charter is not None
    motion = testing.given(
        MOTION, *motions.propose(state.charter, PORTFOLIO_ID, "m-1", terms, "bea", NOW), stream_id="m-1"
    )
    events = motions.cast_vote(motion, "bea", "for", "strong case", NOW)
    motion = fold(MOTION, motion, events)
    [cast, carried_event] = motions.cast_vote(motion, "bob", "for", "agreed", NOW)
    assert isinstance(carried_event, MotionCarried)
    [decision] = carried(state, fold(MOTION, motion, [cast, carried_event]), carried_event, CARD)
    assert isinstance(decision, InvestmentDecided)
    assert (decision.authority, decision.motion_id, decision.decided_by) == ("board", "m-1", "bea")
    assert [(v.voter, v.vote) for v in decision.evidence.votes] == [("bea", "for"), ("bob", "for")]
    assert decision.evidence.tally is not None and decision.evidence.tally.votes_for == 2
    # The decision is checked again as things stand when the motion carries.
    with pytest.raises(RuleViolation, match="not awaiting"):
        carried(given(*SCORED, _charter("1"), decision), motion, carried_event, CARD)

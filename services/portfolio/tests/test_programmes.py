"""Programmes: given events, when a command, then events (ring-fence, tranche gates, joining)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    ProgrammeCreated,
    ProgrammeRag,
    ProjectJoinedProgramme,
    TranchePlanned,
    TrancheReviewed,
)
from pmo_events.figures.earned_value import from_amounts, rolled_up
from pmo_portfolio.programmes import domain as rules
from pmo_portfolio.programmes.commands import PROGRAMME
from pmo_portfolio.programmes.domain import Joining, Programme, ProgrammeDefinition, TranchePlan
from pmo_portfolio.shared.errors import (
    EnvelopeExceeded,
    InvalidCommand,
    NotAuthorised,
    NotFound,
    RingFenceExceeded,
    RuleViolation,
)

from .support import NOW, PORTFOLIO_ID, created, money
from .support import given as portfolio_given

DEFINITION = ProgrammeDefinition(
    name="Digital journey",
    vision="Every customer online",
    senior_responsible_owner="sara",
    programme_manager="paul",
    objective_ids=("o-1",),
    ring_fence=money(("2027", "600")),
)


def given(*events: Event) -> Programme:
    return testing.given(PROGRAMME, *events, stream_id="pg-1")


def programme_created(ring_fence: tuple[tuple[str, str], ...] = (("2027", "600"),)) -> ProgrammeCreated:
    return ProgrammeCreated(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        name="Digital journey",
        vision="Every customer online",
        senior_responsible_owner="sara",
        programme_manager="paul",
        objective_ids=("o-1",),
        ring_fence=money(*ring_fence),
        created_by="ann",
        created_at=NOW,
    )


def joined(project_id: str, amount: str = "200") -> ProjectJoinedProgramme:
    return ProjectJoinedProgramme(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        project_id=project_id,
        budget=money(("2027", amount)),
        via="decision",
        rationale="shared outcome",
        decided_by="paul",
        decided_at=NOW,
    )


def tranche(tranche_id: str, sequence: int, start: date, end: date, *projects: str) -> TranchePlanned:
    return TranchePlanned(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        tranche_id=tranche_id,
        name=f"Tranche {sequence}",
        sequence=sequence,
        start=start,
        end=end,
        project_ids=projects,
        planned_by="paul",
        planned_at=NOW,
    )


def reviewed(tranche_id: str, decision: str) -> TrancheReviewed:
    return TrancheReviewed(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        tranche_id=tranche_id,
        decision=decision,  # type: ignore[arg-type]
        rationale="board agreed",
        decided_by="sara",
        decided_at=NOW,
    )


def project(project_id: str = "p-1", amount: str = "200", **changes: object) -> Joining:
    fields: dict[str, object] = {
        "project_id": project_id,
        "portfolio_id": PORTFOLIO_ID,
        "live": True,
        "budget": money(("2027", amount)),
        "current_programme": None,
    }
    return Joining(**{**fields, **changes})  # type: ignore[arg-type]


def create(held: dict[str, Decimal] | None = None, definition: ProgrammeDefinition = DEFINITION) -> list[Event]:
    return rules.create(
        "pg-1",
        portfolio_given(created(budget=(("2027", "1000"),))),
        definition,
        held_by_others=held or {},
        active_objectives={"o-1"},
        created_by="ann",
        created_at=NOW,
    )


# --- the ring-fence is a share of the envelope --------------------------------------------------------


def test_a_programme_ring_fences_a_share_of_the_portfolio_envelope() -> None:
    [event] = create()
    assert event == programme_created()
    state = given(event)
    assert state.remaining_ring_fence() == {"2027": Decimal("600")}
    assert (state.senior_responsible_owner, state.programme_manager, state.status) == ("sara", "paul", "active")


def test_ring_fences_of_all_programmes_stay_within_the_envelope() -> None:
    with pytest.raises(EnvelopeExceeded) as refused:
        create(held={"2027": Decimal("500")})
    assert (refused.value.fiscal_period, refused.value.remaining, refused.value.asked) == (
        "2027",
        Decimal("500"),
        Decimal("600"),
    )
    assert refused.value.currency == "EUR" and "EUR 600.00" in str(refused.value)
    assert create(held={"2027": Decimal("400")})  # exactly the envelope


def test_a_new_envelope_holds_what_the_programmes_ring_fence() -> None:
    held = {"2027": Decimal("600"), "2028": Decimal("100")}
    with pytest.raises(EnvelopeExceeded) as lowered:
        rules.check_envelope_holds_ring_fences(money(("2027", "599.99"), ("2028", "100")), held, "EUR")
    assert (lowered.value.fiscal_period, lowered.value.remaining, lowered.value.asked) == (
        "2027",
        Decimal("599.99"),
        Decimal("600"),
    )
    assert "ring-fenced" in str(lowered.value) and "EUR 600.00" in str(lowered.value)
    with pytest.raises(EnvelopeExceeded) as dropped:  # a period left out of the envelope has none
        rules.check_envelope_holds_ring_fences(money(("2027", "600")), held, "EUR")
    assert dropped.value.fiscal_period == "2028" and dropped.value.remaining == 0
    rules.check_envelope_holds_ring_fences(money(("2027", "600"), ("2028", "100")), held, "EUR")  # exactly


def test_a_ring_fence_in_a_period_the_portfolio_has_no_envelope_for_is_refused() -> None:
    with pytest.raises(EnvelopeExceeded):
        create(definition=ProgrammeDefinition(**{**DEFINITION.__dict__, "ring_fence": money(("2029", "1"))}))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"senior_responsible_owner": ""}, "senior_responsible_owner"),
        ({"objective_ids": ("o-1", "o-9")}, "objective_ids.1"),
        ({"ring_fence": money(("2027", "-1"))}, "ring_fence.0.amount"),
        ({"ring_fence": money(("2027", "-0"))}, "ring_fence.0.amount"),  # refused, not read as 0 (attack pass)
        ({"ring_fence": money(("2027", "1"), ("2027", "2"))}, "ring_fence"),
        ({"ring_fence": money(("2027", "0.001"))}, "ring_fence.0.amount"),  # EUR has 2 places
    ],
)
def test_a_programme_definition_is_checked_field_by_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        create(definition=ProgrammeDefinition(**{**DEFINITION.__dict__, **change}))
    assert refused.value.field == field


def test_a_programme_needs_an_existing_portfolio() -> None:
    with pytest.raises(NotFound):
        rules.create("pg-1", portfolio_given(), DEFINITION, held_by_others={}, active_objectives={"o-1"},
                     created_by="ann", created_at=NOW)  # fmt: skip


# --- projects join and draw on the ring-fence --------------------------------------------------------


def test_a_project_joins_by_decision_with_a_rationale_and_draws_on_the_ring_fence() -> None:
    state = given(programme_created())
    [event] = rules.join(state, project(), rationale="shared outcome", decided_by="paul", decided_at=NOW)
    assert event == joined("p-1")
    after = given(programme_created(), event)
    assert after.remaining_ring_fence() == {"2027": Decimal("400")}
    assert list(after.projects) == ["p-1"]


def test_a_project_joining_at_approval_names_the_decision() -> None:
    [event] = rules.join(
        given(programme_created()), project(), rationale="fits", decided_by="bea", decided_at=NOW, decision_id="d-1"
    )
    assert isinstance(event, ProjectJoinedProgramme)
    assert (event.via, event.decision_id, event.decided_by) == ("approval", "d-1", "bea")


def test_a_budget_beyond_the_ring_fence_is_refused_naming_the_period() -> None:
    state = given(programme_created(), joined("p-1", "500"))
    with pytest.raises(RingFenceExceeded) as refused:
        rules.join(state, project("p-2", "101"), rationale="r", decided_by="paul", decided_at=NOW)
    assert (refused.value.remaining, refused.value.asked) == (Decimal("100"), Decimal("101"))
    assert "ring-fence" in str(refused.value)
    assert rules.join(state, project("p-2", "100"), rationale="r", decided_by="paul", decided_at=NOW)


@pytest.mark.parametrize(
    ("joining", "refusal"),
    [
        (project(portfolio_id="pf-other"), RuleViolation),
        (project(live=False), RuleViolation),
        (project(current_programme="pg-9"), RuleViolation),
    ],
)
def test_only_a_live_project_of_the_portfolio_in_no_other_programme_joins(
    joining: Joining, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        rules.join(given(programme_created()), joining, rationale="r", decided_by="paul", decided_at=NOW)


def test_joining_by_decision_is_for_the_sro_or_programme_manager_with_a_rationale() -> None:
    state = given(programme_created())
    with pytest.raises(NotAuthorised):
        rules.join(state, project(), rationale="r", decided_by="mallory", decided_at=NOW)
    with pytest.raises(InvalidCommand) as refused:
        rules.join(state, project(), rationale=" ", decided_by="sara", decided_at=NOW)
    assert refused.value.field == "rationale"


# --- tranches and their end-of-tranche reviews -------------------------------------------------------

JAN, JUN, JUL, DEC = date(2027, 1, 1), date(2027, 6, 30), date(2027, 7, 1), date(2027, 12, 31)


def test_tranches_are_ordered_and_follow_one_another() -> None:
    state = given(programme_created(), joined("p-1"))
    [first] = rules.plan_tranche(state, TranchePlan("t-1", "Foundations", JAN, JUN, ("p-1",)), "paul", NOW)
    assert first == tranche("t-1", 1, JAN, JUN, "p-1").model_copy(update={"name": "Foundations"})
    state = given(programme_created(), joined("p-1"), first)
    with pytest.raises(InvalidCommand) as overlapping:
        rules.plan_tranche(state, TranchePlan("t-2", "Scale", JUN, DEC, ()), "paul", NOW)
    assert overlapping.value.field == "start"
    [second] = rules.plan_tranche(state, TranchePlan("t-2", "Scale", JUL, DEC, ()), "paul", NOW)
    assert isinstance(second, TranchePlanned) and second.sequence == 2


def test_a_tranche_groups_only_the_programmes_projects() -> None:
    with pytest.raises(InvalidCommand) as refused:
        rules.plan_tranche(given(programme_created()), TranchePlan("t-1", "T", JAN, JUN, ("p-9",)), "paul", NOW)
    assert refused.value.field == "project_ids.0"


def test_continue_closes_the_tranche_and_reviews_go_in_order() -> None:
    state = given(programme_created(), tranche("t-1", 1, JAN, JUN), tranche("t-2", 2, JUL, DEC))
    with pytest.raises(RuleViolation):
        rules.review_tranche(state, "t-2", "continue", "too early", "sara", NOW)
    [event] = rules.review_tranche(state, "t-1", "continue", "board agreed", "sara", NOW)
    assert event == reviewed("t-1", "continue")
    after = given(programme_created(), tranche("t-1", 1, JAN, JUN), tranche("t-2", 2, JUL, DEC), event)
    assert after.tranches["t-1"].status == "closed"
    with pytest.raises(RuleViolation):  # a closed tranche is neither reviewed nor planned again
        rules.review_tranche(after, "t-1", "continue", "again", "sara", NOW)
    with pytest.raises(RuleViolation):
        rules.plan_tranche(after, TranchePlan("t-1", "T", JAN, JUN, ()), "paul", NOW)
    assert rules.review_tranche(after, "t-2", "continue", "done", "sara", NOW)


def test_re_plan_sends_the_tranche_back_to_be_planned_before_it_is_reviewed_again() -> None:
    state = given(programme_created(), tranche("t-1", 1, JAN, JUN), reviewed("t-1", "re_plan"))
    assert state.tranches["t-1"].status == "re_plan"
    with pytest.raises(RuleViolation):
        rules.review_tranche(state, "t-1", "continue", "not yet planned again", "sara", NOW)
    [planned] = rules.plan_tranche(state, TranchePlan("t-1", "Foundations v2", JAN, DEC, ()), "paul", NOW)
    again = given(programme_created(), tranche("t-1", 1, JAN, JUN), reviewed("t-1", "re_plan"), planned)
    assert (again.tranches["t-1"].status, again.tranches["t-1"].sequence, again.tranches["t-1"].end) == ("open", 1, DEC)
    assert rules.review_tranche(again, "t-1", "continue", "re-planned and delivered", "sara", NOW)


def test_close_programme_closes_it_and_nothing_more_is_decided_on_it() -> None:
    state = given(programme_created(), tranche("t-1", 1, JAN, JUN), reviewed("t-1", "close_programme"))
    assert state.status == "closed"
    with pytest.raises(RuleViolation):
        rules.join(state, project(), rationale="r", decided_by="paul", decided_at=NOW)
    with pytest.raises(RuleViolation):
        rules.plan_tranche(state, TranchePlan("t-2", "T", JUL, DEC, ()), "paul", NOW)


def test_the_end_of_tranche_review_is_the_sros_with_a_rationale() -> None:
    state = given(programme_created(), tranche("t-1", 1, JAN, JUN))
    with pytest.raises(NotAuthorised):
        rules.review_tranche(state, "t-1", "continue", "ok", "paul", NOW)
    with pytest.raises(InvalidCommand):
        rules.review_tranche(state, "t-1", "continue", " ", "sara", NOW)
    with pytest.raises(NotFound):
        rules.review_tranche(state, "t-9", "continue", "ok", "sara", NOW)


def test_the_programme_manager_reports_the_programmes_status() -> None:
    state = given(programme_created())
    rag = ProgrammeRag(overall="amber", schedule="amber")
    with pytest.raises(NotAuthorised):
        rules.report_status(state, "r-1", JUN, rag, "slipping", "sara", NOW)
    [report] = rules.report_status(state, "r-1", JUN, rag, "slipping", "paul", NOW)
    assert given(programme_created(), report).latest_report == report


# --- the roll-up of earned value ------------------------------------------------------------------


def test_earned_value_rolls_up_from_summed_amounts_never_averaged_indices() -> None:
    a = from_amounts(bac=Decimal("100"), pv=Decimal("50"), ev=Decimal("40"), ac=Decimal("50"))
    b = from_amounts(bac=Decimal("300"), pv=Decimal("100"), ev=Decimal("100"), ac=Decimal("80"))
    total = rolled_up([a, b])
    assert total is not None
    assert (total.bac, total.pv, total.ev, total.ac) == (Decimal("400"), Decimal("150"), Decimal("140"), Decimal("130"))
    assert (total.spi, total.cpi) == (Decimal("0.9333"), Decimal("1.0769"))
    unknown_pv = from_amounts(bac=Decimal("10"), pv=None, ev=Decimal("1"), ac=Decimal("1"))
    assert rolled_up([a, unknown_pv]).pv is None  # type: ignore[union-attr]
    assert rolled_up([]) is None


# --- a member's budget changes move its draw --------------------------------------------------------------


def test_a_members_budget_change_moves_its_draw_and_an_increase_beyond_the_ring_fence_is_refused() -> None:
    state = given(programme_created(), joined("p-1", "200"), joined("p-2", "300"))  # 100 left in 2027
    with pytest.raises(RingFenceExceeded):
        rules.change_draw(state, "p-1", money(("2027", "101")), cause="change_request", caused_by_event_id=None, at=NOW)
    [more] = rules.change_draw(
        state, "p-1", money(("2027", "100")), cause="change_request", caused_by_event_id="e", at=NOW
    )
    after = given(programme_created(), joined("p-1", "200"), joined("p-2", "300"), more)
    assert after.remaining_ring_fence() == {"2027": Decimal(0)}
    assert after.projects["p-1"] == money(("2027", "300"))
    # money given back (a closure's release) is always taken, even with nothing left
    [back] = rules.change_draw(after, "p-2", money(("2027", "-300")), cause="closure", caused_by_event_id=None, at=NOW)
    assert given(
        programme_created(), joined("p-1", "200"), joined("p-2", "300"), more, back
    ).remaining_ring_fence() == {"2027": Decimal("300")}
    assert (
        rules.change_draw(after, "p-9", money(("2027", "1")), cause="change_request", caused_by_event_id=None, at=NOW)
        == []
    )

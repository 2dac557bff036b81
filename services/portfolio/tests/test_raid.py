"""The RAID log: given events, when a command, then events (scores, escalation by tolerance, delegation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    LevelTolerance,
    RaidAction,
    RaidItemDelegated,
    RaidItemEscalated,
    RaidItemRaised,
    RiskAssessed,
)
from pmo_portfolio.raid import domain as rules
from pmo_portfolio.raid.commands import RAID_ITEM
from pmo_portfolio.raid.domain import DEFAULT_TOLERANCES, Ladder, RaidItem, RaiseItem
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation

from .support import NOW, PORTFOLIO_ID

IN_PROGRAMME = Ladder(portfolio_id=PORTFOLIO_ID, programme_of_project="pg-1", tolerances=dict(DEFAULT_TOLERANCES))
ALONE = Ladder(portfolio_id=PORTFOLIO_ID, programme_of_project=None, tolerances=dict(DEFAULT_TOLERANCES))


def given(*events: Event) -> RaidItem:
    return testing.given(RAID_ITEM, *events, stream_id="r-1")


def risk(probability: int | None, impact: int | None, **changes: object) -> RaiseItem:
    fields: dict[str, object] = {
        "raid_item_id": "r-1",
        "kind": "risk",
        "level": "project",
        "level_id": "p-1",
        "title": "Vendor late",
        "owner": "pam",
        "raised_by": "pam",
        "raised_at": NOW,
        "cause": "one vendor",
        "risk_event": "misses June",
        "effect": "web slips",
        "probability": probability,
        "impact": impact,
    }
    return RaiseItem(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_risk_is_scored_probability_times_impact_and_stays_within_tolerance() -> None:
    [raised] = rules.raise_item(PORTFOLIO_ID, risk(3, 4), IN_PROGRAMME)
    assert isinstance(raised, RaidItemRaised) and raised.score == 12
    state = given(raised)
    assert (state.level, state.level_id, state.escalated, [p.score for p in state.history]) == (
        "project",
        "p-1",
        False,
        [12],
    )


def test_beyond_the_projects_tolerance_a_risk_escalates_to_its_programme_then_the_portfolio() -> None:
    _, to_programme = rules.raise_item(PORTFOLIO_ID, risk(4, 4), IN_PROGRAMME)  # 16 > 12, not > 16
    assert isinstance(to_programme, RaidItemEscalated)
    assert (to_programme.to_level, to_programme.to_level_id, to_programme.score) == ("programme", "pg-1", 16)
    _, first, second = rules.raise_item(PORTFOLIO_ID, risk(5, 4), IN_PROGRAMME)  # 20 > 16 too
    assert isinstance(first, RaidItemEscalated) and isinstance(second, RaidItemEscalated)
    assert (second.from_level, second.to_level, second.to_level_id) == ("programme", "portfolio", PORTFOLIO_ID)
    _, direct = rules.raise_item(PORTFOLIO_ID, risk(4, 4), ALONE)  # a project in no programme
    assert isinstance(direct, RaidItemEscalated) and direct.to_level == "portfolio"


def test_a_cost_impact_beyond_the_cost_tolerance_escalates_an_issue() -> None:
    ladder = Ladder(PORTFOLIO_ID, None, {"project": LevelTolerance(score=12, cost=Decimal("1000")),
                                         "programme": LevelTolerance(score=16)})  # fmt: skip
    issue = risk(None, None, kind="issue", priority="high", cost_impact=Decimal("1500"))
    _, escalated = rules.raise_item(PORTFOLIO_ID, issue, ladder)
    assert isinstance(escalated, RaidItemEscalated) and "cost impact 1500" in escalated.reason
    assert rules.raise_item(PORTFOLIO_ID, risk(None, None, kind="issue", priority="high",
                                               cost_impact=Decimal("1000")), ladder)[1:] == []  # fmt: skip


def test_a_new_score_joins_the_history_and_escalates_when_it_crosses_the_tolerance() -> None:
    [raised] = rules.raise_item(PORTFOLIO_ID, risk(2, 3), IN_PROGRAMME)
    state = given(raised)
    assessed, escalated = rules.assess(state, 4, 4, "vendor confirmed the slip", "pam", NOW, IN_PROGRAMME)
    assert isinstance(assessed, RiskAssessed) and assessed.score == 16
    after = given(raised, assessed, escalated)
    assert [p.score for p in after.history] == [6, 16]
    assert (after.level, after.level_id, after.escalated) == ("programme", "pg-1", True)
    [delegated] = rules.delegate(after, "the project handles it", "sara", NOW)
    assert isinstance(delegated, RaidItemDelegated) and (delegated.to_level, delegated.to_level_id) == (
        "project",
        "p-1",
    )
    back = given(raised, assessed, escalated, delegated)
    assert (back.level, back.escalated) == ("project", False)
    with pytest.raises(RuleViolation):
        rules.delegate(back, "again", "sara", NOW)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (risk(0, 3), "probability"),
        (risk(3, 6), "impact"),
        (risk(3, 3, title=" "), "title"),
        (risk(3, 3, owner=""), "owner"),
        (risk(None, 3), "probability"),
        (risk(None, None, kind="issue"), "priority"),
    ],
)
def test_a_raid_item_is_checked_field_by_field(command: RaiseItem, field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        rules.raise_item(PORTFOLIO_ID, command, IN_PROGRAMME)
    assert refused.value.field == field


def test_responses_actions_assumptions_and_closure() -> None:
    [raised] = rules.raise_item(PORTFOLIO_ID, risk(2, 2), IN_PROGRAMME)
    action = RaidAction(action_id="a-1", description="second vendor", owner="pam", due_on=date(2027, 3, 31))
    [planned] = rules.plan_response(given(raised), "reduce", (action,), "pam", NOW)
    [done] = rules.complete_action(given(raised, planned), "a-1", "pam", NOW)
    state = given(raised, planned, done)
    assert (state.response, state.actions[0].done) == ("reduce", True)
    with pytest.raises(RuleViolation):
        rules.complete_action(state, "a-1", "pam", NOW)
    with pytest.raises(NotFound):
        rules.complete_action(state, "a-9", "pam", NOW)
    with pytest.raises(RuleViolation):  # a risk is not an assumption
        rules.validate_assumption(state, True, "checked", "pam", NOW)
    [closed] = rules.close(state, "vendor delivered", "pam", NOW)
    with pytest.raises(RuleViolation):
        rules.assess(given(raised, planned, done, closed), 5, 5, "late", "pam", NOW, IN_PROGRAMME)
    assumption = risk(None, None, kind="assumption")
    [logged] = rules.raise_item(PORTFOLIO_ID, assumption, IN_PROGRAMME)
    [validated] = rules.validate_assumption(given(logged), False, "budget not confirmed", "olga", NOW)
    assert given(logged, validated).validated is False

"""Strategic objectives: given events, when a command, then events."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from pmo_devstack import testing
from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import ObjectiveCreated, ObjectiveRetired, ObjectiveUpdated
from pmo_portfolio.objectives import domain as rules
from pmo_portfolio.objectives.commands import OBJECTIVE
from pmo_portfolio.objectives.domain import Objective, ObjectiveDefinition
from pmo_portfolio.shared.errors import InvalidCommand, NotFound, RuleViolation

DEFINITION = ObjectiveDefinition(
    "Grow online sales", "Digital first", Decimal("3"), date(2027, 1, 1), date(2027, 12, 31)
)


def given(*events: Event) -> Objective:
    """The objective after `events`."""
    return testing.given(OBJECTIVE, *events, stream_id="o-1")


def test_create_records_the_objective_with_its_weight_and_period() -> None:
    [event] = rules.create("o-1", DEFINITION, "ann")
    assert event == ObjectiveCreated(
        objective_id="o-1",
        title="Grow online sales",
        description="Digital first",
        weight=Decimal("3"),
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
        created_by="ann",
    )
    assert given(event).status == "active"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weight": Decimal(0)}, "weight"),
        ({"weight": Decimal("-1")}, "weight"),
        ({"title": "  "}, "title"),
        ({"period_end": date(2026, 12, 31)}, "period.end"),
    ],
)
def test_create_refuses_a_bad_definition_naming_the_field(change, field) -> None:
    with pytest.raises(InvalidCommand) as refused:
        rules.create("o-1", ObjectiveDefinition(**{**DEFINITION.__dict__, **change}), "ann")
    assert refused.value.field == field


def test_update_replaces_the_definition() -> None:
    state = given(*rules.create("o-1", DEFINITION, "ann"))
    changed = ObjectiveDefinition(**{**DEFINITION.__dict__, "weight": Decimal("5")})
    [event] = rules.update(state, changed, "ann")
    assert isinstance(event, ObjectiveUpdated)
    assert given(*rules.create("o-1", DEFINITION, "ann"), event).weight == Decimal("5")


def test_retire_keeps_the_objective_in_history_and_it_can_no_longer_change() -> None:
    history = rules.create("o-1", DEFINITION, "ann")
    [retired] = rules.retire(given(*history), "ann", "strategy refreshed")
    assert retired == ObjectiveRetired(objective_id="o-1", retired_by="ann", reason="strategy refreshed")
    state = given(*history, retired)
    assert (state.status, state.title) == ("retired", "Grow online sales")
    with pytest.raises(RuleViolation):
        rules.update(state, DEFINITION, "ann")
    with pytest.raises(RuleViolation):
        rules.retire(state, "ann", None)


def test_an_unknown_objective_is_not_found() -> None:
    with pytest.raises(NotFound):
        rules.retire(given(), "ann", None)


def test_an_objective_belongs_to_the_portfolios_it_names_or_to_every_portfolio() -> None:
    named = ObjectiveDefinition("Grow", None, Decimal(3), date(2027, 1, 1), date(2027, 12, 31), ("pf-1", "pf-2"))
    [created] = rules.create("o-9", named, "ann")
    state = rules.evolve(rules.initial("o-9"), created)
    assert state.portfolio_ids == ("pf-1", "pf-2") and state.applies_to("pf-2") and not state.applies_to("pf-3")
    everyone = rules.evolve(
        rules.initial("o-8"),
        rules.create("o-8", replace(named, portfolio_ids=()), "ann")[0],
    )
    assert everyone.applies_to("pf-3")
    assert rules.definition_of(state).portfolio_ids == ("pf-1", "pf-2")
    with pytest.raises(InvalidCommand) as refused:
        rules.create("o-7", replace(named, portfolio_ids=("pf-1", "pf-1")), "ann")
    assert refused.value.field == "portfolio_ids"

"""Funding: a portfolio's creation, its budget envelope per period, its board."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import registry
from pmo_events.contracts.portfolio import CandidateWithdrawn, InvestmentDecided, PortfolioBudgetSet
from pmo_portfolio.funding.domain import envelope
from pmo_portfolio.funding.domain import portfolio as rules
from pmo_portfolio.funding.domain.portfolio import CreatePortfolio
from pmo_portfolio.shared.errors import EnvelopeExceeded, InvalidCommand, NotFound

from .support import NOW, PORTFOLIO_ID, created, given, money, registered


def test_create_refuses_a_period_twice() -> None:
    command = CreatePortfolio(PORTFOLIO_ID, "P", "EUR", "olga", money(("2027", "1"), ("2027", "2")), ("bea",), "ann")
    with pytest.raises(InvalidCommand) as refused:
        rules.create(command)
    assert refused.value.field == "budget"


def test_budget_set_replaces_the_envelope_per_period() -> None:
    state = given(created())
    [event] = envelope.set_budget(state, money(("2027", "1500"), ("2028", "700")), "ann")
    assert event == PortfolioBudgetSet(
        portfolio_id=PORTFOLIO_ID, budget=money(("2027", "1500"), ("2028", "700")), set_by="ann"
    )
    assert given(created(), event).budget == {"2027": Decimal("1500"), "2028": Decimal("700")}


def _approved(candidate_id: str, amount: str) -> InvestmentDecided:
    return InvestmentDecided(
        decision_id="d",
        portfolio_id=PORTFOLIO_ID,
        candidate_id=candidate_id,
        proposal_id=candidate_id,
        outcome="approve",
        rationale="fits",
        decided_by="bea",
        decided_at=NOW,
        approved_budget=money(("2027", amount)),
    )


def test_budget_cannot_fall_below_what_is_committed_in_a_period() -> None:
    state = given(created(), registered("c-1"), _approved("c-1", "600"))
    with pytest.raises(EnvelopeExceeded) as refused:
        envelope.set_budget(state, money(("2027", "500")), "ann")
    assert (refused.value.fiscal_period, refused.value.remaining, refused.value.asked) == (
        "2027",
        Decimal("500"),
        Decimal("600"),
    )
    assert str(refused.value) == "2027: EUR 600.00 is already committed, more than the new envelope of EUR 500.00"
    with pytest.raises(EnvelopeExceeded):
        envelope.set_budget(state, money(("2028", "5000")), "ann")
    assert envelope.set_budget(state, money(("2027", "600")), "ann")


def test_budget_refuses_a_negative_envelope() -> None:
    with pytest.raises(InvalidCommand) as refused:
        envelope.set_budget(given(created()), money(("2027", "-1")), "ann")
    assert refused.value.field == "budget.0.amount"


def test_commands_on_a_portfolio_that_does_not_exist_are_not_found() -> None:
    with pytest.raises(NotFound):
        envelope.set_budget(given(), money(("2027", "1")), "ann")


def test_a_rebuilds_in_place_fold_gives_evolves_state_after_every_event() -> None:
    """`evolve_owned` (the portfolios view's rebuild) changes candidates in place; its states are `evolve`'s."""
    history = [
        created(),
        registered("c-1"),
        registered("c-2", costs=(("2027", "250"),)),
        _approved("c-1", "600"),
        registered("c-3"),
        CandidateWithdrawn(
            portfolio_id=PORTFOLIO_ID, candidate_id="c-3", proposal_id="c-3", withdrawn_by="ann", reason="merged"
        ),
        registered("c-2", costs=(("2027", "300"),), submission=2),
        _approved("c-2", "300").model_copy(update={"outcome": "defer", "approved_budget": ()}),
        PortfolioBudgetSet(portfolio_id=PORTFOLIO_ID, budget=money(("2027", "2000")), set_by="ann"),
    ]
    pure, owned = rules.initial(PORTFOLIO_ID), rules.initial(PORTFOLIO_ID)
    before, states = [pure.model_dump(mode="json")], [pure]
    for event in history:
        pure, owned = rules.evolve(pure, event), rules.evolve_owned(owned, event)
        assert owned.model_dump(mode="json") == pure.model_dump(mode="json"), type(event).__name__
        states.append(pure)
        before.append(pure.model_dump(mode="json"))
    assert [state.model_dump(mode="json") for state in states] == before, "evolve changed a state it was given"
    assert pure.candidates["c-3"].status == "withdrawn" and pure.candidates["c-2"].status == "deferred"
    assert pure.committed == {"2027": Decimal("600")} and pure.candidates["c-2"].costs[0].amount == Decimal("300")


def test_evolved_lists_every_event_type_evolve_takes() -> None:
    """`evolve_owned` returns the state for a type not in `EVOLVED` without walking `evolve`: so every other
    portfolio event type must leave `evolve`'s state as it was, and every listed one must change it."""
    state = given(created(), registered("c-1"))
    for type_name, cls in registry.classes().items():
        if not type_name.startswith("pmo.portfolio."):
            continue
        data = example(cls) | {"portfolio_id": PORTFOLIO_ID, "candidate_id": "c-1"}
        event = registry.decode(type_name, data)
        if issubclass(cls, rules.EVOLVED):
            assert rules.evolve(state, event) is not state, type_name
        else:
            assert rules.evolve(state, event) is state, type_name
            assert rules.evolve_owned(state, event) is state, type_name

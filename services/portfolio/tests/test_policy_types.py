"""Each portfolio policy declares the events it reacts to (`reacts_to`), and does nothing on any other: the units
of work call it for those only, so the declaration must not leave out an event its rule fires on."""

from __future__ import annotations

from typing import Any

import pytest

from pmo_events.contracts import registry
from pmo_events.runtime.unit_of_work import policies_for
from pmo_portfolio.bootstrap import PORTFOLIO


class _Untouchable:
    """Any use of it but the attributes given fails the test: a policy that returns at once uses only those."""

    def __init__(self, **given: Any) -> None:
        self.__dict__.update(given)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the policy used {name!r} on an event it does not react to")


def test_every_policy_declares_the_events_it_reacts_to() -> None:
    known = set(registry.classes())
    for policy in PORTFOLIO.policies:
        declared = getattr(policy, "reacts_to", None)
        assert declared, f"{policy.__name__} declares no event types"
        assert declared <= known, f"{policy.__name__} declares types no contract has"


@pytest.mark.parametrize("policy", PORTFOLIO.policies, ids=lambda p: p.__name__)
async def test_a_policy_does_nothing_on_an_event_it_does_not_declare(policy: Any) -> None:
    undeclared = sorted(set(registry.classes()) - policy.reacts_to)
    assert undeclared
    for event_type in undeclared:
        for stream_type in ("project", "programme", "portfolio", "proposal"):
            event = _Untouchable(type=event_type, stream_type=stream_type)
            await policy(_Untouchable(), event)


def test_the_policies_called_on_an_event_are_those_that_declared_it_in_order() -> None:
    for event_type in registry.classes():
        expected = [p for p in PORTFOLIO.policies if event_type in getattr(p, "reacts_to")]  # noqa: B009
        assert policies_for(PORTFOLIO.policies, event_type) == expected
    assert policies_for(PORTFOLIO.policies, "pmo.intake.ProposalSubmitted.v1") == []

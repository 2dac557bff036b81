"""A rebuild's in-place fold of a proposal (`evolve_owned`) gives `evolve`'s state after every event."""

from __future__ import annotations

from typing import Any

import pytest

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import Event, registry
from pmo_intake.domain.proposal import _INITIAL, Proposal, evolve, evolve_owned, initial

#: Lives covering every intake event type, a draft after other events too (`evolve` starts it afresh).
LIVES = (
    ("ProposalDrafted", "ProposalEdited", "ProposalSubmitted", "ProposalChangesRequested", "ProposalEdited",
     "ProposalSubmitted", "ProposalUnderReview", "ProposalApproved"),
    ("ProposalDrafted", "ProposalSubmitted", "ProposalUnderReview", "ProposalRejected"),
    ("ProposalDrafted", "ProposalSubmitted", "ProposalDeferred", "ProposalEdited", "ProposalWithdrawn"),
    ("ProposalSubmitted", "ProposalDrafted", "ProposalEdited"),
    ("ProposalUnderReview", "ProposalWithdrawn", "ProposalDrafted"),
)  # fmt: skip


def decoded(name: str, n: int) -> Event:
    type_name = f"pmo.intake.{name}.v1"
    data: dict[str, Any] = example(registry.classes()[type_name]) | {"proposal_id": "p-1"}
    if "title" in data:
        data |= {"title": f"{name} {n}", "summary": f"summary {n}", "requester": f"req-{n}"}
    return registry.decode(type_name, data)


def same(owned: Proposal, pure: Proposal) -> None:
    assert owned == pure
    assert owned.model_fields_set == pure.model_fields_set
    assert owned.model_dump_json() == pure.model_dump_json()


@pytest.mark.parametrize("life", LIVES)
def test_evolve_owned_gives_evolves_state_after_every_event(life: tuple[str, ...]) -> None:
    pure, owned = initial("p-1"), initial("p-1")
    for n, name in enumerate(life):
        event = decoded(name, n)
        before = pure.model_dump_json()
        given = pure
        pure = evolve(pure, event)
        assert given.model_dump_json() == before  # evolve left its state alone
        owned = evolve_owned(owned, event)
        same(owned, pure)


def test_initial_is_a_validated_empty_proposal_fields_set_included() -> None:
    made = initial("p-1")
    same(made, Proposal(proposal_id="p-1"))
    same(made, _INITIAL.model_copy(update={"proposal_id": "p-1"}))
    assert made.__pydantic_extra__ is None and made.__pydantic_private__ is None
    made.__pydantic_fields_set__.add("title")
    assert initial("p-2").model_fields_set == {"proposal_id"}  # each state its own set

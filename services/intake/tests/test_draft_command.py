"""`POST /proposals` builds its `DraftProposal` from the fields the body sent; a field it left out is the command's
own default. That must be the same command as converting every field, default or not (issue 17: the empty
business case and timeline were dumped and validated again on every draft)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pmo_intake.adapters.http.routes import _DRAFTED_CONTENT
from pmo_intake.adapters.http.schemas import EXAMPLE_DRAFT, ProposalDraft
from pmo_intake.domain.lifecycle import DraftProposal
from pmo_intake.domain.proposal import CONTENT_FIELDS

#: Values a client may send for each optional content field: the example's, an explicit default, another one.
CHOICES: dict[str, list[Any]] = {
    "summary": [EXAMPLE_DRAFT["summary"], None, ""],
    "sponsor": [EXAMPLE_DRAFT["sponsor"], None],
    "objective_contributions": [EXAMPLE_DRAFT["objective_contributions"], []],
    "business_case": [EXAMPLE_DRAFT["business_case"], {}, {"currency": None, "costs": [], "benefits": []},
                      {"currency": "EUR"}],
    "timeline": [EXAMPLE_DRAFT["timeline"], {}, {"start": None, "end": None}, {"start": "2027-01-01"}],
    "resource_estimate": [EXAMPLE_DRAFT["resource_estimate"], []],
    "risk_level": [EXAMPLE_DRAFT["risk_level"], None, "high"],
    "dependencies": [["a", "b"], []],
    "programme_id": ["prog-1", None],
}  # fmt: skip


def _every_field(body: ProposalDraft) -> DraftProposal:
    """The command as it was built before: every content field converted, sent or not."""
    return DraftProposal(
        proposal_id="p-1", requester="alice", title=body.title, portfolio_id=body.portfolio_id,
        **body.values(set(CONTENT_FIELDS) - {"title", "portfolio_id"}),
    )  # fmt: skip


def _sent_fields(body: ProposalDraft) -> DraftProposal:
    """The command as `create_proposal` builds it now."""
    return DraftProposal(
        proposal_id="p-1", requester="alice", title=body.title, portfolio_id=body.portfolio_id,
        **body.values(body.model_fields_set & _DRAFTED_CONTENT),
    )  # fmt: skip


def test_each_left_out_field_is_the_commands_default_of_the_bodys_default() -> None:
    body = ProposalDraft.model_validate({"title": "t", "portfolio_id": "p"})
    converted = body.values(set(_DRAFTED_CONTENT))
    defaults = {f.name: f.default for f in fields(DraftProposal)}
    assert set(CHOICES) == set(_DRAFTED_CONTENT)
    for name in _DRAFTED_CONTENT:
        assert converted[name] == defaults[name], name
        assert type(converted[name]) is type(defaults[name]), name


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={name: st.sampled_from(values) for name, values in CHOICES.items()}))
def test_a_draft_built_from_the_sent_fields_is_the_same_command(sent: dict[str, Any]) -> None:
    body = ProposalDraft.model_validate({"title": "New CRM", "portfolio_id": "p", **sent})
    assert _sent_fields(body) == _every_field(body)


def test_the_full_example_and_the_bare_body_give_the_same_command_both_ways() -> None:
    for raw in (EXAMPLE_DRAFT, {"title": "Bench", "portfolio_id": "p"}):
        body = ProposalDraft.model_validate(raw)
        assert _sent_fields(body) == _every_field(body)

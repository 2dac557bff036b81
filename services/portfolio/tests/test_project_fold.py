"""A rebuild's in-place fold of a project (`evolve_owned`) gives `evolve`'s state after every event."""

from __future__ import annotations

from typing import Any

import pytest

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import Event, registry
from pmo_portfolio.delivery.domain.project import Project, evolve, evolve_owned, initial

#: (type, changes to its example): reports, re-reports, corrections (of a current report, of a superseded
#: one, of one not known), withdrawals (of a current report, of a superseded one) among other project events.
Step = tuple[str, dict[str, Any]]
R = "StatusReported"
W = "StatusReportWithdrawn"
LIVES: tuple[tuple[Step, ...], ...] = (
    (
        ("ProjectInitiated", {}),
        (R, {"report_id": "r1", "period_end": "2027-01-31", "forecast_end": None}),
        (R, {"report_id": "r2", "period_end": "2027-02-28"}),
        ("StageGateDecided", {}),
        (R, {"report_id": "r3", "period_end": "2027-03-31", "forecast_end": None}),
        (R, {"report_id": "r2b", "period_end": "2027-02-28", "correction_of": "r2", "forecast_end": "2028-01-31"}),
        (W, {"report_id": "r1"}),
        (R, {"report_id": "r4", "period_end": "2027-04-30"}),
        (R, {"report_id": "r2c", "period_end": "2027-02-28", "correction_of": "r2"}),  # of a superseded one
        (W, {"report_id": "r2b"}),
        (R, {"report_id": "r5", "period_end": "2027-05-31", "correction_of": "never-reported"}),
        (R, {"report_id": "r4", "period_end": "2027-04-30", "summary": "the same id again"}),
        (R, {"report_id": "r6", "period_end": "2027-06-30", "correction_of": "r6"}),  # names itself
        ("ProjectClosed", {}),
        (W, {"report_id": "r3"}),
    ),
    (  # reports before the initiation, a withdrawal of one not known, a withdrawn one corrected
        (W, {"report_id": "x"}),
        (R, {"report_id": "a", "period_end": "2027-01-31"}),
        (W, {"report_id": "a"}),
        (R, {"report_id": "b", "period_end": "2027-01-31", "correction_of": "a"}),
        ("ProjectInitiated", {}),
        (R, {"report_id": "c", "period_end": "2027-02-28", "correction_of": "b"}),
    ),
    (  # every other event type a project's stream holds, each changing the state in place in `evolve_owned`
        ("ProjectInitiated", {}),
        ("ProjectManagerAssigned", {}),
        ("StageGateDecided", {"decision": "proceed", "from_stage": "initiate", "to_stage": "plan"}),
        ("StageGateDecided", {"decision": "hold"}),
        ("StageGateDecided", {"decision": "stop"}),
        (R, {"report_id": "r1", "period_end": "2027-01-31"}),
        ("AlignmentReviewed", {}),
        ("ChangeRequested", {"change_request_id": "c1"}),
        ("ChangeRequestDecided", {"change_request_id": "c1", "outcome": "approve"}),
        ("ChangeRequested", {"change_request_id": "c2", "kind": "schedule", "budget_delta": [], "new_end": None}),
        ("ChangeRequestDecided", {"change_request_id": "c2", "outcome": "reject"}),
        ("ChangeRequested", {"change_request_id": "c3", "kind": "schedule", "budget_delta": []}),
        ("ChangeRequestDecided", {"change_request_id": "c3", "outcome": "approve", "budget_delta": []}),
        ("ProjectBudgetChanged", {}),  # left alone by `evolve`
        ("BoardActionOpened", {"action_id": "a1"}),
        ("BoardActionOverdue", {"action_id": "a1"}),
        ("BoardActionResolved", {"action_id": "a1"}),
        ("BoardActionOpened", {"action_id": "a2"}),
        ("ReviewOverdue", {}),
        ("ProjectPaused", {}),
        ("ProjectResumed", {}),
        (R, {"report_id": "r2", "period_end": "2027-02-28"}),
        ("ProjectCancelled", {}),
        (W, {"report_id": "r1"}),
    ),
    (  # a close releasing nothing, then one releasing budget
        ("ProjectInitiated", {}),
        (R, {"report_id": "r1", "period_end": "2027-01-31"}),
        (R, {"report_id": "r2", "period_end": "2027-02-28", "correction_of": "r1"}),
        ("ProjectClosed", {"released_budget": []}),
        ("ProjectClosed", {}),
    ),
)


def decoded(name: str, changes: dict[str, Any]) -> Event:
    type_name = f"pmo.portfolio.{name}.v1"
    data: dict[str, Any] = example(registry.classes()[type_name]) | {"project_id": "p-1"} | changes
    return registry.decode(type_name, data)


def same(owned: Project, pure: Project) -> None:
    assert owned == pure
    assert owned.model_fields_set == pure.model_fields_set
    assert list(owned.current_reports) == list(pure.current_reports)  # the order the JSON lists them in
    assert list(owned.retired_reports.items()) == list(pure.retired_reports.items())
    assert owned.model_dump_json() == pure.model_dump_json()


@pytest.mark.parametrize("life", LIVES)
def test_evolve_owned_gives_evolves_state_after_every_event(life: tuple[Step, ...]) -> None:
    pure, owned = initial("p-1"), initial("p-1")
    for name, changes in life:
        event = decoded(name, changes)
        before = pure.model_dump_json()
        given = pure
        pure = evolve(pure, event)
        assert given.model_dump_json() == before  # evolve left its state alone
        owned = evolve_owned(owned, event)
        same(owned, pure)
    assert pure.current_reports and pure.retired_reports  # the lives exercised both


def test_initial_is_a_validated_empty_project_with_dicts_of_its_own() -> None:
    made, validated = initial("p-1"), Project(project_id="p-1")
    same(made, validated)
    assert made.__pydantic_extra__ is None and made.__pydantic_private__ is None
    other = initial("p-2")
    dicts = [name for name, value in made.__dict__.items() if isinstance(value, dict)]
    assert dicts and all(made.__dict__[name] is not other.__dict__[name] for name in dicts)


def test_the_lives_hold_every_event_type_that_changes_a_project() -> None:
    """A type `evolve` changes a project for is in a life above (so `evolve_owned`'s in-place change of it is
    compared with `evolve`'s copy); every other portfolio type leaves the state as it is."""
    covered = {name for life in LIVES for name, _ in life}
    started = evolve(initial("p-1"), decoded("ProjectInitiated", {}))
    for type_name, contract in registry.classes().items():
        service, name, _version = type_name.split(".")[1:]
        if service != "portfolio" or name in covered:
            continue
        data: dict[str, Any] = example(contract) | {"project_id": "p-1"}
        assert evolve(started, registry.decode(type_name, data)) is started, type_name

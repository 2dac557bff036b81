"""A status report recorded before SV, CV, EAC and VAC were part of it gets them on read, from its own amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.portfolio import StatusReported
from pmo_events.contracts.portfolio.delivery import DERIVED_FIGURES
from pmo_events.envelope import dumps
from pmo_events.figures.earned_value import from_amounts


def report(**changes: Any) -> dict[str, Any]:
    data = example(StatusReported) | {"bac": "1000.00", "planned_value": "500.00", "earned_value": "400.00"}
    return data | {"actual_cost": "450.00"} | changes


def decoded(data: dict[str, Any], how: str) -> StatusReported:
    if how == "json":
        return StatusReported.model_validate_json(dumps(data))
    return StatusReported.model_validate(data)


@pytest.mark.parametrize("how", ["json", "python"])
def test_a_report_without_the_derived_figures_gets_them_from_its_own_amounts_counted_as_given(how: str) -> None:
    data = {name: value for name, value in report().items() if name not in DERIVED_FIGURES}
    figures = from_amounts(bac=Decimal(1000), pv=Decimal(500), ev=Decimal(400), ac=Decimal(450))
    event = decoded(data, how)
    assert (event.schedule_variance, event.cost_variance, event.eac, event.vac) == (
        figures.sv, figures.cv, figures.eac, figures.vac
    )  # fmt: skip
    assert set(DERIVED_FIGURES) <= event.model_fields_set
    given = dict(zip(DERIVED_FIGURES, (figures.sv, figures.cv, figures.eac, figures.vac), strict=True))
    assert event == decoded({**data, **given}, how)


@pytest.mark.parametrize("how", ["json", "python"])
def test_the_figures_a_report_carries_are_kept_and_only_the_missing_ones_derived(how: str) -> None:
    data = {name: value for name, value in report(schedule_variance="-7", eac=None).items() if name != "vac"}
    data.pop("cost_variance")
    event = decoded(data, how)
    figures = from_amounts(bac=Decimal(1000), pv=Decimal(500), ev=Decimal(400), ac=Decimal(450))
    assert (event.schedule_variance, event.eac) == (Decimal(-7), None)
    assert (event.cost_variance, event.vac) == (figures.cv, figures.vac)
    assert set(DERIVED_FIGURES) <= event.model_fields_set


def test_a_current_report_decodes_as_recorded() -> None:
    data = report(schedule_variance="-100.00", cost_variance="-50.00", eac="1125.00", vac="-125.00")
    event = decoded(data, "json")
    assert {name: str(getattr(event, name)) for name in DERIVED_FIGURES} == {k: data[k] for k in DERIVED_FIGURES}

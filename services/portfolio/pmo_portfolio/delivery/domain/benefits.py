"""Benefits realised: measurements of a project's planned benefits, long after delivery too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.common import Benefit
from pmo_events.contracts.portfolio import BenefitRealised
from pmo_events.figures.benefits import measured_number
from pmo_portfolio.delivery.domain.lifecycle import existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.shared.errors import InvalidCommand, NotFound


@dataclass(frozen=True)
class Measurement:
    """What a realisation states: the value measured, in which unit (optional), on which day, and a note."""

    value: str
    measured_on: date
    unit: str | None = None
    note: str | None = None


def unit_of(benefit: Benefit, currency: str | None) -> str | None:
    """A financial benefit is measured in its unit, else the portfolio's currency; others in their unit."""
    return benefit.unit or (currency if benefit.kind == "financial" else None)


def is_quantitative(benefit: Benefit) -> bool:
    """Financial benefits, and those with a unit or a numeric target, are measured as numbers."""
    target = benefit.target_value
    return (
        benefit.kind == "financial"
        or bool(benefit.unit)
        or (target is not None and measured_number(target) is not None)
    )


def _check(benefit: Benefit, measurement: Measurement, currency: str | None, today: date) -> str | None:
    unit = unit_of(benefit, currency)
    if is_quantitative(benefit) and measured_number(measurement.value) is None:
        in_unit = f" in {unit}" if unit else ""
        raise InvalidCommand(
            "measured_value", f"this benefit is measured as a number{in_unit}, not {measurement.value!r}"
        )
    if measurement.unit is not None and measurement.unit != unit:
        expected = f"in {unit}" if unit else "without a unit"
        raise InvalidCommand("unit", f"this benefit is measured {expected}, not in {measurement.unit}")
    if measurement.measured_on > today:
        raise InvalidCommand("measured_on", f"a measurement is taken by today, not on {measurement.measured_on}")
    return unit


def realise_benefit(
    project: Project, benefit_id: str, measurement: Measurement, currency: str | None, by: str, at: datetime
) -> list[Event]:
    """A measurement of one of the project's planned benefits, in any status: also long after closure.

    Financial and quantitative benefits take a number in the benefit's unit (a financial one's is the
    portfolio's currency unless it names one); the unit is recorded with the measurement."""
    existing(project)
    ids = project.benefit_ids()
    if benefit_id not in ids:
        raise NotFound(f"benefit {benefit_id} of project {project.project_id}")
    unit = _check(project.benefits[ids.index(benefit_id)], measurement, currency, at.date())
    value = measured_number(measurement.value)
    return [
        BenefitRealised(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            benefit_id=benefit_id,
            measured_value=measurement.value.strip() if value is None else format(value, "f"),
            unit=unit,
            measured_on=measurement.measured_on,
            note=measurement.note,
            recorded_by=by,
            recorded_at=at,
            realisation_id=str(uuid.uuid4()),
        )
    ]

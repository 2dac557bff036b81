"""A programme's benefits map by a day: one rule, so portfolio (`GET /programmes/{id}`) and reporting (the
programme dashboard) roll up alike (docs/figures.md, "Benefits").

Each programme benefit has a cumulative realisation profile and is fed by project benefits, each with a
share. By a day, planned is the profile's value at its last date on or before it; realised is, over the
contributions, the project benefit's latest numeric measurement on or before it (of one day's, the last
recorded) times its share, summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from pmo_events.contracts.bounds import MAX_INTEGER_DIGITS

ZERO = Decimal(0)


def measured_number(text: str) -> Decimal | None:
    """`45000`, `-3.5`: a finite decimal of at most 15 integer digits (as an amount of money has); anything
    else is not a number, and a measurement that is not one feeds no benefits map."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value.adjusted() >= MAX_INTEGER_DIGITS:
        return None
    return value


class PlannedPoint(Protocol):
    """A point of a realisation profile: the value planned to be realised, in total, by a date."""

    @property
    def on(self) -> date: ...

    @property
    def planned_value(self) -> Decimal: ...


class Feed(Protocol):
    """A project benefit feeding a programme benefit with a share (more than 0, at most 1) of what it realises."""

    @property
    def project_id(self) -> str: ...

    @property
    def project_benefit_id(self) -> str: ...

    @property
    def share(self) -> Decimal: ...


@dataclass(frozen=True)
class Contribution:
    """A feed as read from a recorded document rather than a folded aggregate."""

    project_id: str
    project_benefit_id: str
    share: Decimal


@dataclass(frozen=True)
class Measured:
    """A realisation of a project benefit: the value measured (a number) on a day."""

    measured_on: date
    value: Decimal


@dataclass(frozen=True)
class ContributionToDate:
    project_id: str
    project_benefit_id: str
    share: Decimal
    #: The project benefit's latest measurement on or before the day (None: not measured yet).
    latest: Measured | None
    contributed: Decimal


@dataclass(frozen=True)
class BenefitToDate:
    """A programme benefit by a day: planned (its profile's value then) against realised (rolled up)."""

    planned: Decimal
    realised: Decimal
    contributions: tuple[ContributionToDate, ...]


def planned_by(profile: Iterable[PlannedPoint], day: date) -> Decimal:
    """The profile's value at its last date on or before `day` (nothing is planned before its first date)."""
    reached = [point.planned_value for point in profile if point.on <= day]
    return reached[-1] if reached else ZERO


def latest_by(measured: Sequence[Measured], day: date) -> Measured | None:
    """The last measurement on or before `day`; of one day's, the last recorded (`measured` is in recorded
    order): a measurement states what is realised so far, as the benefits register reads it."""
    by_then = [m for m in measured if m.measured_on <= day]
    return sorted(by_then, key=lambda m: m.measured_on)[-1] if by_then else None


def benefit_to_date(
    profile: Iterable[PlannedPoint],
    contributions: Iterable[Feed],
    measurements: Mapping[tuple[str, str], Sequence[Measured]],
    day: date,
) -> BenefitToDate:
    """Each contributing project benefit's latest measurement by `day` (`measurements` by (project id, project
    benefit id), in recorded order) times its share, summed; against the profile's plan then."""
    rolled_up = []
    for feed in contributions:
        latest = latest_by(measurements.get((feed.project_id, feed.project_benefit_id), ()), day)
        contributed = latest.value * feed.share if latest else ZERO
        rolled_up.append(ContributionToDate(feed.project_id, feed.project_benefit_id, feed.share, latest, contributed))
    realised = sum((c.contributed for c in rolled_up), ZERO)
    return BenefitToDate(planned_by(profile, day), realised, tuple(rolled_up))

"""A programme's benefits map by a day: given a profile, feeds and measurements, when asked by a day, then
planned to date against realised to date (the rule portfolio and reporting both use)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pmo_events.contracts.portfolio import BenefitProfilePoint
from pmo_events.figures.benefits import Contribution, Measured, benefit_to_date, measured_number, planned_by

PROFILE = (
    BenefitProfilePoint(on=date(2027, 6, 30), planned_value=Decimal("100")),
    BenefitProfilePoint(on=date(2027, 12, 31), planned_value=Decimal("300")),
)
FEEDS = (Contribution("p-1", "#1", Decimal("0.6")), Contribution("p-2", "#1", Decimal("0.4")))
MEASURED = {
    ("p-1", "#1"): [Measured(date(2027, 5, 1), Decimal("100")), Measured(date(2027, 8, 1), Decimal("150"))],
    ("p-2", "#1"): [Measured(date(2027, 7, 1), Decimal("50"))],
}


def test_nothing_is_planned_or_realised_before_the_first_date_and_measurement() -> None:
    before = benefit_to_date(PROFILE, FEEDS, MEASURED, date(2027, 4, 30))
    assert (before.planned, before.realised) == (Decimal(0), Decimal(0))
    assert [(c.latest, c.contributed) for c in before.contributions] == [(None, Decimal(0)), (None, Decimal(0))]


def test_planned_is_the_profile_value_at_its_last_date_on_or_before_the_day() -> None:
    assert planned_by(PROFILE, date(2027, 6, 29)) == Decimal(0)
    assert planned_by(PROFILE, date(2027, 6, 30)) == Decimal("100")
    assert planned_by(PROFILE, date(2027, 12, 30)) == Decimal("100")
    assert planned_by(PROFILE, date(2028, 1, 1)) == Decimal("300")


def test_realised_is_each_feeds_latest_measurement_by_the_day_times_its_share_summed() -> None:
    june = benefit_to_date(PROFILE, FEEDS, MEASURED, date(2027, 6, 30))
    assert (june.planned, june.realised) == (Decimal("100"), Decimal("60"))  # 0.6 x 100; p-2 not measured yet
    later = benefit_to_date(PROFILE, FEEDS, MEASURED, date(2027, 9, 1))
    assert (later.planned, later.realised) == (Decimal("100"), Decimal("110"))  # 0.6 x 150 + 0.4 x 50
    assert [(c.project_id, c.latest, c.contributed) for c in later.contributions] == [
        ("p-1", Measured(date(2027, 8, 1), Decimal("150")), Decimal("90.0")),
        ("p-2", Measured(date(2027, 7, 1), Decimal("50")), Decimal("20.0")),
    ]


def test_a_measurement_states_what_is_realised_so_far_so_a_lower_one_lowers_the_roll_up() -> None:
    measured = {("p-1", "#1"): [Measured(date(2027, 5, 1), Decimal("100")), Measured(date(2027, 6, 1), Decimal("70"))]}
    assert benefit_to_date(PROFILE, FEEDS[:1], measured, date(2027, 6, 1)).realised == Decimal("42.0")


def test_of_one_days_measurements_the_last_recorded_counts_and_a_later_recorded_earlier_day_does_not() -> None:
    day = date(2027, 5, 1)
    measured = {
        ("p-1", "#1"): [
            Measured(day, Decimal("100")),
            Measured(day, Decimal("80")),
            Measured(date(2027, 4, 1), Decimal("999")),  # recorded last, but measured before: not the latest
        ]
    }
    half = (Contribution("p-1", "#1", Decimal("0.5")),)
    assert benefit_to_date(PROFILE, half, measured, day).realised == Decimal("40")


def test_a_benefit_without_feeds_realises_nothing() -> None:
    alone = benefit_to_date(PROFILE, (), MEASURED, date(2028, 1, 1))
    assert (alone.planned, alone.realised, alone.contributions) == (Decimal("300"), Decimal(0), ())


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("45000", Decimal("45000")),
        (" -3.5 ", Decimal("-3.5")),
        ("999999999999999.99", Decimal("999999999999999.99")),
        ("1000000000000000", None),  # 16 integer digits
        ("NaN", None),
        ("Infinity", None),
        ("1e400", None),
        ("about 40", None),
        ("", None),
    ],
)
def test_a_measured_value_counts_as_a_number_only_when_it_is_a_finite_decimal_of_at_most_15_integer_digits(
    text: str, number: Decimal | None
) -> None:
    assert measured_number(text) == number

"""One definition of bounded input: amounts, dates, instants and fiscal periods, each refused with a named code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from pmo_events.contracts.bounds import (
    Amount,
    BoundedDate,
    BoundedInstant,
    FiscalPeriod,
    currency_places,
    scale_problem,
)


class Command(BaseModel):
    amount: Amount | None = None
    cost: Annotated[Amount, Field(ge=0)] | None = None
    day: BoundedDate | None = None
    at: BoundedInstant | None = None
    period: FiscalPeriod | None = None


def refusal(**fields: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        Command.model_validate(fields)
    error = raised.value.errors()[0]
    return ".".join(str(p) for p in error["loc"]), error["type"]


@pytest.mark.parametrize(
    "amount",
    ["1e530000", "1e9999999", "1E5", "NaN", "Infinity", "-Infinity", "1234567890123456", "1.12345", "1,5", " 1", ""],
)
def test_an_amount_out_of_bounds_is_refused_by_name(amount: str) -> None:
    assert refusal(amount=amount) == ("amount", "amount_bounds")


@pytest.mark.parametrize("number", [5, 5.5, True])
def test_an_amount_is_a_string_never_a_json_number(number: object) -> None:
    assert refusal(amount=number) == ("amount", "amount_bounds")


@pytest.mark.parametrize("amount", ["999999999999999.9999", "-999999999999999.9999", "0", "120000.00", "0.0001"])
def test_amounts_within_bounds_keep_their_value_and_scale(amount: str) -> None:
    parsed = Command.model_validate({"amount": amount}).amount
    assert parsed == Decimal(amount) and format(parsed, "f") == amount
    assert Command(amount=Decimal(amount)).model_dump(mode="json")["amount"] == amount


def test_a_sign_constraint_applies_on_top_of_the_bounds() -> None:
    assert refusal(cost="-1") == ("cost", "greater_than_equal")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_a_date_out_of_range_is_a_named_refusal(day: str) -> None:
    assert refusal(day=day) == ("day", "date_out_of_range")


def test_dates_from_1900_to_2199_are_accepted() -> None:
    assert Command.model_validate({"day": "1900-01-01"}).day == date(1900, 1, 1)
    assert Command.model_validate({"day": "2199-12-31"}).day == date(2199, 12, 31)
    assert Command(day=date(2027, 3, 1)).day == date(2027, 3, 1)  # from Python, a date as such


@pytest.mark.parametrize("day", ["-0", "0", 0, 1700000000, "1700000000", 1.5, "20270301", "2027-3-1", True])
def test_a_date_is_written_out_never_a_number_of_seconds(day: object) -> None:
    """The documents say `"type": "string", "format": "date"`; pydantic alone reads "-0" as 1970-01-01."""
    assert refusal(day=day) == ("day", "date_format")


@pytest.mark.parametrize("instant", ["-0", "0", 0, 1700000000, "1700000000", 1.5, "2027-03-01", True])
def test_an_instant_is_written_out_never_a_number_of_seconds(instant: object) -> None:
    assert refusal(at=instant) == ("at", "instant_format")


@pytest.mark.parametrize(
    "instant",
    [
        "9999-12-31T23:59:59-14:00",  # converting it to UTC overflows
        "0001-01-01T00:00:00+14:00",
        "2199-12-31T23:00:00-14:00",  # 2200 in UTC
        "1899-12-31T23:59:59Z",
    ],
)
def test_an_instant_out_of_range_is_a_named_refusal(instant: str) -> None:
    assert refusal(at=instant) == ("at", "instant_out_of_range")


def test_an_instant_needs_a_time_zone() -> None:
    assert refusal(at="2027-03-01T09:30:00") == ("at", "timezone_aware")
    assert Command.model_validate({"at": "2027-03-01T10:30:00+01:00"}).at == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("period", ["9999-Q4", "FY9999-Q4", "FY2027-Q5", "FY2027-P13", "2027", "", "FY2027\ud800"])
def test_a_fiscal_period_follows_its_documented_format(period: str) -> None:
    assert refusal(period=period) == ("period", "fiscal_period")


def test_an_amount_is_at_its_currencys_scale() -> None:
    assert [currency_places(c) for c in ("EUR", "JPY", "KWD", None)] == [2, 0, 3, 2]
    assert scale_problem(Decimal("1.05"), "EUR") is None
    assert scale_problem(Decimal("1.005"), "EUR") == "EUR: at most 2 places after the point"
    assert scale_problem(Decimal("100.5"), "JPY") == "JPY: at most 0 places after the point"
    assert scale_problem(Decimal("100.000"), "JPY") is None  # trailing zeros change nothing


def test_the_documents_say_the_bounds() -> None:
    schema = Command.model_json_schema()["properties"]
    bounds = {name: next(s for s in prop["anyOf"] if s.get("type") == "string") for name, prop in schema.items()}
    assert bounds["amount"]["pattern"] == r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$"
    assert {name: b.get("x-pmo-bound") for name, b in bounds.items()} == {
        "amount": "amount",
        "cost": "amount",
        "day": "date",
        "at": "instant",
        "period": None,
    }
    assert "FY2027" in bounds["period"]["description"]

"""Bounded inputs, one definition: every amount, date, instant and fiscal period a client sends.

A value outside these bounds is refused at the edge with a 422 naming the field and a stable `code`, so
nothing downstream (arithmetic, the database, the event's encoded size, the broker) ever meets it:

- **Amount**: a decimal string (never a JSON number), finite, at most `MAX_INTEGER_DIGITS` (15) digits
  before the point and at most `MAX_PLACES` (4, the largest ISO 4217 minor unit) after it; where the
  currency is known its own scale applies (`check_scale`: 2 places in EUR, none in JPY). Code `amount_bounds`.
- **BoundedDate**: a calendar date written YYYY-MM-DD (never a number of seconds: code `date_format`) from
  `EARLIEST` (1900-01-01) to `LATEST` (2199-12-31). Code `date_out_of_range`.
- **BoundedInstant**: an instant written in ISO 8601 (code `instant_format`) with a time zone in the same
  range. Code `instant_out_of_range` (`timezone_aware` without a zone).
- **FiscalPeriod**: `FY2027`, `FY2027-Q1` or `FY2027-P01`, fiscal years 1900 to 2199. Code `fiscal_period`.

Recorded events are not re-validated against these bounds when read (an event stored before a bound
existed must still load); commands are where a value is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, WithJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from pmo_events.figures.fiscal import PERIOD_NAME, PERIOD_NAME_RULE, FiscalPeriodName

#: Digits before the point of any amount: 999 trillion is more than any portfolio will hold.
MAX_INTEGER_DIGITS = 15
#: Places after the point of any amount: the largest ISO 4217 minor unit (CLF, UYW).
MAX_PLACES = 4
#: The first and the last day the product accepts (dates and instants alike).
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

AMOUNT_BOUND = f"at most {MAX_INTEGER_DIGITS} digits before the point and {MAX_PLACES} after it"
AMOUNT_RULE = f'an amount is a decimal string with {AMOUNT_BOUND}, such as "120000.00"'
DATE_RULE = f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}"
INSTANT_RULE = f"an instant with a time zone, from {EARLIEST.isoformat()} to {LATEST.isoformat()}"


def amount_pattern(places: int = MAX_PLACES, integer_digits: int = MAX_INTEGER_DIGITS) -> str:
    whole = rf"^-?[0-9]{{1,{integer_digits}}}"
    return whole + (rf"(\.[0-9]{{1,{places}}})?$" if places else "$")


AMOUNT_PATTERN = amount_pattern()


def _amount(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else "not finite"
    elif isinstance(value, str):
        text = value
    else:
        raise PydanticCustomError("amount_bounds", 'send the amount as a decimal string such as "120000.00"')
    if not re.fullmatch(AMOUNT_PATTERN, text):
        raise PydanticCustomError("amount_bounds", AMOUNT_RULE)
    return text


@dataclass(frozen=True)
class AmountText:
    """Annotated marker: a bounded decimal string (see the module). Add `Field(ge=0)` for a sign."""

    description: str = "an amount as a decimal string (never a JSON number)"
    example: str = "120000.00"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        checked = core_schema.decimal_schema(
            allow_inf_nan=False,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: format(v, "f")),
        )
        return core_schema.no_info_before_validator_function(_amount, checked)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {
            "type": "string",
            "format": "decimal",
            "pattern": AMOUNT_PATTERN,
            "description": f"{self.description}: {AMOUNT_BOUND}",
            "x-pmo-bound": "amount",
            "examples": [self.example],
        }


#: Money in a request (see the module): finite, 15 integer digits at most, 4 places at most.
Amount = Annotated[Decimal, AmountText()]


#: ISO 4217 minor units where they are not 2 (the exponent of the currency's smallest unit).
_MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV"), 0
    ),
    **dict.fromkeys(("XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def currency_places(currency: str | None) -> int:
    """Decimal places of a currency's amounts (ISO 4217 minor units; 2 when unknown or not given)."""
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def exceeds_scale(amount: Decimal, places: int) -> bool:
    """True when `amount` has more places after the point than `places` (`1.005` with 2)."""
    return amount != amount.quantize(Decimal(1).scaleb(-places)) if amount.is_finite() else True


def scale_problem(amount: Decimal, currency: str | None) -> str | None:
    """Why `amount` does not fit `currency`'s scale (`"EUR amounts have at most 2 places ..."`), or None."""
    places = currency_places(currency)
    if not exceeds_scale(amount, places):
        return None
    return f"{currency or 'amounts without a currency'}: at most {places} places after the point"


#: As the documents say (`"format": "date"`, `"format": "date-time"`): pydantic alone would also read a
#: number, or a string of digits, as seconds since 1970 (`"-0"` was 1970-01-01).
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*", re.DOTALL)
DATE_FORMAT_RULE = "a date is written YYYY-MM-DD, such as 2027-03-01"
INSTANT_FORMAT_RULE = "an instant is written in ISO 8601 with a time zone, such as 2027-03-01T09:30:00Z"


def _date_written_out(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE_TEXT.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", DATE_FORMAT_RULE)


def _instant_written_out(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _INSTANT_TEXT.fullmatch(value)):
        return value
    raise PydanticCustomError("instant_format", INSTANT_FORMAT_RULE)


def _in_date_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError("date_out_of_range", DATE_RULE)
    return value


def _in_instant_range(value: datetime) -> datetime:
    # The wall-clock date first: converting 9999-12-31T23:59:59-14:00 to UTC would overflow.
    if not EARLIEST <= value.date() <= LATEST:
        raise PydanticCustomError("instant_out_of_range", INSTANT_RULE)
    if not EARLIEST <= value.astimezone(UTC).date() <= LATEST:
        raise PydanticCustomError("instant_out_of_range", INSTANT_RULE)
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "an instant needs a time zone, such as 2027-03-01T09:30:00Z")
    return value


#: A date in a request: written YYYY-MM-DD (else `date_format`), 1900-01-01 to 2199-12-31, else a 422
#: `date_out_of_range`.
BoundedDate = Annotated[
    date,
    BeforeValidator(_date_written_out),
    AfterValidator(_in_date_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": DATE_RULE,
            "examples": ["2027-03-01"],
            "x-pmo-bound": "date",
        }
    ),
]
#: An instant in a request or a query: written in ISO 8601 (else `instant_format`), with a time zone, 1900 to
#: 2199, else a 422 `instant_out_of_range`.
BoundedInstant = Annotated[
    datetime,
    BeforeValidator(_instant_written_out),
    AfterValidator(_aware),
    AfterValidator(_in_instant_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": INSTANT_RULE,
            "examples": ["2027-03-01T09:30:00Z"],
            "x-pmo-bound": "instant",
        }
    ),
]
#: A fiscal period name in a request: FY2027, FY2027-Q1 or FY2027-P01 (fiscal years 1900 to 2199).
FiscalPeriod = FiscalPeriodName

__all__ = [
    "AMOUNT_BOUND",
    "AMOUNT_PATTERN",
    "AMOUNT_RULE",
    "DATE_RULE",
    "EARLIEST",
    "INSTANT_RULE",
    "LATEST",
    "MAX_INTEGER_DIGITS",
    "MAX_PLACES",
    "PERIOD_NAME",
    "PERIOD_NAME_RULE",
    "Amount",
    "AmountText",
    "BoundedDate",
    "BoundedInstant",
    "FiscalPeriod",
    "amount_pattern",
    "currency_places",
    "exceeds_scale",
    "scale_problem",
]

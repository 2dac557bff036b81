"""How numbers and instants travel over HTTP: decimal strings at a fixed scale, instants in UTC with `Z`.

Request bounds (amounts, dates, instants, fiscal periods) are defined once in `pmo_events.contracts.bounds`.
Money is a decimal string at its currency's scale (`"1200000.00"` in EUR, `"5000"` in JPY); FTE is a
decimal string with four places (`"0.5000"`: averages over a period need them); ratios (SPI, CPI,
utilisation, alignment) are decimal strings with four places (`"1.0139"`); instants are RFC 3339 in
UTC ending in `Z`. Inputs take strings only: a JSON number for money is refused (floats cannot hold money).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AwareDatetime, GetCoreSchemaHandler, GetJsonSchemaHandler, PlainSerializer, WithJsonSchema
from pydantic_core import CoreSchema, core_schema

from pmo_events.contracts.bounds import Amount, currency_places

FTE_PLACES = 4
RATIO_PLACES = 4
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def fixed_pattern(places: int) -> str:
    """The pattern of a decimal string written at exactly `places` places: `^-?[0-9]+\\.[0-9]{4}$`."""
    return rf"^-?[0-9]+\.[0-9]{{{places}}}$" if places else r"^-?[0-9]+$"


def fixed_text(value: Decimal | int | str, places: int) -> str:
    """`value` written at exactly `places` places (half to even)."""
    if type(value) is str and _written_at(places, value):
        return value
    return format(_fixed(value, places), "f")


#: `Decimal(1).scaleb(-places)` for the scales the services write (made once, not at every figure).
_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(8))
#: A decimal string exactly as `format(Decimal(text), "f")` writes it back at `places` places: no sign but
#: `-`, no leading zero, ASCII digits, no exponent, no spaces. Such a text at its scale is its own fixed text
#: (quantizing changes nothing; past the context's precision it stays as it is, as `_fixed` leaves it).
_WRITTEN_AT = tuple(
    re.compile(rf"-?(?:0|[1-9][0-9]*)\.[0-9]{{{places}}}" if places else r"-?(?:0|[1-9][0-9]*)").fullmatch
    for places in range(8)
)


def _written_at(places: int, text: str) -> bool:
    """True when `text` is already the fixed text of its value at `places` (answers read stored figures back
    as text at their scale: a status report's eight amounts, a budget's lines)."""
    return 0 <= places < len(_WRITTEN_AT) and _WRITTEN_AT[places](text) is not None


def _fixed(value: Decimal | int | str, places: int) -> Decimal:
    """`value` at `places`; a figure recorded before inputs were bounded, too large to quantize, as it is
    (an event that exceeds today's bounds still loads and is still shown, never a 500)."""
    quantum = _QUANTA[places] if 0 <= places < len(_QUANTA) else Decimal(1).scaleb(-places)
    try:
        return Decimal(value).quantize(quantum, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return Decimal(value)


def money_text(amount: Decimal | int | str, currency: str | None) -> str:
    """`930000` in EUR → `"930000.00"`: the amount at its currency's scale."""
    places = currency_places(currency)
    if type(amount) is str and _written_at(places, amount):
        return amount
    return format(_fixed(amount, places), "f")


def fte_text(value: Decimal | int | str) -> str:
    """`0.5` → `"0.5000"`."""
    if type(value) is str and _written_at(FTE_PLACES, value):
        return value
    return format(_fixed(value, FTE_PLACES), "f")


def ratio_text(value: Decimal | int | str | None) -> str | None:
    """`1.01388…` → `"1.0139"`; an undefined ratio (zero denominator) stays `None`."""
    if value is None:
        return None
    if type(value) is str and _written_at(RATIO_PLACES, value):
        return value
    return format(_fixed(value, RATIO_PLACES), "f")


def instant_text(value: datetime) -> str:
    """An aware instant as RFC 3339 in UTC: `2027-03-01T09:30:00Z`."""
    if value.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _schema(description: str, example: str, *, pattern: str = DECIMAL_PATTERN) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "format": "decimal", "pattern": pattern, "description": description, "examples": [example]}
    )


def _plain_decimal_text(value: Any) -> Any:
    """Decimal inputs travel as plain strings: a JSON number would already have been rounded by the client."""
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError('send a decimal string such as "120000.00", not a number')
    if not re.fullmatch(DECIMAL_PATTERN, value):
        raise ValueError('a decimal string has digits and at most one point, such as "120000.00"')
    return value


#: Money in a response: a decimal string whose scale the view set (see `money_text`).
Money = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v, "f"), return_type=str),
    _schema("an amount as a decimal string at its currency's scale", "120000.00"),
]
#: FTE in a response: four places.
Fte = Annotated[
    Decimal,
    PlainSerializer(fte_text, return_type=str),
    _schema("full-time equivalents, four decimal places", "0.5000", pattern=fixed_pattern(FTE_PLACES)),
]
#: A ratio or score in a response (SPI, CPI, utilisation, alignment, a weight, a mean score): four places,
#: always written out (`"1.0000"`), so the schema's pattern says so (docs/api.md, the uniform-fields test).
Ratio = Annotated[
    Decimal,
    PlainSerializer(lambda v: ratio_text(v), return_type=str),
    _schema("a ratio, four decimal places", "1.0139", pattern=fixed_pattern(RATIO_PLACES)),
]
#: Another decimal quantity in a response (hours per week, a day rate without a currency): two places.
Decimal2 = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(_fixed(v, 2), "f"), return_type=str),
    _schema("a decimal string, two places", "37.50"),
]
#: A decimal as it was given (weights, scores): a decimal string, its scale the input's.
DecimalString = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v, "f"), return_type=str),
    _schema("a decimal string", "0.5"),
]
#: An instant in a response: UTC, `Z`.
Instant = Annotated[
    AwareDatetime,
    PlainSerializer(instant_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2027-03-01T09:30:00Z"]}),
]


@dataclass(frozen=True)
class DecimalText:
    """A decimal request field: a string of at most `digits` digits, `places` of them after the point.

    `Annotated[Decimal, DecimalText(15, 2, "an amount", "120000.00")]`; a JSON number is refused.
    """

    digits: int
    places: int
    description: str
    example: str

    @property
    def pattern(self) -> str:
        whole = rf"^-?[0-9]{{1,{self.digits - self.places}}}"
        return whole + (rf"(\.[0-9]{{1,{self.places}}})?$" if self.places else "$")

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        checked = core_schema.decimal_schema(max_digits=self.digits, decimal_places=self.places)
        return core_schema.no_info_before_validator_function(_plain_decimal_text, checked)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {
            "type": "string",
            "format": "decimal",
            "pattern": self.pattern,
            "description": self.description,
            "examples": [self.example],
        }


#: Money in a request: `pmo_events.contracts.bounds.Amount` (15 digits before the point, 4 after; its
#: currency may allow fewer places, see `scale_problem`).
MoneyInput = Amount
#: FTE in a request: up to 4 places.
FteInput = Annotated[Decimal, DecimalText(6, FTE_PLACES, "full-time equivalents as a decimal string", "0.5")]

"""The fixed texts of figures (`money_text`, `fte_text`, `ratio_text`, `fixed_text`) are what they were before a
text already at its scale was answered as it is (session 15): the same string as quantizing its value and
writing it, for every text, Decimal and integer, at every scale the services write and beyond."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pmo_events.contracts.bounds import currency_places
from pmo_servicekit.contract.wire import FTE_PLACES, RATIO_PLACES, fixed_text, fte_text, money_text, ratio_text


def _reference(value: Decimal | int | str, places: int) -> str:
    """The texts as written before: quantized at `places` half to even, as it is when too large to quantize."""
    try:
        fixed = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        fixed = Decimal(value)
    return format(fixed, "f")


def _outcome(write: object, *args: object) -> tuple[str, object]:
    try:
        return "text", write(*args)  # type: ignore[operator]
    except Exception as exc:  # the same refusal (a text that is no number) is the same behaviour
        return "raises", type(exc)


#: Texts near the fast path's edges: signs, leading zeros, exponents, spaces, other digits, too many places.
_TEXTS = st.one_of(
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,35})(\.[0-9]{0,6})?\Z"),
    st.from_regex(r"\A[+-]?[0-9]{1,4}(\.[0-9]{0,5})?([eE][+-]?[0-9])?\Z"),
    st.from_regex(r"\A\s?-?0{1,3}[0-9]{0,3}\.?[0-9]{0,5}\s?\Z"),
    st.sampled_from(
        [
            "-0",
            "-0.00",
            "0.0000",
            "00.00",
            "1_000.00",
            "\u0661\u0662.\u0665\u0660",
            "NaN",
            "Infinity",
            "-inf",
            "",
            "1e3",
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
)
_VALUES = st.one_of(
    _TEXTS,
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.integers(min_value=-(10**40), max_value=10**40),
)
_CURRENCIES = st.sampled_from(["EUR", "JPY", "BHD", "CLF", "usd", "", None, "XXX"])


@settings(max_examples=3000, deadline=None)
@given(value=_VALUES, currency=_CURRENCIES)
@example(value="30000.00", currency="EUR")
@example(value="1234567890123456789012345678901.00", currency="EUR")  # past the precision: left as it is
@example(value="007.00", currency="EUR")
@example(value="-0.00", currency="EUR")
def test_money_text_is_the_quantized_text(value: Decimal | int | str, currency: str | None) -> None:
    assert _outcome(money_text, value, currency) == _outcome(_reference, value, currency_places(currency))


@settings(max_examples=3000, deadline=None)
@given(value=_VALUES, places=st.integers(min_value=0, max_value=10))
@example(value="1.0139", places=4)
@example(value="1.01388", places=4)
def test_fixed_texts_are_the_quantized_text(value: Decimal | int | str, places: int) -> None:
    assert _outcome(fixed_text, value, places) == _outcome(_reference, value, places)
    assert _outcome(fte_text, value) == _outcome(_reference, value, FTE_PLACES)
    assert _outcome(ratio_text, value) == _outcome(_reference, value, RATIO_PLACES)


def test_an_undefined_ratio_stays_none() -> None:
    assert ratio_text(None) is None

"""How money reads where people read it (problem details, board packs): "EUR 950,000.00"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def readable_money(amount: Decimal, currency: str | None = None) -> str:
    """`EUR 950,000.00`: the currency code, thousands separated, cents; no currency when unknown."""
    try:
        figure = format(amount.quantize(Decimal("0.01")), ",f")
    except InvalidOperation:
        figure = format(amount, ",f")
    return f"{currency} {figure}" if currency else figure


def readable_number(value: Decimal) -> str:
    """A plain decimal as written by a person: `12`, `0.5`, never `Decimal('12')` or `1.2E+1`."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")

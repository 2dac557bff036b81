"""Money and numbers as a PMO user reads them in a problem detail."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.figures.money import readable_money, readable_number


def test_money_reads_with_its_currency_and_thousands() -> None:
    assert readable_money(Decimal("950000"), "EUR") == "EUR 950,000.00"
    assert readable_money(Decimal("-1234.5"), "GBP") == "GBP -1,234.50"
    assert readable_money(Decimal("12"), None) == "12.00"


def test_numbers_read_as_written_never_as_python() -> None:
    assert readable_number(Decimal("12")) == "12"
    assert readable_number(Decimal("1.2E+1")) == "12"
    assert readable_number(Decimal("0.25")) == "0.25"

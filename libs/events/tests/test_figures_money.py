"""Money and numbers as a PMO user reads them in a problem detail."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.figures.money import money_text, number_text


def test_money_reads_with_its_currency_and_thousands() -> None:
    assert money_text(Decimal("950000"), "EUR") == "EUR 950,000.00"
    assert money_text(Decimal("-1234.5"), "GBP") == "GBP -1,234.50"
    assert money_text(Decimal("12"), None) == "12.00"


def test_numbers_read_as_written_never_as_python() -> None:
    assert number_text(Decimal("12")) == "12"
    assert number_text(Decimal("1.2E+1")) == "12"
    assert number_text(Decimal("0.25")) == "0.25"

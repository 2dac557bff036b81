"""A programme's benefits map by a day: each programme benefit's profile planned to date against what the
project benefits feeding it realised, by share.

The portfolio's definition (`pmo_portfolio.programmes.domain.benefits.benefit_to_date`), read from the same
facts: a project benefit's latest numeric measurement on or before the day (of one day's, the last
recorded) times its share, summed; planned is the profile's value at its last date on or before the day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from pmo_reporting.projections.delivery import PROJECT
from pmo_reporting.reports.common import Body, DocumentView, money

#: A measured value is a number when it is a finite decimal of at most this many integer digits.
MAX_INTEGER_DIGITS = 15
ZERO = Decimal(0)


def number(text: str) -> Decimal | None:
    """`45000`, `-3.5`: a finite decimal of at most 15 integer digits; anything else is not a number."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value.adjusted() >= MAX_INTEGER_DIGITS:
        return None
    return value


def planned_by(profile: list[Body], day: date) -> Decimal:
    """The profile's value at its last date on or before `day` (nothing is planned before its first date)."""
    reached = [Decimal(p["planned_value"]) for p in profile if date.fromisoformat(p["on"]) <= day]
    return reached[-1] if reached else ZERO


def latest_measurement(project: Body | None, benefit_id: str, day: date) -> tuple[Decimal, str] | None:
    """The project benefit's latest numeric measurement by `day` (of one day's, the last recorded)."""
    found = [
        (value, r["measured_on"], r["recorded_at"])
        for r in (project or {}).get("realisations", [])
        if r.get("benefit_id") == benefit_id
        and date.fromisoformat(r["measured_on"]) <= day
        and (value := number(r["measured_value"])) is not None
    ]
    if not found:
        return None
    value, measured_on, _ = max(found, key=lambda m: (m[1], m[2]))
    return value, measured_on


def benefit_line(docs: DocumentView, benefit: Body, day: date, currency: str | None) -> Body:
    """One benefit of the map: its profile, what is planned and realised by `day`, each contribution's part."""

    def text(value: Decimal) -> str:
        """In the currency's places when the benefit is money, else to two places."""
        return money(value, currency) if benefit["unit"] == currency else format(value.quantize(Decimal("0.01")), "f")

    def measured(value: Decimal) -> str:
        """A measurement as recorded; money at the currency's scale."""
        return money(value, currency) if benefit["unit"] == currency else format(value, "f")

    contributions = []
    for c in benefit["contributions"]:
        latest = latest_measurement(docs.get(PROJECT, c["project_id"]), c["project_benefit_id"], day)
        contributed = latest[0] * Decimal(c["share"]) if latest else ZERO
        contributions.append({
            **c,
            "measured_value": measured(latest[0]) if latest else None,
            "measured_on": latest[1] if latest else None,
            "contributed": contributed,
        })  # fmt: skip
    realised = sum((c["contributed"] for c in contributions), ZERO)
    return {
        **{k: benefit[k] for k in ("benefit_id", "description", "owner", "unit")},
        "profile": [{"on": p["on"], "planned_value": text(Decimal(p["planned_value"]))} for p in benefit["profile"]],
        "as_of": day.isoformat(),
        "planned_to_date": text(planned_by(benefit["profile"], day)),
        "realised_to_date": text(realised),
        "contributions": [{**c, "contributed": text(c["contributed"])} for c in contributions],
    }


def benefits_map(docs: DocumentView, programme: Body, day: date, currency: str | None) -> list[Body]:
    """The programme's benefits in the order they were first put on the map."""
    return [benefit_line(docs, b, day, currency) for b in programme.get("benefits", []) if b["unit"] is not None]

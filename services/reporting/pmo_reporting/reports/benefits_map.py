"""A programme's benefits map by a day: each programme benefit's profile planned to date against what the
project benefits feeding it realised, by share.

The rule is the portfolio's own, `pmo_events.figures.benefits.benefit_to_date`, read here from the same facts
(the programme's and its projects' documents).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.contracts.portfolio import BenefitProfilePoint
from pmo_events.figures.benefits import Contribution, Measured, benefit_to_date, measured_number
from pmo_reporting.projections.delivery import PROJECT
from pmo_reporting.reports.common import Body, DocumentView, money


def measurements(project: Body | None, benefit_id: str) -> list[Measured]:
    """The project benefit's numeric measurements, in the order they were recorded."""
    realisations = sorted((project or {}).get("realisations", []), key=lambda r: r["recorded_at"])
    return [
        Measured(date.fromisoformat(r["measured_on"]), value)
        for r in realisations
        if r.get("benefit_id") == benefit_id and (value := measured_number(r["measured_value"])) is not None
    ]


def benefit_line(docs: DocumentView, benefit: Body, day: date, currency: str | None) -> Body:
    """One benefit of the map: its profile, what is planned and realised by `day`, each contribution's part."""

    def text(value: Decimal) -> str:
        """In the currency's places when the benefit is money, else to two places."""
        return money(value, currency) if benefit["unit"] == currency else format(value.quantize(Decimal("0.01")), "f")

    def measured_text(value: Decimal) -> str:
        """A measurement as recorded; money at the currency's scale."""
        return money(value, currency) if benefit["unit"] == currency else format(value, "f")

    feeds = [
        Contribution(c["project_id"], c["project_benefit_id"], Decimal(c["share"])) for c in benefit["contributions"]
    ]
    measured = {
        (f.project_id, f.project_benefit_id): measurements(docs.get(PROJECT, f.project_id), f.project_benefit_id)
        for f in feeds
    }
    profile = [BenefitProfilePoint.model_validate(p) for p in benefit["profile"]]
    to_date = benefit_to_date(profile, feeds, measured, day)
    return {
        **{k: benefit[k] for k in ("benefit_id", "description", "owner", "unit")},
        "profile": [{"on": p["on"], "planned_value": text(Decimal(p["planned_value"]))} for p in benefit["profile"]],
        "as_of": day.isoformat(),
        "planned_to_date": text(to_date.planned),
        "realised_to_date": text(to_date.realised),
        "contributions": [
            {
                **recorded,
                "measured_value": measured_text(c.latest.value) if c.latest else None,
                "measured_on": c.latest.measured_on.isoformat() if c.latest else None,
                "contributed": text(c.contributed),
            }
            for recorded, c in zip(benefit["contributions"], to_date.contributions, strict=True)
        ],
    }


def benefits_map(docs: DocumentView, programme: Body, day: date, currency: str | None) -> list[Body]:
    """The programme's benefits in the order they were first put on the map."""
    return [benefit_line(docs, b, day, currency) for b in programme.get("benefits", []) if b["unit"] is not None]

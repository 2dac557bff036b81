"""HTTP bodies of candidates: the scoring model, assessors' scores, the board's decisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StrictInt

from pmo_events.contracts.bounds import BoundedDate
from pmo_portfolio.shared.http import Body, PeriodAmountIn
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.shared import DecisionOutcome
from pmo_servicekit.contract.wire import DecimalText

Weight = Annotated[Decimal, DecimalText(12, 6, "a criterion's weight as a decimal string, above 0", "0.5"), Field(gt=0)]


#: A Saaty judgement: "3", "1/3" or a decimal, as a string.
Judgement = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9]+(\.[0-9]+)?(/[0-9]+(\.[0-9]+)?)?$")]


class CriterionBody(Body):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    weight: Weight | None = None


class ScoringModelReplace(Body):
    """Weighted criteria (`weight` on each), or a Saaty pairwise matrix in the criteria's order."""

    model_config = example(
        {"criteria": [{"key": "value", "name": "Business value", "weight": "0.5"},
                      {"key": "fit", "name": "Strategic fit", "weight": "0.3"},
                      {"key": "risk", "name": "Delivery confidence", "weight": "0.2"}]},
        {"criteria": [{"key": "value", "name": "Business value"}, {"key": "fit", "name": "Strategic fit"}],
         "pairwise_matrix": [["1", "3"], ["1/3", "1"]]},
    )  # fmt: skip

    criteria: list[CriterionBody] = Field(min_length=1, max_length=20)
    pairwise_matrix: list[list[Judgement]] | None = Field(default=None, max_length=10)


class ScoresSubmit(Body):
    model_config = example({"scores": {"value": 5, "fit": 4, "risk": 3}, "comment": "clear benefits"})

    scores: dict[str, StrictInt] = Field(min_length=1, max_length=20)
    comment: str | None = Field(default=None, max_length=5_000)


class DecisionRequest(Body):
    model_config = example(
        {
            "candidate_id": "ee908788-f026-4337-a1b2-c3d4e5f6a7b8",
            "outcome": "approved",
            "rationale": "strong case",
            "approved_budget": [{"fiscal_period": "FY2027", "amount": "120000.00"}],
        },
        {"candidate_id": "ee908788-f026-4337-a1b2-c3d4e5f6a7b8", "outcome": "deferred", "rationale": "after Q1",
         "review_on": "2099-03-31"},
    )  # fmt: skip

    candidate_id: str = Field(min_length=1, max_length=36)
    outcome: DecisionOutcome = Field(description="the status the decision gives the candidate")
    rationale: str = Field(min_length=1, max_length=10_000)
    approved_budget: list[PeriodAmountIn] = Field(default_factory=list, max_length=40)
    review_on: BoundedDate | None = Field(default=None, description="a deferral's review date, after today")
    exceeds_request_reason: str | None = Field(
        default=None,
        max_length=10_000,
        description="why an approval gives more than the request's total cost (required then, refused otherwise)",
    )
    programme_id: str | None = Field(
        default=None,
        max_length=36,
        description="an approval may name the programme the project joins (else: the one its proposal asked for)",
    )
    join_requested_programme: bool = Field(
        default=True,
        description="false: an approval naming no programme leaves out the one the proposal asked to join",
    )
    override_reason: str | None = Field(
        default=None, max_length=2000, description="why an approval goes ahead although nobody scored the candidate"
    )
    project_manager: str | None = Field(
        default=None, min_length=1, max_length=200, description="an approval may name the project's manager"
    )

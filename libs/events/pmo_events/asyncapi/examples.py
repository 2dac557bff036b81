"""One realistic example per published event, built from the demo data set's people, money and dates.

Values are chosen by field name (an amount is money, `decided_by` a person), then by type, walking the
contract's pydantic fields; every example is validated by its contract, so it is what the wire carries.
One initiative keeps one id from proposal to candidate to project, as in the system itself.
"""

from __future__ import annotations

import types
import typing
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from pmo_events.contracts.base import Event

_NAMESPACE = uuid.UUID("6f0e1c3a-8f5e-4d8c-9d27-5a1f0b7c2e11")
INITIATIVE = str(uuid.uuid5(_NAMESPACE, "initiative"))  # proposal = candidate = project
PORTFOLIO = str(uuid.uuid5(_NAMESPACE, "portfolio"))
WHEN = datetime.fromisoformat("2026-11-25T10:15:00+00:00")

IDS = {"proposal_id": INITIATIVE, "candidate_id": INITIATIVE, "project_id": INITIATIVE, "portfolio_id": PORTFOLIO}
TEXT = {
    "title": "Customer portal",
    "summary": "Self-service portal for account changes",
    "name": "Digital Change",
    "description": "Online share of revenue above 40%",
    "rationale": "Strongest weighted score; fits the FY2027 envelope",
    "justification": "The vendor slipped the integration by a quarter",
    "subject": "Vendor onboarding",
    "category": "delivery",
    "requester": "rachel",
    "sponsor": "carol",
    "owner": "paula",
    "assessor": "bob",
    "currency": "EUR",
    "fiscal_period": "FY2027",
    "role": "developer",
    "pool": "Engineering",
    "measure": "Online revenue share",
    "target_value": "40",
    "measured_value": "12",
    "unit": "percent",
    "reference": "CR-7",
    "from_stage": "plan",
    "to_stage": "execute",
    "week": "2027-W03",
    "key": "value",
    "cpi": "0.97",
    "spi": "1.02",
    "review_on": "2027-06-30",
    "risk_level": "medium",
    "reason": "Superseded by the group-wide CRM programme",
    "comment": "Clear benefits, thin on migration risk",
    "note": "Measured from the web analytics dashboard",
    "notes": "Sponsor confirmed the scope",
    "kind": "investment",
    "outcome": "approve",
    "voter": "bob",
    "chair": "alice",
    "portfolio_manager": "paula",
    "project_manager": "pete",
    "previous": "paul",
    "recommendation": "rescope",
}
MONEY = {"amount": "120000.00", "budget": "500000.00", "envelope": "500000.00", "committed": "380000.00",
         "remaining": "120000.00", "cost": "120000.00", "bac": "120000.00", "actual_cost": "38000.00",
         "earned_value": "36000.00", "planned_value": "40000.00", "final_cost": "118500.00",
         "value_amount": "50000.00", "total_value": "12.6", "cost_rate": "650.00"}  # fmt: skip
NUMBERS = {"fte": "0.5", "capacity": "1.0", "load": "1.2", "excess": "0.2", "hours_per_week": "37.5", "weight": "3",
           "green_at": "0.05", "amber_at": "0.15", "percent_complete": "35", "weighted_score": "4.2",
           "strategic_alignment": "0.8", "consistency_ratio": "0.04"}  # fmt: skip
INTEGERS = {"contribution": 4, "level": 3, "every_days": 90, "submission": 1, "rank": 1, "ranked_candidates": 6,
            "version": 2, "charter_version": 2, "quorum": 2, "voting_days": 14, "action_due_days": 14,
            "votes_for": 2, "votes_against": 0, "abstentions": 0, "not_voted": 0}  # fmt: skip
DATES = {"start": "2027-01-01", "end": "2027-12-31", "period_start": "2027-01-01", "period_end": "2027-03-31",
         "realise_by": "2028-06-30", "measured_on": "2027-09-30", "effective_on": "2027-04-01",
         "retired_on": "2029-12-31", "new_end": "2028-03-31"}  # fmt: skip
LISTS: dict[str, list[Any]] = {
    "board_members": ["alice", "bob"],
    "members": ["alice", "bob", "carol"],
    "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "changed_fields": ["summary"],
    "selected": [INITIATIVE],
    "possible_duplicates": [],
    "dependencies": [],
    "tags": ["crm"],
    "issues": ["Integration vendor late"],
    "risks": ["Data migration quality"],
    "binding_constraints": ["budget:FY2027:"],
}
MAPPINGS: dict[str, dict[str, Any]] = {
    "scores": {"value": 4, "cost": 3},
    "criterion_scores": {"value": "4", "cost": "3"},
    "parameters": {"value": "weighted_score", "as_of_version": 12},
}
_REQUESTER_CONFLICT = {"subject": "rachel", "reason": "requester", "declared": False}
#: Where a contract's own rules need a particular combination.
OVERRIDES: dict[str, dict[str, Any]] = {
    "pmo.portfolio.ScoringModelSet.v1": {"pairwise_matrix": None, "consistency_ratio": None},
    "pmo.portfolio.StatusReported.v1": {"correction_of": None},
    # A dependency's provider is a project or a programme milestone: the examples show both.
    **{
        f"pmo.portfolio.{name}.v2": {"provider_project_id": None}
        for name in ("DependencyRegistered", "DependencyAtRisk")
    },
    **{
        f"pmo.portfolio.{name}.v2": {"provider_milestone": None}
        for name in ("DependencyRiskCleared", "DependencyWithdrawn")
    },
    **{
        f"pmo.portfolio.{name}.v1": {"conflicts": [_REQUESTER_CONFLICT], "reference": None}
        for name in ("MotionCarried", "MotionDefeated", "MotionLapsed")
    },
    "pmo.portfolio.MotionProposed.v1": {
        "qualified_share": None,
        "override_reason": None,
        "reference": None,
        "conflicts": [_REQUESTER_CONFLICT],
    },
    "pmo.portfolio.BoardCharterSet.v1": {
        "charter": {
            "version": 2,
            "members": ["alice", "bob", "carol"],
            "chair": "alice",
            "quorum": 2,
            "rule": "simple_majority",
            "voting_days": 14,
            "delegated_authority": {"portfolio_manager": "paula", "up_to": "50000.00"},
        },
        "reason": "Three members and a portfolio manager for small investments",
    },
    "pmo.portfolio.ConflictDeclared.v1": {"subject": "carol", "reason": "Her team would supply the vendor"},
}


def event_id(type_name: str) -> str:
    """A fixed `ce_id` per example, so the committed document changes only when a contract does."""
    return str(uuid.uuid5(_NAMESPACE, type_name))


def example(cls: type[Event]) -> dict[str, Any]:
    """A valid payload of `cls`, as JSON (decimals as strings, ISO dates)."""
    data = _model(cls)
    data.update(OVERRIDES.get(cls.type_name(), {}))
    return cls.model_validate(data).model_dump(mode="json")


def _model(cls: type[BaseModel]) -> dict[str, Any]:
    return {name: _field(name, info) for name, info in cls.model_fields.items()}


def _field(name: str, info: FieldInfo) -> Any:
    kind, metadata = _unwrap(info.annotation, list(info.metadata))
    origin = typing.get_origin(kind)
    named: dict[Any, dict[str, Any]] = {
        str: IDS | TEXT,
        Decimal: MONEY | NUMBERS,
        int: INTEGERS,
        date: DATES,
        tuple: LISTS,
        dict: MAPPINGS,
    }
    table = named.get(origin if origin in (tuple, dict) else kind, {})
    return table[name] if name in table else _value(name, kind, metadata)


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type a field holds when present: `X | None` is X, `Annotated[X, ...]` is X (its metadata kept)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _unwrap(base, [*metadata, *extra])
    return annotation, metadata


def _value(name: str, kind: Any, metadata: list[Any]) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return args[0]
    if origin in (tuple, list):
        return [_value(name, *_unwrap(args[0], []))]
    if origin is dict:
        return {"value": _value(name, *_unwrap(args[1], []))}
    return _of_type(name, kind, metadata) if isinstance(kind, type) else None


def _of_type(name: str, kind: type, metadata: list[Any]) -> Any:
    if issubclass(kind, BaseModel):
        return _model(kind)
    if issubclass(kind, Enum):
        return next(iter(kind)).value
    if kind is bool:
        return True
    if kind is int:
        low = next((typing.cast(int, m.ge) for m in metadata if isinstance(m, Ge)), 1)
        high = next((typing.cast(int, m.le) for m in metadata if isinstance(m, Le)), low)
        return max(low, min(high, 3))
    if kind is Decimal:
        return "1.0"
    if kind is datetime:
        return WHEN.isoformat()
    if kind is date:
        return "2027-03-31"
    if kind is str:
        if name.endswith("_id"):
            return str(uuid.uuid5(_NAMESPACE, name))
        if name.endswith("_by"):
            return "alice"
        return name.replace("_", " ").capitalize()
    return None

"""HTTP answers of the RAID log (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.responses import example
from pmo_servicekit.contract.wire import Instant, Money

Level = Literal["project", "programme", "portfolio"]

_PORTFOLIO = "4b3c0f6e-0b39-4d8e-9d59-2f0a7d1f4c11"
_ITEM = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
RAID_ITEM_EXAMPLE = {
    "id": _ITEM,
    "portfolio_id": _PORTFOLIO,
    "kind": "risk",
    "title": "Billing vendor misses the June release",
    "owner": "pam",
    "level": "programme",
    "level_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "raised_level": "project",
    "raised_level_id": "ee908788-f026-4337-a1b2-c3d4e5f6a7b8",
    "status": "open",
    "probability": 4,
    "impact": 4,
    "score": 16,
    "proximity": "2027-06-30",
    "response": "reduce",
    "actions": [
        {"action_id": "a1", "description": "Qualify a second vendor", "owner": "pam", "due_on": "2027-03-31",
         "done": False}
    ],
    "overdue_actions": [],
    "history": [
        {"probability": 2, "impact": 3, "score": 6, "at": "2027-01-10T09:00:00Z", "by": "pam"},
        {"probability": 4, "impact": 4, "score": 16, "at": "2027-02-14T09:00:00Z", "by": "pam"},
    ],
    "escalated": True,
}  # fmt: skip


class ActionView(BaseModel):
    action_id: str
    description: str
    owner: str
    due_on: date
    done: bool


class ScorePointView(BaseModel):
    probability: int
    impact: int
    score: int
    at: Instant
    by: str


class RaidItemSummary(BaseModel):
    """A risk, assumption or issue: where it sits now (`level`, `level_id`) and where it was raised."""

    model_config = example(RAID_ITEM_EXAMPLE)

    id: str
    portfolio_id: str
    kind: Literal["risk", "assumption", "issue"]
    title: str
    owner: str
    level: Level
    level_id: str
    raised_level: Level
    raised_level_id: str
    status: Literal["open", "closed"]
    probability: int | None = None
    impact: int | None = None
    score: int | None = None
    proximity: date | None = None
    cost_impact: Money | None = None
    priority: Literal["low", "medium", "high", "critical"] | None = None
    due_on: date | None = None
    response: Literal["avoid", "reduce", "transfer", "accept", "exploit"] | None = None
    actions: list[ActionView]
    overdue_actions: list[str]
    history: list[ScorePointView]
    escalated: bool
    validated: bool | None = None
    resolution: str | None = None


class RaidItemView(RaidItemSummary):
    """One RAID item; `version` is its ETag."""

    model_config = example({**RAID_ITEM_EXAMPLE, "version": 3})

    version: int


class RaidItemPage(Page[RaidItemSummary]):
    """RAID items by id."""


class HeatmapCell(BaseModel):
    probability: int
    impact: int
    count: int
    raid_item_ids: list[str]


class TopRisk(BaseModel):
    id: str
    title: str
    score: int | None = None
    owner: str
    level: Level
    level_id: str
    escalated: bool


class RiskHeatmap(BaseModel):
    """Open risks on the 5x5 grid (probability rows 5..1, impact columns 1..5) and the top risks by score."""

    model_config = example(
        {
            "portfolio_id": _PORTFOLIO,
            "cells": [
                {"probability": p, "impact": i, "count": int((p, i) == (4, 4)),
                 "raid_item_ids": [_ITEM] if (p, i) == (4, 4) else []}
                for p in range(5, 0, -1)
                for i in range(1, 6)
            ],
            "top_risks": [
                {"id": _ITEM, "title": RAID_ITEM_EXAMPLE["title"], "score": 16, "owner": "pam",
                 "level": "programme", "level_id": RAID_ITEM_EXAMPLE["level_id"], "escalated": True}
            ],
        }
    )  # fmt: skip

    portfolio_id: str
    level: Level | None = None
    level_id: str | None = None
    cells: list[HeatmapCell]
    top_risks: list[TopRisk]


class ToleranceView(BaseModel):
    score: int
    cost: Money | None = None


class TolerancesView(BaseModel):
    """Above these (score 1..25, cost impact) an item escalates from a project, then from a programme."""

    model_config = example(
        {"portfolio_id": _PORTFOLIO, "project": {"score": 12, "cost": "50000.00"}, "programme": {"score": 16}}
    )

    portfolio_id: str
    project: ToleranceView
    programme: ToleranceView

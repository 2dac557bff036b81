"""HTTP answers of the RAID log (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from pmo_servicekit.contract.paging import Page
from pmo_servicekit.contract.wire import DecimalString, Instant

Level = Literal["project", "programme", "portfolio"]


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
    cost_impact: DecimalString | None = None
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

    portfolio_id: str
    level: Level | None = None
    level_id: str | None = None
    cells: list[HeatmapCell]
    top_risks: list[TopRisk]


class ToleranceView(BaseModel):
    score: int
    cost: DecimalString | None = None


class TolerancesView(BaseModel):
    """Above these (score 1..25, cost impact) an item escalates from a project, then from a programme."""

    portfolio_id: str
    project: ToleranceView
    programme: ToleranceView

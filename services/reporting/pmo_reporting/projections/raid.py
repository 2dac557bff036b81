"""The RAID log and the dependency graph as reporting keeps them: every item where it sits, its scores and
escalations; every dependency with its at-risk flag."""

from __future__ import annotations

from pmo_events.contracts.portfolio import (
    AssumptionValidated,
    DependencyAtRisk,
    DependencyRegistered,
    DependencyRiskCleared,
    DependencyWithdrawn,
    RaidActionCompleted,
    RaidItemClosed,
    RaidItemDelegated,
    RaidItemEscalated,
    RaidItemRaised,
    RiskAssessed,
    RiskResponsePlanned,
)
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

RAID_ITEM = "raid_item"
DEPENDENCY = "dependency"


def _put(docs: Documents, kind: str, doc: Body) -> None:
    docs.put(kind, doc["id"], doc, scope=doc["portfolio_id"])


@on(RaidItemRaised)
def raid_item_raised(docs: Documents, event: RaidItemRaised, meta: RecordedEvent) -> None:
    doc: Body = {
        "id": event.raid_item_id,
        "portfolio_id": event.portfolio_id,
        "kind": event.kind,
        "title": event.title,
        "owner": event.owner,
        "level": event.level,
        "level_id": event.level_id,
        "raised_level": event.level,
        "raised_level_id": event.level_id,
        "status": "open",
        "probability": event.probability,
        "impact": event.impact,
        "score": event.score,
        "priority": event.priority,
        "due_on": event.due_on.isoformat() if event.due_on else None,
        "escalated": False,
        "escalations": [],
        "actions": [],
        "response": None,
        "raised_at": instant(meta.time),
    }
    _put(docs, RAID_ITEM, doc)


def _item(docs: Documents, raid_item_id: str) -> Body | None:
    return docs.get(RAID_ITEM, raid_item_id)


@on(RiskAssessed)
def risk_assessed(docs: Documents, event: RiskAssessed, meta: RecordedEvent) -> None:
    if doc := _item(docs, event.raid_item_id):
        doc.update(probability=event.probability, impact=event.impact, score=event.score)
        _put(docs, RAID_ITEM, doc)


@on(RiskResponsePlanned)
def risk_response_planned(docs: Documents, event: RiskResponsePlanned, meta: RecordedEvent) -> None:
    if doc := _item(docs, event.raid_item_id):
        doc.update(response=event.response, actions=[a.model_dump(mode="json") for a in event.actions])
        _put(docs, RAID_ITEM, doc)


@on(RaidActionCompleted)
def raid_action_completed(docs: Documents, event: RaidActionCompleted, meta: RecordedEvent) -> None:
    if doc := _item(docs, event.raid_item_id):
        doc["actions"] = [{**a, "done": a["done"] or a["action_id"] == event.action_id} for a in doc["actions"]]
        _put(docs, RAID_ITEM, doc)


@on(RaidItemEscalated, RaidItemDelegated)
def raid_item_moved(docs: Documents, event: RaidItemEscalated | RaidItemDelegated, meta: RecordedEvent) -> None:
    if doc := _item(docs, event.raid_item_id):
        escalated = isinstance(event, RaidItemEscalated)
        move = {"from_level": event.from_level, "from_level_id": event.from_level_id, "to_level": event.to_level,
                "to_level_id": event.to_level_id, "at": instant(meta.time), "escalated": escalated,
                "reason": event.reason if isinstance(event, RaidItemEscalated) else event.rationale}  # fmt: skip
        doc.update(level=event.to_level, level_id=event.to_level_id, escalated=escalated)
        doc["escalations"] = [*doc["escalations"], move]
        _put(docs, RAID_ITEM, doc)


@on(AssumptionValidated, RaidItemClosed)
def raid_item_settled(docs: Documents, event: AssumptionValidated | RaidItemClosed, meta: RecordedEvent) -> None:
    if doc := _item(docs, event.raid_item_id):
        if isinstance(event, RaidItemClosed):
            doc.update(status="closed", resolution=event.resolution)
        else:
            doc.update(validated=event.valid)
        _put(docs, RAID_ITEM, doc)


@on(DependencyRegistered)
def dependency_registered(docs: Documents, event: DependencyRegistered, meta: RecordedEvent) -> None:
    doc: Body = {
        "id": event.dependency_id,
        "portfolio_id": event.portfolio_id,
        "dependent_project_id": event.dependent_project_id,
        "provider_project_id": event.provider_project_id,
        "provider_milestone": event.provider_milestone.model_dump() if event.provider_milestone else None,
        "needed": event.needed,
        "need_date": event.need_date.isoformat(),
        "at_risk": False,
        "cause": None,
        "provider_forecast_end": None,
    }
    _put(docs, DEPENDENCY, doc)


@on(DependencyAtRisk, DependencyRiskCleared)
def dependency_flagged(docs: Documents, event: DependencyAtRisk | DependencyRiskCleared, meta: RecordedEvent) -> None:
    doc = docs.get(DEPENDENCY, event.dependency_id)
    if doc is None:
        return
    forecast = event.provider_forecast_end.isoformat() if event.provider_forecast_end else None
    at_risk = isinstance(event, DependencyAtRisk)
    doc.update(at_risk=at_risk, cause=event.cause if isinstance(event, DependencyAtRisk) else None,
               provider_forecast_end=forecast)  # fmt: skip
    _put(docs, DEPENDENCY, doc)


@on(DependencyWithdrawn)
def dependency_withdrawn(docs: Documents, event: DependencyWithdrawn, meta: RecordedEvent) -> None:
    """Kept (as of an earlier instant it still held) but marked: the reports leave it out from then on."""
    doc = docs.get(DEPENDENCY, event.dependency_id)
    if doc is None:
        return
    doc.update(withdrawn=True, at_risk=False, cause=None)
    _put(docs, DEPENDENCY, doc)


def holding(edges: list[Body]) -> list[Body]:
    """The dependencies not withdrawn."""
    return [d for d in edges if not d.get("withdrawn")]


EFFECTS = (
    raid_item_raised,
    risk_assessed,
    risk_response_planned,
    raid_action_completed,
    raid_item_moved,
    raid_item_settled,
    dependency_registered,
    dependency_flagged,
    dependency_withdrawn,
)

"""The risk view (5x5 heatmap, top risks, escalations, overdue actions) and the dependency map."""

from __future__ import annotations

from datetime import date

from pmo_reporting.projections.delivery import PROJECT
from pmo_reporting.projections.programmes import PROGRAMME
from pmo_reporting.projections.raid import DEPENDENCY, RAID_ITEM, holding
from pmo_reporting.reports.common import Body, DocumentView


def risk_view(
    docs: DocumentView,
    portfolio_id: str,
    level: str | None,
    level_id: str | None,
    today: date,
    within: set[str] | None = None,
) -> tuple[Body, list[Body]]:
    """Open risks where they sit at the moment asked (optionally one level, one project/programme, or the
    levels `within`: a programme and its projects): the 5x5 grid, the escalations and the overdue actions;
    and the risks by score, highest first."""
    items = [
        i for i in docs.all(RAID_ITEM, scope=portfolio_id)
        if (level is None or i["level"] == level) and (level_id is None or i["level_id"] == level_id)
        and (within is None or i["level_id"] in within)
    ]  # fmt: skip
    risks = [i for i in items if i["kind"] == "risk" and i["status"] == "open"]
    cells: list[Body] = []
    for p in range(5, 0, -1):
        for m in range(1, 6):
            ids = sorted(r["id"] for r in risks if (r["probability"], r["impact"]) == (p, m))
            cells.append({"probability": p, "impact": m, "count": len(ids), "raid_item_ids": ids})
    escalations = [
        {"raid_item_id": i["id"], "title": i["title"], "kind": i["kind"], **move}
        for i in items
        for move in i["escalations"]
    ]
    overdue = [
        {"raid_item_id": i["id"], "title": i["title"], **a}
        for i in items
        if i["status"] == "open"
        for a in i["actions"]
        if not a["done"] and date.fromisoformat(a["due_on"]) < today
    ]
    ranked = sorted(risks, key=lambda r: (-(r["score"] or 0), r["id"]))
    top = [{k: r[k] for k in ("id", "title", "owner", "score", "probability", "impact", "level", "level_id",
                              "escalated")} for r in ranked]  # fmt: skip
    body = {
        "portfolio_id": portfolio_id,
        "level": level,
        "level_id": level_id,
        "cells": cells,
        "escalations": sorted(escalations, key=lambda e: (e["at"], e["raid_item_id"])),
        "overdue_actions": sorted(overdue, key=lambda a: (a["due_on"], a["raid_item_id"])),
    }
    return body, top


def dependency_map(docs: DocumentView, portfolio_id: str) -> tuple[Body, list[Body]]:
    """Nodes (the projects at either end, then the programme milestones depended on) and edges (dependent →
    provider) with their at-risk flags."""
    edges = sorted(holding(docs.all(DEPENDENCY, scope=portfolio_id)), key=lambda d: (d["need_date"], d["id"]))
    ids = sorted({d["dependent_project_id"] for d in edges} | {d["provider_project_id"] for d in edges} - {None})
    at_risk = {d["dependent_project_id"] for d in edges if d["at_risk"]}
    nodes = []
    for project_id in ids:
        project = docs.get(PROJECT, project_id) or {}
        nodes.append({"kind": "project", "project_id": project_id, "milestone": None, "title": project.get("title"),
                      "status": project.get("status"), "at_risk": project_id in at_risk})  # fmt: skip
    milestones = {(m["programme_id"], m["tranche_id"]) for d in edges if (m := d.get("provider_milestone"))}
    nodes.extend(milestone_node(docs, programme_id, tranche_id) for programme_id, tranche_id in sorted(milestones))
    return {"portfolio_id": portfolio_id, "nodes": nodes}, edges


def milestone_node(docs: DocumentView, programme_id: str, tranche_id: str) -> Body:
    """A programme milestone: its tranche's end, `met` by a `continue` review, `cancelled` when the programme
    closed before (else the tranche's status, `open` or `re_plan`)."""
    programme = docs.get(PROGRAMME, programme_id) or {}
    tranche = programme.get("tranches", {}).get(tranche_id)
    status = None
    if tranche is not None:
        met, closed = tranche["decision"] == "continue", programme.get("status") == "closed"
        status = "met" if met else "cancelled" if closed else tranche["status"]
    return {
        "kind": "milestone",
        "project_id": None,
        "milestone": {"programme_id": programme_id, "tranche_id": tranche_id},
        "title": f"{programme.get('name')}: end of {tranche['name']}" if tranche else None,
        "status": status,
        "forecast_end": tranche["end"] if tranche else None,
        "at_risk": False,
    }

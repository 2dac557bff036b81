"""The risk view (5x5 heatmap, top risks, escalations, overdue actions) and the dependency map."""

from __future__ import annotations

from datetime import date

from pmo_reporting.projections.delivery import PROJECT
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
    """Nodes (the projects at either end) and edges (dependent → provider) with their at-risk flags."""
    edges = sorted(holding(docs.all(DEPENDENCY, scope=portfolio_id)), key=lambda d: (d["need_date"], d["id"]))
    ids = sorted({d["dependent_project_id"] for d in edges} | {d["provider_project_id"] for d in edges})
    at_risk = {d["dependent_project_id"] for d in edges if d["at_risk"]}
    nodes = []
    for project_id in ids:
        project = docs.get(PROJECT, project_id) or {}
        nodes.append({"project_id": project_id, "title": project.get("title"), "status": project.get("status"),
                      "at_risk": project_id in at_risk})  # fmt: skip
    return {"portfolio_id": portfolio_id, "nodes": nodes}, edges

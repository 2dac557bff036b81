"""The programme dashboard: tranches and their reviews, projects with RAG and earned value, benefits planned
vs realised, budget vs ring-fence per fiscal period, the RAID items escalated, the dependencies at risk.

The rolled-up status is the portfolio's own definition (`pmo_portfolio.programmes.queries`): the worst RAG of
the projects' latest reports (`pmo_events.figures.earned_value.worst_rag`), their BAC, PV, EV and AC summed
and every other figure from the sums (`pmo_events.figures.earned_value.rolled_up`), so both services show the
same strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pmo_events.figures.benefits import measured_number
from pmo_events.figures.earned_value import EarnedValue, from_amounts, rolled_up, worst_rag
from pmo_reporting.projections.calendar import fiscal_calendar
from pmo_reporting.projections.delivery import PROJECT, current_budget, latest_report
from pmo_reporting.projections.programmes import PROGRAMME, manager_report
from pmo_reporting.projections.raid import DEPENDENCY, RAID_ITEM, holding
from pmo_reporting.reports.benefits import benefit_rows
from pmo_reporting.reports.benefits_map import benefits_map
from pmo_reporting.reports.common import Body, DocumentView, add_periods, currency_of, money, total
from pmo_reporting.reports.summary import period_dates
from pmo_servicekit.contract.wire import ratio_text

EVM = ("bac", "pv", "ev", "ac", "sv", "cv", "eac", "vac")


def _figures(report: Body) -> EarnedValue:
    pv = report.get("planned_value")
    return from_amounts(
        bac=Decimal(report["bac"]),
        pv=Decimal(pv) if pv is not None else None,
        ev=Decimal(report["earned_value"]),
        ac=Decimal(report["actual_cost"]),
    )


def evm_text(figures: EarnedValue | None, currency: str | None) -> Body | None:
    """Money at the currency's scale, indices as ratios; null where undefined (as the portfolio writes them)."""
    if figures is None:
        return None
    amounts = {name: getattr(figures, name) for name in EVM}
    written: Body = {name: money(value, currency) if value is not None else None for name, value in amounts.items()}
    return {**written, "spi": ratio_text(figures.spi), "cpi": ratio_text(figures.cpi)}


def _members(docs: DocumentView, programme: Body) -> dict[str, Body]:
    """The member projects reporting knows, in the order they joined."""
    found = {m["project_id"]: docs.get(PROJECT, m["project_id"]) for m in programme["projects"]}
    return {project_id: doc for project_id, doc in found.items() if doc is not None}


def status_rollup(programme: Body, members: dict[str, Body], currency: str | None) -> Body:
    reports = [r for r in (latest_report(p) for p in members.values()) if r is not None]
    rags = [r["rag"]["overall"] for r in reports]
    by_status: dict[str, int] = {}
    for project in members.values():
        by_status[project["status"]] = by_status.get(project["status"], 0) + 1
    return {
        "worst_rag": worst_rag(rags),
        "projects_reporting": len(reports),
        "projects_by_status": [{"status": s, "count": n} for s, n in sorted(by_status.items())],
        "evm": evm_text(rolled_up([_figures(r) for r in reports]), currency),
        "manager_report": manager_report(programme),
    }


def _tranche_of(programme: Body, project_id: str) -> str | None:
    tranches = sorted(programme["tranches"].values(), key=lambda t: t["sequence"])
    return next((t["tranche_id"] for t in tranches if project_id in t["project_ids"]), None)


def project_rows(docs: DocumentView, programme: Body, members: dict[str, Body], currency: str | None) -> list[Body]:
    """One row per member project: where it stands, its latest RAG and the earned value that report recorded."""
    at_risk = {d["dependent_project_id"] for d in docs.all(DEPENDENCY, scope=programme["portfolio_id"]) if d["at_risk"]}
    rows = []
    for project_id, project in members.items():
        report = latest_report(project)
        rag = (report or {}).get("rag") or {}
        rows.append({
            "project_id": project_id,
            "title": project.get("title"),
            "tranche_id": _tranche_of(programme, project_id),
            "stage": project["stage"],
            "status": project["status"],
            "end": (project.get("timeline") or {}).get("end"),
            "at_risk": project_id in at_risk,
            "period_end": report["period_end"] if report else None,
            "rag": rag.get("overall"),
            "rag_schedule": rag.get("schedule"),
            "rag_cost": rag.get("cost"),
            "percent_complete": format(Decimal(str(report["percent_complete"])), "f") if report else None,
            **((evm_text(_figures(report), currency) if report else None) or dict.fromkeys((*EVM, "spi", "cpi"))),
        })  # fmt: skip
    return rows


def ring_fence_lines(docs: DocumentView, programme: Body, members: dict[str, Body], currency: str | None) -> list[Body]:
    """Per fiscal period: the ring-fence, what the projects drew on it when they joined and what is left (the
    portfolio's figures), and the projects' current budgets (after approved changes and releases) beside them."""
    fence = {p: Decimal(a) for p, a in programme["ring_fence"].items()}
    drawn = {p: Decimal(a) for p, a in programme["drawn"].items()}
    budget: dict[str, Decimal] = {}
    for project in members.values():
        add_periods(budget, current_budget(project))
    fiscal = fiscal_calendar(docs)
    zero = Decimal(0)
    return [
        {
            "fiscal_period": period,
            **period_dates(fiscal, period),
            "ring_fence": money(fence.get(period, zero), currency),
            "drawn": money(drawn.get(period, zero), currency),
            "remaining": money(fence.get(period, zero) - drawn.get(period, zero), currency),
            "current_budget": money(budget.get(period, zero), currency),
        }
        for period in sorted(set(fence) | set(drawn) | set(budget), key=fiscal.order)
    ]


def _concerns(item: Body, ids: set[str]) -> bool:
    """The item sits at the programme or one of its projects, or was escalated out of them."""
    return item["level_id"] in ids or any(m["from_level_id"] in ids for m in item["escalations"])


def raid_lines(docs: DocumentView, programme: Body, members: dict[str, Body]) -> tuple[list[Body], dict[str, int]]:
    """The open RAID items escalated from, to or within the programme (highest score first), and open counts."""
    ids = {programme["id"], *members}
    items = [i for i in docs.all(RAID_ITEM, scope=programme["portfolio_id"]) if i["status"] == "open"]
    mine = [i for i in items if _concerns(i, ids)]
    escalated = sorted((i for i in mine if i["escalated"]), key=lambda i: (-(i["score"] or 0), i["id"]))
    counts = {kind: sum(1 for i in mine if i["kind"] == kind) for kind in ("risk", "issue", "assumption")}
    lines = [
        {k: i[k] for k in ("id", "kind", "title", "owner", "score", "probability", "impact", "level", "level_id",
                           "raised_level", "raised_level_id")} | {"escalated_at": i["escalations"][-1]["at"]}
        for i in escalated
    ]  # fmt: skip
    return lines, counts


def dependency_lines(docs: DocumentView, programme: Body, members: dict[str, Body]) -> list[Body]:
    """The dependencies with a member project at either end, or on one of the programme's milestones, by need
    date."""
    edges = holding(docs.all(DEPENDENCY, scope=programme["portfolio_id"]))
    mine = [
        d
        for d in edges
        if d["dependent_project_id"] in members
        or d["provider_project_id"] in members
        or (d.get("provider_milestone") or {}).get("programme_id") == programme["id"]
    ]
    return sorted(mine, key=lambda d: (d["need_date"], d["id"]))


def benefit_lines(members: dict[str, Body], currency: str | None) -> tuple[list[Body], Body]:
    """The member projects' benefits, planned vs latest realised, and the financial totals of both."""
    rows = [row for project in members.values() for row in benefit_rows(project, currency)]
    financial = [r for r in rows if r["kind"] == "financial" and not r["forgone"]]
    realised = [n for r in financial if (n := measured_number(r["realised_value"] or "")) is not None]
    totals = {
        "planned": money(total(r["planned_amount"] for r in financial), currency),
        "realised": money(total(realised), currency),
        "count": len(rows),
        "realised_count": sum(1 for r in rows if r["realisations"]),
    }
    return rows, totals


def programme_dashboard(docs: DocumentView, programme_id: str, day: date) -> tuple[Body, list[Body]] | None:
    """The dashboard's body and its main list (the projects), or None for a programme not known; the
    benefits map is reckoned by `day` (the day asked about)."""
    programme = docs.get(PROGRAMME, programme_id)
    if programme is None or programme.get("created_at") is None:
        return None
    currency = currency_of(docs, programme["portfolio_id"])
    members = _members(docs, programme)
    escalated, open_counts = raid_lines(docs, programme, members)
    benefits, benefit_totals = benefit_lines(members, currency)
    body = {
        **{k: programme[k] for k in ("id", "portfolio_id", "name", "vision", "senior_responsible_owner",
                                     "programme_manager", "objective_ids", "status", "created_at")},
        "currency": currency,
        "ring_fence": ring_fence_lines(docs, programme, members, currency),
        "tranches": sorted(programme["tranches"].values(), key=lambda t: t["sequence"]),
        "status_rollup": status_rollup(programme, members, currency),
        "benefits_map": benefits_map(docs, programme, day, currency),
        "benefits": benefits,
        "benefit_totals": benefit_totals,
        "open_raid": open_counts,
        "escalated_raid": escalated,
        "dependencies": dependency_lines(docs, programme, members),
    }  # fmt: skip
    return body, project_rows(docs, programme, members, currency)


def programme_list(docs: DocumentView, portfolio_id: str, day: date) -> list[Body]:
    """The portfolio's programmes by name, each with its rolled-up status and ring-fence totals."""
    rows = []
    for programme in docs.all(PROGRAMME, scope=portfolio_id):
        found = programme_dashboard(docs, programme["id"], day)
        if found is None:
            continue
        body, projects = found
        rollup = body["status_rollup"]
        evm = rollup["evm"] or {}
        fence = body["ring_fence"]
        rows.append({
            "id": body["id"], "portfolio_id": portfolio_id, "name": body["name"], "status": body["status"],
            "senior_responsible_owner": body["senior_responsible_owner"],
            "programme_manager": body["programme_manager"], "currency": body["currency"],
            "projects": len(projects), "projects_at_risk": sum(1 for p in projects if p["at_risk"]),
            "worst_rag": rollup["worst_rag"], "manager_rag": (rollup["manager_report"] or {}).get("rag", {}).get(
                "overall"),
            "bac": evm.get("bac"), "ev": evm.get("ev"), "ac": evm.get("ac"), "spi": evm.get("spi"),
            "cpi": evm.get("cpi"),
            "ring_fence": money(total(line["ring_fence"] for line in fence), body["currency"]),
            "drawn": money(total(line["drawn"] for line in fence), body["currency"]),
            "escalated_raid": len(body["escalated_raid"]),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (r["name"], r["id"]))

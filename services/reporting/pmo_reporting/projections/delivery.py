"""Projects after approval: baseline, stage and status, status reports, benefits and lessons."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.portfolio import ProjectInitiated
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

PROJECT = "project"


def project_doc(docs: Documents, project_id: str) -> Body:
    """A project's document; facts that arrive before the initiation start it as a shell."""
    return docs.get(PROJECT, project_id) or {
        "id": project_id,
        "portfolio_id": None,
        "initiated_at": None,
        "stage": "initiate",
        "status": "active",
        "status_reports": [],
        "gates": [],
        "changes": [],
        "lessons": [],
        "realisations": [],
    }


def put_project(docs: Documents, doc: Body) -> None:
    docs.put(PROJECT, doc["id"], doc, scope=doc["portfolio_id"] or "")


@on(ProjectInitiated)
def project_initiated(docs: Documents, event: ProjectInitiated, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    doc.update(
        portfolio_id=event.portfolio_id,
        proposal_id=event.proposal_id,
        title=event.title,
        baseline_budget={p.fiscal_period: format(p.amount, "f") for p in event.baseline_budget},
        timeline=event.timeline.model_dump(mode="json"),
        resource_estimate=[r.model_dump(mode="json") for r in event.resource_estimate],
        benefits=[b.model_dump(mode="json") for b in event.benefits],
        initiated_at=instant(meta.time),
        initiated_by=event.initiated_by,
    )
    put_project(docs, doc)


EFFECTS = (project_initiated,)


def current_budget(doc: Body) -> dict[str, str]:
    """The baseline per fiscal period plus every approved budget change (a release is a negative change)."""
    budget = {p: Decimal(a) for p, a in doc.get("baseline_budget", {}).items()}
    for change in doc["changes"]:
        if change.get("outcome") == "approve":
            for period, amount in change.get("budget_delta", {}).items():
                budget[period] = budget.get(period, Decimal(0)) + Decimal(amount)
    return {p: format(a, "f") for p, a in sorted(budget.items())}


ACTIVE_STATUSES = frozenset({"active", "on_hold", "paused"})

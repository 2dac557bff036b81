"""The benefits register: each planned benefit of a funded initiative, with what has been realised."""

from __future__ import annotations

from pmo_reporting.projections.delivery import PROJECT
from pmo_reporting.projections.proposals import PROPOSAL, proposal_status
from pmo_reporting.reports.common import Body, DocumentView, currency_of, money


def _key(benefit: Body, index: int) -> str:
    return benefit.get("benefit_id") or f"#{index + 1}"


def benefit_rows(project: Body, currency: str | None) -> list[Body]:
    """Planned benefits of one project, each with its latest realisation (amounts at the currency's scale)."""
    rows = []
    for index, benefit in enumerate(project.get("benefits", [])):
        key = _key(benefit, index)
        measured = sorted(
            (r for r in project["realisations"] if r.get("benefit_id") == key), key=lambda r: r["measured_on"]
        )
        last = measured[-1] if measured else None
        planned_amount = benefit.get("value_amount")
        rows.append(
            {
                "project_id": project["id"],
                "portfolio_id": project["portfolio_id"],
                "benefit_id": key,
                "description": benefit.get("description"),
                "kind": benefit.get("kind"),
                "measure": benefit.get("measure"),
                "unit": benefit.get("unit"),
                "planned_value": benefit.get("target_value"),
                "planned_amount": None if planned_amount is None else money(planned_amount, currency),
                "realise_by": benefit.get("realise_by"),
                "realised_value": last["measured_value"] if last else None,
                "realised_on": last["measured_on"] if last else None,
                "realisations": len(measured),
            }
        )
    return rows


def contributes_to(docs: DocumentView, project_or_proposal_id: str, objective_id: str) -> bool:
    proposal = docs.get(PROPOSAL, project_or_proposal_id)
    contributions = (proposal or {}).get("objective_contributions", [])
    return any(c["objective_id"] == objective_id for c in contributions)


def benefits_register(
    docs: DocumentView, *, portfolio_id: str | None = None, objective_id: str | None = None
) -> list[Body]:
    """Benefits of initiated projects, plus those of approved proposals whose project is yet to arrive."""
    projects = {p["id"]: p for p in docs.all(PROJECT, scope=portfolio_id) if p.get("initiated_at")}
    for proposal in docs.all(PROPOSAL, scope=portfolio_id):
        if proposal["id"] not in projects and proposal_status(proposal) == "approved":
            projects[proposal["id"]] = {
                "id": proposal["id"],
                "portfolio_id": proposal.get("portfolio_id"),
                "benefits": proposal.get("benefits", []),
                "realisations": [],
            }
    rows = []
    for project_id in sorted(projects):
        if objective_id and not contributes_to(docs, project_id, objective_id):
            continue
        project = projects[project_id]
        rows.extend(benefit_rows(project, currency_of(docs, project.get("portfolio_id"))))
    return rows

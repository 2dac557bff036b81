"""The benefits register: each planned benefit of a funded initiative, with what has been realised."""

from __future__ import annotations

from pmo_reporting.projections.delivery import PROJECT
from pmo_reporting.projections.proposals import PROPOSAL, proposal_status
from pmo_reporting.reports.common import Body, DocumentView, currency_of, money, total

#: A project that ended this way delivers no more: its benefits not yet measured are forgone.
ENDED = frozenset({"cancelled", "closed"})


def _key(benefit: Body, index: int) -> str:
    return benefit.get("benefit_id") or f"#{index + 1}"


def forgone_keys(project: Body | None) -> set[str]:
    """The benefits of a cancelled or closed project with no realisation recorded (none while it runs)."""
    if project is None or project.get("status") not in ENDED:
        return set()
    measured = {r.get("benefit_id") for r in project.get("realisations", [])}
    return {key for i, b in enumerate(project.get("benefits", [])) if (key := _key(b, i)) not in measured}


def planned_and_forgone(docs: DocumentView, proposals: list[Body]) -> tuple[list[Body], list[Body]]:
    """The benefits of approved proposals: those still planned, and those their ended project forwent."""
    planned: list[Body] = []
    forgone: list[Body] = []
    for proposal in proposals:
        gone = forgone_keys(docs.get(PROJECT, proposal["id"]))
        for index, benefit in enumerate(proposal.get("benefits", [])):
            (forgone if _key(benefit, index) in gone else planned).append(benefit)
    return planned, forgone


def tally(benefits: list[Body], currency: str | None) -> Body:
    """How many, their financial total (`value_amount`), and how many are non-financial."""
    return {
        "count": len(benefits),
        "financial_total": money(total(b.get("value_amount") for b in benefits), currency),
        "non_financial": sum(1 for b in benefits if b.get("kind") == "non_financial"),
    }


def benefit_rows(project: Body, currency: str | None) -> list[Body]:
    """Planned benefits of one project, each with its latest realisation (amounts at the currency's scale)."""
    rows = []
    gone = forgone_keys(project)
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
                "forgone": key in gone,
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

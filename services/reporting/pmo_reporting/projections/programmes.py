"""Programmes as reporting keeps them: who owns them, the ring-fence per fiscal period and what its projects
drew on it, the tranches with their end-of-tranche reviews, the member projects, the manager's reports."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.portfolio import (
    ProgrammeBenefitContributionSet,
    ProgrammeBenefitDefined,
    ProgrammeCreated,
    ProgrammeStatusReported,
    ProjectJoinedProgramme,
    TranchePlanned,
    TrancheReviewed,
)
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

PROGRAMME = "programme"


def programme_doc(docs: Documents, programme_id: str, portfolio_id: str) -> Body:
    """A programme's document; facts that arrive before its creation start it as a shell."""
    return docs.get(PROGRAMME, programme_id) or {
        "id": programme_id,
        "portfolio_id": portfolio_id,
        "created_at": None,
        "status": "active",
        "ring_fence": {},
        "drawn": {},
        "projects": [],
        "tranches": {},
        "status_reports": [],
        "benefits": [],
    }


def _put(docs: Documents, doc: Body) -> None:
    docs.put(PROGRAMME, doc["id"], doc, scope=doc["portfolio_id"])


def _add(into: dict[str, str], period: str, amount: Decimal) -> None:
    into[period] = format(Decimal(into.get(period, "0")) + amount, "f")


@on(ProgrammeCreated)
def programme_created(docs: Documents, event: ProgrammeCreated, meta: RecordedEvent) -> None:
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    doc.update(
        name=event.name,
        vision=event.vision,
        senior_responsible_owner=event.senior_responsible_owner,
        programme_manager=event.programme_manager,
        objective_ids=list(event.objective_ids),
        created_at=instant(meta.time),
    )
    for line in event.ring_fence:
        _add(doc["ring_fence"], line.fiscal_period, line.amount)
    _put(docs, doc)


@on(TranchePlanned)
def tranche_planned(docs: Documents, event: TranchePlanned, meta: RecordedEvent) -> None:
    """A tranche planned, or planned again after a re-plan: open, with its new dates and projects."""
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    doc["tranches"][event.tranche_id] = {
        "tranche_id": event.tranche_id,
        "name": event.name,
        "sequence": event.sequence,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "project_ids": list(event.project_ids),
        "status": "open",
        "decision": None,
        "rationale": None,
        "decided_by": None,
        "decided_at": None,
    }
    _put(docs, doc)


@on(TrancheReviewed)
def tranche_reviewed(docs: Documents, event: TrancheReviewed, meta: RecordedEvent) -> None:
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    tranche = doc["tranches"].get(event.tranche_id)
    if tranche is None:
        return
    tranche.update(
        status="re_plan" if event.decision == "re_plan" else "closed",
        decision=event.decision,
        rationale=event.rationale,
        decided_by=event.decided_by,
        decided_at=instant(event.decided_at),
    )
    if event.decision == "close_programme":
        doc["status"] = "closed"
    _put(docs, doc)


@on(ProjectJoinedProgramme)
def project_joined(docs: Documents, event: ProjectJoinedProgramme, meta: RecordedEvent) -> None:
    """The project and the budget it drew on the ring-fence when it joined (as the portfolio counts it)."""
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    if any(p["project_id"] == event.project_id for p in doc["projects"]):
        return
    budget = {line.fiscal_period: format(line.amount, "f") for line in event.budget}
    doc["projects"].append({"project_id": event.project_id, "budget": budget, "via": event.via,
                            "joined_at": instant(event.decided_at)})  # fmt: skip
    for line in event.budget:
        _add(doc["drawn"], line.fiscal_period, line.amount)
    _put(docs, doc)


@on(ProgrammeStatusReported)
def programme_status_reported(docs: Documents, event: ProgrammeStatusReported, meta: RecordedEvent) -> None:
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    report = event.model_dump(mode="json", exclude={"programme_id", "portfolio_id"})
    doc["status_reports"].append({**report, "reported_at": instant(event.reported_at)})
    _put(docs, doc)


def _benefit(doc: Body, benefit_id: str) -> Body:
    """A benefit of the map (lists keep the order they were first defined in, as the portfolio does)."""
    benefits = doc.setdefault("benefits", [])
    found = next((b for b in benefits if b["benefit_id"] == benefit_id), None)
    if found is None:
        found = {"benefit_id": benefit_id, "description": None, "owner": None, "unit": None, "profile": [],
                 "contributions": []}  # fmt: skip
        benefits.append(found)
    return found


@on(ProgrammeBenefitDefined)
def programme_benefit_defined(docs: Documents, event: ProgrammeBenefitDefined, meta: RecordedEvent) -> None:
    """A benefit put on the map, or restated: its description, owner, unit and profile (contributions stay)."""
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    profile = [{"on": p.on.isoformat(), "planned_value": format(p.planned_value, "f")} for p in event.profile]
    _benefit(doc, event.benefit_id).update(
        description=event.description, owner=event.owner, unit=event.unit, profile=profile
    )
    _put(docs, doc)


@on(ProgrammeBenefitContributionSet)
def programme_benefit_fed(docs: Documents, event: ProgrammeBenefitContributionSet, meta: RecordedEvent) -> None:
    """A project benefit feeds the programme benefit with a share; set again, the share is replaced."""
    doc = programme_doc(docs, event.programme_id, event.portfolio_id)
    contributions = _benefit(doc, event.benefit_id)["contributions"]
    share = format(event.share, "f")
    for contribution in contributions:
        if (contribution["project_id"], contribution["project_benefit_id"]) == (
            event.project_id, event.project_benefit_id,
        ):  # fmt: skip
            contribution["share"] = share
            break
    else:
        contributions.append(
            {"project_id": event.project_id, "project_benefit_id": event.project_benefit_id, "share": share}
        )
    _put(docs, doc)


EFFECTS = (
    programme_created,
    tranche_planned,
    tranche_reviewed,
    project_joined,
    programme_status_reported,
    programme_benefit_defined,
    programme_benefit_fed,
)


def manager_report(doc: Body) -> Body | None:
    """The programme manager's latest report, as the portfolio keeps it: the last one made."""
    return max(doc["status_reports"], key=lambda r: r["reported_at"], default=None)

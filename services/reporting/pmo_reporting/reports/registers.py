"""The decision audit trail, the objectives register, the lessons library and the lessons offered to teams."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pmo_reporting.projections.delivery import PROJECT, current_budget
from pmo_reporting.projections.governance import DECISION, OBJECTIVE
from pmo_reporting.projections.lessons import PROJECT_LESSONS, PROPOSAL_LESSONS
from pmo_reporting.projections.proposals import PROPOSAL, proposal_status
from pmo_reporting.reports.benefits import planned_and_forgone, tally
from pmo_reporting.reports.common import Body, DocumentView, add_periods, currency_of, money, total


def decision_trail(
    docs: DocumentView,
    *,
    portfolio_id: str | None = None,
    outcome: str | None = None,
    decided_by: str | None = None,
    decided_from: datetime | None = None,
    decided_to: datetime | None = None,
) -> list[Body]:
    """Every decision (candidates, gates, change requests) with who, when, outcome, rationale, evidence."""
    rows = []
    for decision in docs.all(DECISION, scope=portfolio_id):
        at = datetime.fromisoformat(decision["decided_at"])
        if outcome and decision["outcome"] != outcome:
            continue
        if decided_by and decision["decided_by"] != decided_by:
            continue
        if (decided_from and at < decided_from) or (decided_to and at >= decided_to):
            continue
        currency = currency_of(docs, decision.get("portfolio_id"))
        budget = [
            {"fiscal_period": p, "amount": money(a, currency)} for p, a in sorted(decision["approved_budget"].items())
        ]
        rows.append({**decision, "approved_budget": budget, **_evidence_at_scale(decision, currency)})
    return sorted(rows, key=lambda d: (d["decided_at"], d["id"]))


def _evidence_at_scale(decision: Body, currency: str | None) -> Body:
    """The envelope the board saw, at the currency's scale (the event recorded the amounts as computed)."""
    evidence = decision.get("evidence")
    if not evidence or not evidence.get("remaining_envelope"):
        return {}
    envelope = [
        {**period, **{k: money(period[k], currency) for k in ("envelope", "committed", "remaining") if k in period}}
        for period in evidence["remaining_envelope"]
    ]
    return {"evidence": {**evidence, "remaining_envelope": envelope}}


def objectives_register(docs: DocumentView) -> list[Body]:
    """Each objective with the proposals and projects contributing to it, their committed budget and benefits."""
    proposals = docs.all(PROPOSAL)
    rows = []
    for objective in docs.all(OBJECTIVE):
        contributing = [
            (p, c["contribution"])
            for p in proposals
            for c in p.get("objective_contributions", [])
            if c["objective_id"] == objective["id"]
        ]
        committed: dict[str, Decimal] = {}
        funded: list[Body] = []
        projects = []
        currencies = set()
        for proposal, _ in contributing:
            if proposal_status(proposal) != "approved":
                continue
            currencies.add(currency_of(docs, proposal.get("portfolio_id")))
            project = docs.get(PROJECT, proposal["id"])
            if project is not None and project.get("initiated_at"):
                projects.append(proposal["id"])
                add_periods(committed, current_budget(project))
            funded.append(proposal)
        # The amounts are in the funding portfolios' currency (one currency per organisation in practice).
        currency = next(iter(currencies)) if len(currencies) == 1 else None
        planned, forgone = planned_and_forgone(docs, funded)
        rows.append(
            {
                "id": objective["id"],
                "title": objective.get("title"),
                "weight": objective.get("weight"),
                "period_start": objective.get("period_start"),
                "period_end": objective.get("period_end"),
                "status": "retired" if objective.get("retired_at") else "active",
                "portfolio_ids": objective.get("portfolio_ids", []),
                "proposals": [
                    {"id": p["id"], "title": p.get("title"), "status": proposal_status(p), "contribution": c}
                    for p, c in contributing
                ],
                "projects": projects,
                "currency": currency,
                "committed_budget": money(total(committed.values()), currency),
                "planned_benefits": tally(planned, currency),
                "forgone_benefits": tally(forgone, currency),
            }
        )
    return rows


def lessons_library(
    docs: DocumentView, *, q: str | None = None, category: str | None = None, tag: str | None = None
) -> list[Body]:
    """Lessons of every project; `q` searches title and description, case-insensitively. Each says how often it
    was offered to a proposal's or project's team, when last, and how the teams acknowledged it."""
    needle = q.casefold() if q else None
    uptakes = lesson_uptake(docs)
    rows = []
    for project in docs.all(PROJECT):
        for lesson in project["lessons"]:
            text = f"{lesson.get('title', '')} {lesson.get('description', '')}".casefold()
            if needle and needle not in text:
                continue
            if category and lesson.get("category") != category:
                continue
            if tag and tag not in lesson.get("tags", []):
                continue
            uptake = uptakes.get(lesson["lesson_id"]) or _uptake()
            rows.append({"project_id": project["id"], "portfolio_id": project["portfolio_id"], **lesson, **uptake})
    return sorted(rows, key=lambda lesson: (lesson.get("recorded_at") or "", lesson["project_id"]))


def _uptake() -> Body:
    return {"times_offered": 0, "offered_to": 0, "acknowledged_applies": 0,
            "acknowledged_does_not_apply": 0, "unacknowledged": 0,
            "last_offered_at": None}  # fmt: skip


def lesson_uptake(docs: DocumentView) -> dict[str, Body]:
    """Per lesson: offers (one per lesson per offer event), teams offered it, their latest acknowledgement
    (applies, does not apply, none yet) and the last offer's instant."""
    uptakes: dict[str, Body] = {}
    for _, subject in _feedback_subjects(docs, None):
        for lesson_id, offer in subject["offers"].items():
            uptake = uptakes.setdefault(lesson_id, _uptake())
            uptake["times_offered"] += offer["times_offered"]
            uptake["offered_to"] += 1 if offer["times_offered"] else 0
            acknowledgement = offer["acknowledgement"]
            if acknowledgement is None:
                uptake["unacknowledged"] += 1
            else:
                uptake["acknowledged_applies" if acknowledgement["applies"] else "acknowledged_does_not_apply"] += 1
            last = offer.get("last_offered_at")
            if last and (uptake["last_offered_at"] is None or last > uptake["last_offered_at"]):
                uptake["last_offered_at"] = last
    return uptakes


def _feedback_subjects(docs: DocumentView, portfolio_id: str | None) -> list[tuple[str, Body]]:
    return [
        *(("proposal", doc) for doc in docs.all(PROPOSAL_LESSONS, scope=portfolio_id)),
        *(("project", doc) for doc in docs.all(PROJECT_LESSONS, scope=portfolio_id)),
    ]


def lesson_feedback(
    docs: DocumentView,
    *,
    portfolio_id: str | None = None,
    subject_id: str | None = None,
    acknowledged: bool | None = None,
) -> list[Body]:
    """Every lesson offered to a proposal's or project's team, with the team's acknowledgement (or none yet),
    by proposal or project, then lesson; `acknowledged=False` lists what teams still have to read."""
    titles = {lesson["lesson_id"]: lesson.get("title") for p in docs.all(PROJECT) for lesson in p["lessons"]}
    rows = []
    for subject, doc in _feedback_subjects(docs, portfolio_id):
        if subject_id and doc["id"] != subject_id:
            continue
        for lesson_id, offer in sorted(doc["offers"].items()):
            acknowledgement = offer["acknowledgement"] or {}
            if acknowledged is not None and acknowledged != bool(acknowledgement):
                continue
            rows.append(
                {
                    "subject": subject,
                    "subject_id": doc["id"],
                    "portfolio_id": doc["portfolio_id"],
                    "lesson_id": lesson_id,
                    "title": titles.get(lesson_id),
                    "times_offered": offer["times_offered"],
                    "last_offered_at": offer.get("last_offered_at"),
                    "occasion": offer.get("occasion"),
                    "relevance": offer.get("relevance"),
                    "reason": offer.get("reason"),
                    "acknowledged": bool(acknowledgement),
                    "applies": acknowledgement.get("applies"),
                    "note": acknowledgement.get("note"),
                    "acknowledged_by": acknowledgement.get("acknowledged_by"),
                    "acknowledged_at": acknowledgement.get("acknowledged_at"),
                }
            )
    return sorted(rows, key=lambda r: (r["subject"] != "proposal", r["subject_id"], r["lesson_id"]))

"""Projects after approval: baseline, stage and status, status reports, benefits and lessons."""

from __future__ import annotations

from decimal import Decimal

from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import (
    BenefitRealised,
    BoardActionOpened,
    BoardActionResolved,
    ChangeRequestDecided,
    ChangeRequested,
    LessonRecorded,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectManagerAssigned,
    ProjectPaused,
    ProjectResumed,
    StageGateDecided,
    StatusReported,
    StatusReportWithdrawn,
)
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents
from pmo_reporting.projections.governance import DECISION

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


def _budget(lines: tuple[PeriodAmount, ...], sign: int = 1) -> dict[str, str]:
    return {p.fiscal_period: format(sign * p.amount, "f") for p in lines}


def _decision(docs: Documents, doc: Body, decision_id: str, body: Body, meta: RecordedEvent) -> None:
    """Gate and change-request decisions join the portfolio's decision audit trail."""
    docs.put(
        DECISION,
        decision_id,
        {
            "id": decision_id,
            "portfolio_id": doc["portfolio_id"],
            "subject_id": doc["id"],
            "proposal_id": doc["id"],
            "approved_budget": {},
            "review_on": None,
            "evidence": {},
            "event_id": meta.event_id,
            **body,
        },
        scope=doc["portfolio_id"] or "",
    )


@on(StageGateDecided)
def gate_decided(docs: Documents, event: StageGateDecided, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    doc["portfolio_id"] = doc["portfolio_id"] or event.portfolio_id
    gate = event.model_dump(mode="json", exclude={"project_id", "portfolio_id"})
    doc["gates"].append({**gate, "decided_at": instant(event.decided_at)})
    if event.decision == "proceed":
        doc.update(stage=event.to_stage, status="active")
    elif event.decision == "hold":
        doc["status"] = "on_hold"
    put_project(docs, doc)
    body = {"kind": "stage_gate", "gate": event.gate, "outcome": event.decision, "rationale": event.rationale}
    _decision(docs, doc, event.decision_id, {**body, "decided_by": event.decided_by,
                                            "decided_at": instant(event.decided_at)}, meta)  # fmt: skip


@on(StatusReported)
def status_reported(docs: Documents, event: StatusReported, meta: RecordedEvent) -> None:
    """Every report is kept with the figures it recorded; which ones count is decided when read
    (`current_reports`), so the arrival order of corrections and withdrawals does not matter."""
    doc = project_doc(docs, event.project_id)
    report = event.model_dump(mode="json", exclude={"project_id", "portfolio_id"})
    doc["status_reports"].append({**report, "reported_at": instant(event.reported_at)})
    put_project(docs, doc)


@on(StatusReportWithdrawn)
def status_report_withdrawn(docs: Documents, event: StatusReportWithdrawn, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    withdrawal = {
        "reason": event.reason,
        "withdrawn_by": event.withdrawn_by,
        "withdrawn_at": instant(event.withdrawn_at),
    }
    doc.setdefault("withdrawn_reports", {})[event.report_id] = withdrawal
    put_project(docs, doc)


def _change(doc: Body, change_request_id: str) -> Body:
    for change in doc["changes"]:
        if change.get("change_request_id") == change_request_id:
            return change
    change = {"change_request_id": change_request_id}
    doc["changes"].append(change)
    return change


@on(ChangeRequested)
def change_requested(docs: Documents, event: ChangeRequested, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    change = _change(doc, event.change_request_id)
    change.setdefault("outcome", "pending")
    change.update(
        kind=event.kind,
        requested_delta=_budget(event.budget_delta),
        requested_end=event.new_end.isoformat() if event.new_end else None,
        rationale=event.rationale,
        requested_by=event.requested_by,
        requested_at=instant(event.requested_at),
    )
    put_project(docs, doc)


@on(ChangeRequestDecided)
def change_decided(docs: Documents, event: ChangeRequestDecided, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    delta = _budget(event.budget_delta)
    _change(doc, event.change_request_id).update(
        kind=event.kind,
        outcome=event.outcome,
        budget_delta=delta,
        new_end=event.new_end.isoformat() if event.new_end else None,
        decision_rationale=event.rationale,
        decided_by=event.decided_by,
        decided_at=instant(event.decided_at),
    )
    if event.outcome == "approve" and event.new_end and doc.get("timeline"):
        doc["timeline"] = {**doc["timeline"], "end": event.new_end.isoformat()}
    put_project(docs, doc)
    body = {"kind": "change_request", "change_kind": event.kind, "outcome": event.outcome,
            "rationale": event.rationale, "decided_by": event.decided_by, "decided_at": instant(event.decided_at),
            "approved_budget": delta, "authority": event.authority, "motion_id": event.motion_id,
            "votes": [v.model_dump(mode="json") for v in event.votes]}  # fmt: skip
    _decision(docs, doc, event.change_request_id, body, meta)


@on(ProjectPaused, ProjectResumed)
def paused_or_resumed(docs: Documents, event: ProjectPaused | ProjectResumed, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    doc["status"] = "paused" if isinstance(event, ProjectPaused) else "active"
    put_project(docs, doc)


@on(ProjectCancelled, ProjectClosed)
def ended(docs: Documents, event: ProjectCancelled | ProjectClosed, meta: RecordedEvent) -> None:
    """The end of delivery; the budget it released is a negative change, so the committed total drops."""
    doc = project_doc(docs, event.project_id)
    closed = isinstance(event, ProjectClosed)
    ended_on = event.effective_on.isoformat() if event.effective_on else None
    doc.update(status="closed" if closed else "cancelled", ended_on=ended_on)
    if isinstance(event, ProjectClosed):
        final = format(event.final_cost, "f") if event.final_cost is not None else None
        doc.update(stage="close", final_cost=final)
    if event.released_budget:
        cause = "closure" if closed else "cancellation"
        release = {"kind": "release", "cause": cause, "outcome": "approve", "decided_at": instant(meta.time)}
        doc["changes"].append({**release, "budget_delta": _budget(event.released_budget, -1)})
    put_project(docs, doc)


@on(LessonRecorded)
def lesson_recorded(docs: Documents, event: LessonRecorded, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    lesson = event.model_dump(mode="json", exclude={"project_id", "portfolio_id"})
    doc["lessons"].append({**lesson, "recorded_at": instant(event.recorded_at)})
    put_project(docs, doc)


@on(BenefitRealised)
def benefit_realised(docs: Documents, event: BenefitRealised, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    realisation = event.model_dump(mode="json", exclude={"project_id", "portfolio_id"})
    doc["realisations"].append({**realisation, "recorded_at": instant(event.recorded_at)})
    put_project(docs, doc)


@on(ProjectManagerAssigned)
def manager_assigned(docs: Documents, event: ProjectManagerAssigned, meta: RecordedEvent) -> None:
    doc = project_doc(docs, event.project_id)
    doc["portfolio_id"] = doc["portfolio_id"] or event.portfolio_id
    doc["project_manager"] = event.project_manager
    put_project(docs, doc)


@on(BoardActionOpened, BoardActionResolved)
def board_action(docs: Documents, event: BoardActionOpened | BoardActionResolved, meta: RecordedEvent) -> None:
    """What a negative review asked of the board, and how (and by which votes) the board resolved it."""
    doc = project_doc(docs, event.project_id)
    doc["portfolio_id"] = doc["portfolio_id"] or event.portfolio_id
    actions = doc.setdefault("board_actions", [])
    action = next((a for a in actions if a["action_id"] == event.action_id), None)
    if action is None:
        action = {"action_id": event.action_id, "status": "open"}
        actions.append(action)
    if isinstance(event, BoardActionOpened):
        action.update(review_id=event.review_id, recommendation=event.recommendation, due_on=event.due_on.isoformat(),
                      still_aligned=event.still_aligned, opened_at=instant(event.opened_at))  # fmt: skip
    else:
        action.update(status="resolved", resolution=event.resolution, motion_id=event.motion_id,
                      resolved_at=instant(event.resolved_at))  # fmt: skip
        body = {"kind": "board_action", "outcome": event.resolution, "rationale": event.rationale,
                "decided_by": event.resolved_by, "decided_at": instant(event.resolved_at),
                "authority": event.authority or "board",
                "motion_id": event.motion_id, "votes": [v.model_dump(mode="json") for v in event.votes]}  # fmt: skip
        _decision(docs, doc, event.action_id, body, meta)
    put_project(docs, doc)


EFFECTS = (
    project_initiated,
    manager_assigned,
    board_action,
    gate_decided,
    status_reported,
    status_report_withdrawn,
    change_requested,
    change_decided,
    paused_or_resumed,
    ended,
    lesson_recorded,
    benefit_realised,
)


def current_budget(doc: Body) -> dict[str, str]:
    """The baseline per fiscal period plus every approved budget change (a release is a negative change)."""
    budget = {p: Decimal(a) for p, a in doc.get("baseline_budget", {}).items()}
    for change in doc["changes"]:
        if change.get("outcome") == "approve":
            for period, amount in change.get("budget_delta", {}).items():
                budget[period] = budget.get(period, Decimal(0)) + Decimal(amount)
    return {p: format(a, "f") for p, a in sorted(budget.items())}


ACTIVE_STATUSES = frozenset({"active", "on_hold", "paused"})


def report_state(doc: Body, report: Body) -> str:
    """`withdrawn`, `superseded` (a later report names it in `correction_of`) or `current`: as the portfolio says."""
    if report["report_id"] in doc.get("withdrawn_reports", {}):
        return "withdrawn"
    if any(r.get("correction_of") == report["report_id"] for r in doc["status_reports"]):
        return "superseded"
    return "current"


def current_reports(doc: Body) -> list[Body]:
    """The reports that count, by period end (the portfolio's rule: neither superseded nor withdrawn)."""
    current = [r for r in doc["status_reports"] if report_state(doc, r) == "current"]
    return sorted(current, key=lambda r: (r["period_end"], r["reported_at"]))


def latest_report(doc: Body) -> Body | None:
    """The current report with the latest period end (the latest reported on a tie)."""
    current = current_reports(doc)
    return current[-1] if current else None

"""Portfolios, strategic objectives and the decision audit trail, folded from portfolio events."""

from __future__ import annotations

from pmo_events.contracts.portfolio import (
    BoardCharterSet,
    BoardMemberAdded,
    BoardMemberRemoved,
    InvestmentDecided,
    MotionCarried,
    MotionDefeated,
    MotionLapsed,
    ObjectiveCreated,
    ObjectiveRetired,
    ObjectiveUpdated,
    PortfolioBudgetSet,
    PortfolioCreated,
)
from pmo_events.envelope import RecordedEvent
from pmo_reporting.projections.base import instant, on
from pmo_reporting.projections.documents import Body, Documents

PORTFOLIO = "portfolio"
OBJECTIVE = "objective"
DECISION = "decision"


def _budget(periods: tuple) -> dict[str, str]:
    return {p.fiscal_period: format(p.amount, "f") for p in periods}


def _portfolio(docs: Documents, portfolio_id: str) -> Body:
    return docs.get(PORTFOLIO, portfolio_id) or {"id": portfolio_id, "budget": {}, "budget_at": ""}


@on(PortfolioCreated)
def portfolio_created(docs: Documents, event: PortfolioCreated, meta: RecordedEvent) -> None:
    doc = _portfolio(docs, event.portfolio_id)
    doc.update(name=event.name, currency=event.currency, owner=event.owner, created_at=instant(meta.time))
    for subject in event.board_members:
        doc.setdefault("board", {}).setdefault(subject, {"added_at": instant(meta.time), "removed_at": None})
    # A budget set later (and received first) wins over the creation's.
    if instant(meta.time) >= doc["budget_at"]:
        doc.update(budget=_budget(event.budget), budget_at=instant(meta.time))
    docs.put(PORTFOLIO, event.portfolio_id, doc, scope=event.portfolio_id)


@on(PortfolioBudgetSet)
def budget_set(docs: Documents, event: PortfolioBudgetSet, meta: RecordedEvent) -> None:
    doc = _portfolio(docs, event.portfolio_id)
    if instant(meta.time) >= doc["budget_at"]:
        doc.update(budget=_budget(event.budget), budget_at=instant(meta.time))
    docs.put(PORTFOLIO, event.portfolio_id, doc, scope=event.portfolio_id)


@on(BoardMemberAdded, BoardMemberRemoved)
def board_changed(docs: Documents, event: BoardMemberAdded | BoardMemberRemoved, meta: RecordedEvent) -> None:
    """Membership keeps the latest add and the latest removal; a member is one added after any removal."""
    doc = _portfolio(docs, event.portfolio_id)
    member = doc.setdefault("board", {}).setdefault(event.subject, {"added_at": None, "removed_at": None})
    field = "added_at" if isinstance(event, BoardMemberAdded) else "removed_at"
    member[field] = max(filter(None, [member[field], instant(meta.time)]))
    docs.put(PORTFOLIO, event.portfolio_id, doc, scope=event.portfolio_id)


@on(BoardCharterSet)
def charter_set(docs: Documents, event: BoardCharterSet, meta: RecordedEvent) -> None:
    """A new charter version: who is on the board from now on, and how it decides."""
    doc = _portfolio(docs, event.portfolio_id)
    board = doc.setdefault("board", {})
    now = instant(meta.time)
    for subject in event.charter.members:
        member = board.setdefault(subject, {"added_at": None, "removed_at": None})
        if subject not in board_members(doc):
            member["added_at"] = max(filter(None, [member["added_at"], now]))
    for subject, member in board.items():
        if subject not in event.charter.members and subject in board_members(doc):
            member["removed_at"] = max(filter(None, [member["removed_at"], now]))
    doc["charter"] = event.charter.model_dump(mode="json")
    docs.put(PORTFOLIO, event.portfolio_id, doc, scope=event.portfolio_id)


def board_members(doc: Body) -> list[str]:
    board = doc.get("board", {})
    return sorted(
        s for s, m in board.items() if m["added_at"] and (not m["removed_at"] or m["added_at"] > m["removed_at"])
    )


def _objective(docs: Documents, objective_id: str) -> Body:
    return docs.get(OBJECTIVE, objective_id) or {"id": objective_id, "defined_at": "", "retired_at": None}


@on(ObjectiveCreated, ObjectiveUpdated)
def objective_defined(docs: Documents, event: ObjectiveCreated | ObjectiveUpdated, meta: RecordedEvent) -> None:
    doc = _objective(docs, event.objective_id)
    if instant(meta.time) >= doc["defined_at"]:
        doc.update(
            title=event.title,
            description=event.description,
            weight=format(event.weight, "f"),
            period_start=event.period_start.isoformat(),
            period_end=event.period_end.isoformat(),
            portfolio_ids=list(event.portfolio_ids),
            defined_at=instant(meta.time),
        )
    docs.put(OBJECTIVE, event.objective_id, doc)


@on(ObjectiveRetired)
def objective_retired(docs: Documents, event: ObjectiveRetired, meta: RecordedEvent) -> None:
    doc = _objective(docs, event.objective_id)
    doc.update(retired_at=instant(meta.time), retired_by=event.retired_by, retire_reason=event.reason)
    docs.put(OBJECTIVE, event.objective_id, doc)


@on(InvestmentDecided)
def investment_decided(docs: Documents, event: InvestmentDecided, meta: RecordedEvent) -> None:
    docs.put(
        DECISION,
        event.decision_id,
        {
            "id": event.decision_id,
            "kind": "investment",
            "portfolio_id": event.portfolio_id,
            "subject_id": event.candidate_id,
            "proposal_id": event.proposal_id,
            "outcome": event.outcome,
            "decided_by": event.decided_by,
            "decided_at": instant(event.decided_at),
            "rationale": event.rationale,
            "approved_budget": _budget(event.approved_budget),
            "review_on": event.review_on,
            "evidence": event.evidence.model_dump(mode="json"),
            "authority": event.authority,
            "motion_id": event.motion_id,
            "override_reason": event.override_reason,
            "event_id": meta.event_id,
        },
        scope=event.portfolio_id,
    )


@on(MotionCarried, MotionDefeated, MotionLapsed)
def motion_ended(docs: Documents, event: MotionCarried | MotionDefeated | MotionLapsed, meta: RecordedEvent) -> None:
    """Every motion the board voted on is in the audit trail with every vote, carried or not."""
    result = {MotionCarried: "carried", MotionDefeated: "defeated", MotionLapsed: "lapsed"}[type(event)]
    docs.put(
        DECISION,
        event.motion_id,
        {
            "id": event.motion_id,
            "kind": "motion",
            "motion_kind": event.kind,
            "portfolio_id": event.portfolio_id,
            "subject_id": event.subject_id,
            "proposal_id": event.subject_id,
            "reference": event.reference,
            "outcome": event.outcome,
            "result": result,
            "decided_by": "board",
            "decided_at": instant(meta.time),
            # A motion's own reasons are its votes' rationales; the line says how the board voted.
            "rationale": f"motion {result}: {event.tally.votes_for} for, {event.tally.votes_against} against, "
            f"{event.tally.abstentions} abstaining",
            "approved_budget": {},
            "review_on": None,
            "votes": [v.model_dump(mode="json") for v in event.votes],
            "tally": event.tally.model_dump(mode="json"),
            "conflicts": [c.model_dump(mode="json") for c in event.conflicts],
            "evidence": {},
            "event_id": meta.event_id,
        },
        scope=event.portfolio_id,
    )


EFFECTS = (
    portfolio_created,
    budget_set,
    board_changed,
    charter_set,
    objective_defined,
    objective_retired,
    investment_decided,
    motion_ended,
)

"""The candidates as the board saw them: cost, and the score, rank and risk recorded as a decision's evidence."""

from __future__ import annotations

from pmo_reporting.projections.governance import DECISION
from pmo_reporting.projections.proposals import PROPOSAL, proposal_status
from pmo_reporting.reports.common import Body, DocumentView, currency_of, money, total


def candidate_positions(docs: DocumentView, portfolio_id: str) -> list[Body]:
    """Each proposal of the portfolio with its total cost and, once the board decided it, the weighted score,
    rank among the ranked candidates and mean "risk" criterion score recorded as that decision's evidence
    (never recomputed). Ranked first by that rank, then the undecided by id."""
    latest: dict[str, Body] = {}
    for taken in docs.all(DECISION, scope=portfolio_id):
        if taken.get("kind") != "investment" or not taken.get("subject_id"):
            continue
        known = latest.get(taken["subject_id"])
        if known is None or taken["decided_at"] > known["decided_at"]:
            latest[taken["subject_id"]] = taken
    currency = currency_of(docs, portfolio_id)
    rows = []
    for proposal in docs.all(PROPOSAL, scope=portfolio_id):
        decision: Body | None = latest.get(proposal["id"])
        evidence = (decision or {}).get("evidence") or {}
        rows.append(
            {
                "id": proposal["id"],
                "title": proposal.get("title"),
                "status": proposal_status(proposal),
                "cost": money(total((proposal.get("costs") or {}).values()), currency),
                "weighted_score": evidence.get("weighted_score"),
                "rank": evidence.get("rank"),
                "ranked_candidates": evidence.get("ranked_candidates"),
                "risk": (evidence.get("criterion_scores") or {}).get("risk"),
                "decided_at": decision["decided_at"] if decision else None,
            }
        )
    return sorted(
        rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["decided_at"] is None, r["decided_at"] or "", r["id"])
    )

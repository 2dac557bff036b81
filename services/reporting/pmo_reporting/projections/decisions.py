"""The decision audit trail: every board decision with who, when, why and the evidence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.portfolio import InvestmentDecided
from pmo_events.envelope import RecordedEvent, dumps
from pmo_reporting.adapters.db.tables import decisions


async def project_decision(session: AsyncSession, event: RecordedEvent) -> None:
    if event.type != InvestmentDecided.type_name():
        return
    decided = event.decode()
    assert isinstance(decided, InvestmentDecided)
    details = {
        "approved_budget": [b.model_dump(mode="json") for b in decided.approved_budget],
        "review_on": decided.review_on,
        "evidence": decided.evidence.model_dump(mode="json"),
    }
    await session.execute(
        decisions.insert().values(
            decision_id=decided.decision_id,
            kind="investment",
            portfolio_id=decided.portfolio_id,
            subject_id=decided.candidate_id,
            outcome=decided.outcome,
            decided_by=decided.decided_by,
            decided_at=decided.decided_at,
            rationale=decided.rationale,
            details=dumps(details).decode(),
            event_id=event.event_id,
        )
    )

"""Portfolio view: each assessor's latest scores per candidate, filled from the scores already recorded.

Scores now live on streams of their own; until now the Portfolio aggregate folded them from its stream.
The events stay where they were recorded (the store is never rewritten): this fills the new view from
every `CandidateScored` in the store, in the order recorded, as the inline projector would have.

Revision ID: portfolio_0003
Revises: portfolio_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from alembic import op
from sqlalchemy import select

from pmo_events.runtime.schema import events
from pmo_portfolio.candidates.views import assessments

revision = "portfolio_0003"
down_revision = "portfolio_0002"
branch_labels = None
depends_on = None

REGISTERED = "pmo.portfolio.CandidateRegistered.v1"
SCORED = "pmo.portfolio.CandidateScored.v1"


def upgrade() -> None:
    bind = op.get_bind()
    assessments.create(bind)
    recorded = select(events.c.type, events.c.data).where(events.c.type.in_([REGISTERED, SCORED]))
    rows = _latest(bind.execute(recorded.order_by(events.c.position)))
    if rows:
        bind.execute(assessments.insert(), rows)


def downgrade() -> None:
    assessments.drop(op.get_bind())


def _latest(recorded: Any) -> list[dict[str, Any]]:
    """Each assessor's latest word per candidate: a later submission, or on the same one a later score."""
    submissions: dict[str, int] = {}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for type_name, data in recorded:
        event = json.loads(data)
        if type_name == REGISTERED:
            submissions[event["candidate_id"]] = event["submission"]
            continue
        submission = event.get("submission") or submissions.get(event["candidate_id"], 1)
        scored_at = datetime.fromisoformat(event["scored_at"])
        key = (event["candidate_id"], event["assessor"])
        earlier = latest.get(key)
        if earlier is None or (submission, scored_at) >= (earlier["submission"], earlier["scored_at"]):
            latest[key] = _row(event, submission, scored_at)
    return list(latest.values())


def _row(event: dict[str, Any], submission: int, scored_at: datetime) -> dict[str, Any]:
    assessment = {"assessor": event["assessor"], "scores": event["scores"], "comment": event.get("comment"),
                  "scored_at": event["scored_at"], "submission": submission}  # fmt: skip
    key = {"candidate_id": event["candidate_id"], "assessor": event["assessor"]}
    return {**key, "portfolio_id": event["portfolio_id"], "submission": submission, "scored_at": scored_at,
            "assessment": json.dumps(assessment)}  # fmt: skip

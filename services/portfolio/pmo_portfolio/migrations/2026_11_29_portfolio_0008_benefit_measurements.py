"""Portfolio view: every measurement of a project benefit, which programme benefits roll up (issue 16).

The measurements were already recorded (`BenefitRealised`, on their own streams or on the project's): the
view is filled from every one in the store, in the order recorded, as the inline projector would have.

Revision ID: portfolio_0008
Revises: portfolio_0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from datetime import date

from alembic import op
from sqlalchemy import select

from pmo_events.runtime.schema import events
from pmo_portfolio.programmes.views import benefit_measurements

revision = "portfolio_0008"
down_revision = "portfolio_0007"
branch_labels = None
depends_on = None

REALISED = "pmo.portfolio.BenefitRealised.v1"


def upgrade() -> None:
    bind = op.get_bind()
    benefit_measurements.create(bind)
    recorded = select(events.c.event_id, events.c.data, events.c.occurred_at).where(events.c.type == REALISED)
    rows = []
    for event_id, data, occurred_at in bind.execute(recorded.order_by(events.c.position)):
        event = json.loads(data)
        rows.append(
            {
                "event_id": event_id,
                "project_id": event["project_id"],
                "benefit_id": event["benefit_id"],
                "measured_on": date.fromisoformat(event["measured_on"]),
                "measured_value": event["measured_value"],
                "recorded_at": occurred_at,
            }
        )
    if rows:
        bind.execute(benefit_measurements.insert(), rows)


def downgrade() -> None:
    benefit_measurements.drop(op.get_bind())

"""Portfolio view: each project's lessons and benefit realisations counted in columns of its own (issue 17).

A status report reads and guards those counts (`delivery.views.guard_report_row`) on every report: in integer
columns instead of a regular expression over the row's stored state (its compressed text decompressed and scanned
twice a report). The state keeps them too (the API answers with it): the columns are filled from each row's state.

Revision ID: portfolio_0012
Revises: portfolio_0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.envelope import loads

revision = "portfolio_0012"
down_revision = "portfolio_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # portfolio_0001 creates the table from the views' metadata: a database made since has the columns (and no rows)
    if "lessons" not in {column["name"] for column in sa.inspect(bind).get_columns("portfolio_projects")}:
        with op.batch_alter_table("portfolio_projects") as batch:
            batch.add_column(sa.Column("lessons", sa.Integer, nullable=False, server_default="0"))
            batch.add_column(sa.Column("realisations", sa.Integer, nullable=False, server_default="0"))
    rows = bind.execute(sa.text("SELECT project_id, state FROM portfolio_projects")).all()
    counted = []
    for project_id, state in rows:
        held = loads(state)
        if held.get("lessons") or held.get("realisations"):
            counted.append({"id": project_id, "l": held.get("lessons") or 0, "r": held.get("realisations") or 0})
    if counted:
        bind.execute(
            sa.text("UPDATE portfolio_projects SET lessons = :l, realisations = :r WHERE project_id = :id"), counted
        )


def downgrade() -> None:
    with op.batch_alter_table("portfolio_projects") as batch:
        batch.drop_column("realisations")
        batch.drop_column("lessons")

"""Portfolio's views: lz4 on their JSON columns once more, for the databases portfolio_0012 left without it, and
e83a877's stale counts columns dropped where they are (session 15's review R1 and R5).

Two kinds of database are at portfolio_0012 with their columns still pglz: one where 45e68b0's portfolio_0012
took a deadlock or a lock timeout for "a server without lz4" and was recorded all the same, and one that ran
e83a877's portfolio_0012 (the lesson and realisation counts, reverted the same hour; the id was reused), which also
keeps `portfolio_projects.lessons` and `.realisations` (NOT NULL DEFAULT 0, filled once, written by nothing since,
named by no statement: every INSERT and COPY names its columns). This revision gives both lz4 (`set_compression`:
a column already lz4 is left alone, each other's ALTER in a transaction of its own with a bounded wait for its
lock) and drops the two columns where they exist, waiting 2 s at most for the table's lock (PostgreSQL) else
failing, to be run again. A database made since has neither: nothing happens to it.

Its downgrade changes nothing: portfolio_0012's state is lz4 too, and the counts columns were stale.

Revision ID: portfolio_0013
Revises: portfolio_0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pmo_events.runtime.migrate import COMPRESSION_LOCK_TIMEOUT, set_compression

revision = "portfolio_0013"
down_revision = "portfolio_0012"
branch_labels = None
depends_on = None

#: The JSON columns portfolio_0012 compresses with lz4 (its list, kept here as it was at this revision).
JSON_COLUMNS = (
    ("portfolio_portfolios", "state"),
    ("portfolio_objectives", "state"),
    ("portfolio_candidates", "registration"),
    ("portfolio_candidates", "decision"),
    ("portfolio_assessments", "assessment"),
    ("portfolio_decisions", "payload"),
    ("portfolio_scenarios", "payload"),
    ("portfolio_projects", "state"),
    ("portfolio_programmes", "state"),
    ("portfolio_dependencies", "state"),
    ("portfolio_raid_items", "state"),
    ("portfolio_motions", "state"),
)
#: e83a877's counts columns.
STALE = ("lessons", "realisations")


def upgrade() -> None:
    bind = op.get_bind()
    stale = [name for name in STALE if name in {c["name"] for c in sa.inspect(bind).get_columns("portfolio_projects")}]
    if stale:
        if bind.dialect.name == "postgresql":
            op.execute(f"SET LOCAL lock_timeout = '{COMPRESSION_LOCK_TIMEOUT}'")
        with op.batch_alter_table("portfolio_projects") as batch:
            for name in stale:
                batch.drop_column(name)
    set_compression(JSON_COLUMNS, "lz4")


def downgrade() -> None:
    pass

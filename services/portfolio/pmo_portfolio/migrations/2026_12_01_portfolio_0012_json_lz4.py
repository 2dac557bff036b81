"""Portfolio's views: their JSON columns compressed by PostgreSQL with lz4 instead of pglz (issue 17).

A project's state holds every current status report (~830 bytes each: ~21 KB after two years of monthly
reports), so PostgreSQL compresses it whenever the row is written: a rebuild's COPY of 750 such rows cost the
server 150-180 ms of pglz against 30-40 ms with lz4 (session 15), and every report's command rewrites its
project's row. Reads decompress lz4 faster too. The text is the same: only how the server keeps it changes,
so a pod of the previous release reads and writes these rows as before (values it writes are lz4 too), except
while an ALTER holds its table's ACCESS EXCLUSIVE lock: each table's ALTER runs in a transaction of its own
(`set_compression`), waiting 2 s at most for its lock (readers queue behind it meanwhile), three times; then the
migration fails, is not recorded, and is run again later. Until session 15's review the twelve ran in the
migration's transaction, each lock held until it committed, and any error (a deadlock with a pod's transaction, an
operator's lock_timeout) was taken for "no lz4": the revision was recorded with every column left pglz.

Only values written from now on are compressed with lz4; those kept before stay pglz and are read as they are.
Elsewhere (SQLite), or on a PostgreSQL server without lz4 (before 14, or built without it: its catalog is asked),
nothing changes.

The id was first taken by e83a877's lesson and realisation counts, reverted the same hour (session 14); a
database that ran that one is at this revision with pglz and its counts columns: portfolio_0013 mends it.

Revision ID: portfolio_0012
Revises: portfolio_0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from pmo_events.runtime.migrate import set_compression

revision = "portfolio_0012"
down_revision = "portfolio_0011"
branch_labels = None
depends_on = None

#: Every column of portfolio's views that holds a JSON document (a state, an event's payload, an assessment).
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


def upgrade() -> None:
    set_compression(JSON_COLUMNS, "lz4")


def downgrade() -> None:
    # Values written with lz4 stay so (any server that wrote them reads them); new ones are pglz again.
    set_compression(JSON_COLUMNS, "default")

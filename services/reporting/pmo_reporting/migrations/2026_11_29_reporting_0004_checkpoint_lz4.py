"""Reporting: `as_of` checkpoint bodies are plain JSON, compressed by PostgreSQL with lz4 (a cold process
reads one about twice as fast as the zlib-compressed JSON it used to decompress itself).

Only values written from now on are compressed with lz4; bodies kept before stay as they are (zlib) and are
still read. Elsewhere (SQLite), or on a PostgreSQL server without lz4 (its catalog is asked), nothing changes:
bodies are plain JSON. The ALTER waits 2 s at most for the table's lock, three times, then fails the migration
(`set_compression`); until session 15 any error was taken for "no lz4" and the revision recorded without it.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from pmo_events.runtime.migrate import set_compression

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    set_compression([("reporting_checkpoints", "body")], "lz4")


def downgrade() -> None:
    # Code before this revision reads a body as zlib-compressed JSON only: the plain JSON ones written since go
    # (checkpoints are folds of the log, made again on demand); the zlib ones (first byte 0x78) stay.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DELETE FROM reporting_checkpoints WHERE substring(body from 1 for 1) <> '\\x78'::bytea")
        set_compression([("reporting_checkpoints", "body")], "default")
    else:
        op.execute("DELETE FROM reporting_checkpoints WHERE substr(body, 1, 1) <> X'78'")

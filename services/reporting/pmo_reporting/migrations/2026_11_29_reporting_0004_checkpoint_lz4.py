"""Reporting: `as_of` checkpoint bodies are plain JSON, compressed by PostgreSQL with lz4 (a cold process
reads one about twice as fast as the zlib-compressed JSON it used to decompress itself).

Only values written from now on are compressed with lz4; bodies kept before stay as they are (zlib) and are
still read. Elsewhere (SQLite), or on a PostgreSQL server without lz4, nothing changes: bodies are plain JSON.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a server built without lz4 (or before PostgreSQL 14) keeps pglz
            op.execute("ALTER TABLE reporting_checkpoints ALTER COLUMN body SET COMPRESSION lz4")
    except DBAPIError:
        pass


def downgrade() -> None:
    # Code before this revision reads a body as zlib-compressed JSON only: the plain JSON ones written since go
    # (checkpoints are folds of the log, made again on demand); the zlib ones (first byte 0x78) stay.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DELETE FROM reporting_checkpoints WHERE substring(body from 1 for 1) <> '\\x78'::bytea")
        op.execute("ALTER TABLE reporting_checkpoints ALTER COLUMN body SET COMPRESSION default")
    else:
        op.execute("DELETE FROM reporting_checkpoints WHERE substr(body, 1, 1) <> X'78'")

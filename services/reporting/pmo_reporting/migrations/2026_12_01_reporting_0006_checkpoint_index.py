"""Reporting: an `as_of` checkpoint body is an index followed by each document's JSON as it is (first byte
0x01, `checkpoints.encode`), so a cold answer parses the index and decodes only the documents it reads, where
a body was one JSON object of every document's text, parsed whole (at 200,000 events the newest checkpoint,
15 MB, took about 30 ms of CPU to parse for a summary that reads one portfolio of five).

Nothing to change on upgrade: the column holds bytes either way, bodies kept before stay and are still read,
and each sweep writes the new form.

Revision ID: reporting_0006
Revises: reporting_0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "reporting_0006"
down_revision = "reporting_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    # Code before this revision parses a body as one JSON object (or zlib-compressed JSON): the indexed ones
    # written since go (checkpoints are folds of the log, made again on demand); the others stay.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DELETE FROM reporting_checkpoints WHERE substring(body from 1 for 1) = '\\x01'::bytea")
    else:
        op.execute("DELETE FROM reporting_checkpoints WHERE substr(body, 1, 1) = X'01'")

"""Apply Alembic migrations: the shared `runtime` branch plus one service's own branch."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

import pmo_events.migrations as runtime_migrations


def alembic_config(url: str, service_versions: Path, metadata: MetaData | None = None) -> Config:
    runtime_dir = Path(runtime_migrations.__file__).parent
    config = Config()
    config.set_main_option("script_location", str(runtime_dir))
    config.set_main_option("version_locations", f"{runtime_dir / 'versions'} {service_versions}")
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["target_metadata"] = metadata
    return config


def upgrade(url: str, service_versions: Path, metadata: MetaData | None = None) -> None:
    """Bring the database to every head (runtime and service). Safe to run repeatedly."""
    command.upgrade(alembic_config(url, service_versions, metadata), "heads")


async def missing_revisions(url: str, service_versions: Path) -> set[str]:
    """The heads (runtime and service) this code expects that the database has not reached: empty when it is
    migrated, or when it is at a revision this code does not know (migrated by a newer release)."""
    from pmo_events.runtime.database import Database

    script = ScriptDirectory.from_config(alembic_config(url, service_versions))
    expected = set(script.get_heads())

    def current_heads(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            current = await connection.run_sync(current_heads)
    finally:
        await db.dispose()
    if not all(_known(script, revision) for revision in current):
        return set()
    reached = {ancestor.revision for head in current for ancestor in script.iterate_revisions(head, "base")}
    return expected - reached


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


#: How long one `ALTER TABLE .. SET COMPRESSION` waits for its table's ACCESS EXCLUSIVE lock (its own
#: `lock_timeout`): readers queue behind a waiting ALTER, so it waits this long at most, and tries again.
COMPRESSION_LOCK_TIMEOUT = "2s"
#: Tries per table; then the migration fails (and is not recorded): it is run again later, as it changes nothing
#: already done.
COMPRESSION_ATTEMPTS = 3
#: SQLSTATE of a wait ended by `lock_timeout` (lock_not_available).
_LOCK_NOT_AVAILABLE = "55P03"


#: How `pg_attribute.attcompression` names each method ('' for the server's default).
_CATALOG = {"lz4": "l", "pglz": "p", "default": ""}


def _compression(connection: Connection, table: str, column: str) -> str | None:
    return connection.execute(
        text(
            "SELECT attcompression::text FROM pg_attribute"
            " WHERE attrelid = to_regclass(:table) AND attname = :column AND NOT attisdropped"
        ),
        {"table": table, "column": column},
    ).scalar_one_or_none()


def compression_methods(connection: Connection) -> set[str]:
    """The methods this PostgreSQL server can compress values with, as its catalog says: `pglz` and, when it was
    built with it, `lz4` (14 or later); none before 14 (no per-column compression there)."""
    row = connection.execute(text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).first()
    return set(row[0]) if row is not None else set()


def set_compression(columns: Iterable[tuple[str, str]], method: str) -> None:
    """In a migration: compress the values written from now on into these `(table, column)`s with `method`
    (`lz4`, `pglz` or `default`). Nothing on SQLite, nor on a PostgreSQL server that cannot (asked, not guessed:
    `compression_methods`). Each ALTER is a catalog change under its table's ACCESS EXCLUSIVE lock, so each runs
    in a transaction of its own (no lock held across tables, so none taken in another order by a pod's
    transaction can deadlock with it), waiting `COMPRESSION_LOCK_TIMEOUT` at most for the lock, and
    `COMPRESSION_ATTEMPTS` times; any error then fails the migration, which is run again later (idempotent). A
    column already so is left alone (no lock taken)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    methods = compression_methods(bind)
    if not methods or (method != "default" and method not in methods):
        return
    with op.get_context().autocommit_block():
        connection = op.get_bind()
        kept = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
        connection.execute(text(f"SET lock_timeout = '{COMPRESSION_LOCK_TIMEOUT}'"))
        try:
            for table, column in columns:
                if _compression(connection, table, column) == _CATALOG[method]:
                    continue
                for attempt in range(1, COMPRESSION_ATTEMPTS + 1):
                    try:
                        connection.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}"))
                        break
                    except DBAPIError as error:
                        timed_out = getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE
                        if not timed_out or attempt == COMPRESSION_ATTEMPTS:
                            raise
        finally:
            connection.execute(text("SELECT set_config('lock_timeout', :kept, false)"), {"kept": kept})

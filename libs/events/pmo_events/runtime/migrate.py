"""Apply Alembic migrations: the shared `runtime` branch plus one service's own branch."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

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

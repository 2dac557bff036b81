"""Apply Alembic migrations: the shared `runtime` branch plus one service's own branch."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

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

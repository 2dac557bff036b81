"""`make reset`: the embedded stack's data goes, the dev keys and the virtual environment stay."""

from __future__ import annotations

from pathlib import Path

from pmo_devstack.broker import HOST, port_is_open
from pmo_devstack.stack import DEFAULT_PORTS, SERVICES, StackError

#: SQLite's database file and the files it keeps beside it.
_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


def reset_data(data_dir: Path, ports: dict[str, int] | None = None) -> list[Path]:
    """Delete every service's database under `data_dir`; refused while a service still listens."""
    running = [name for name, port in (ports or DEFAULT_PORTS).items() if port_is_open(HOST, port)]
    if running:
        raise StackError(f"{', '.join(running)} still running: stop `make run` first (Ctrl-C)")
    removed = []
    for name in SERVICES:
        for suffix in _SUFFIXES:
            path = data_dir / f"{name}{suffix}"
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed

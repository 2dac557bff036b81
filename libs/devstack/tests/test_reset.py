"""`make reset`: the databases go, the dev keys stay, and nothing is touched while a service listens."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pmo_devstack import keys
from pmo_devstack.broker import free_port
from pmo_devstack.reset import reset_data
from pmo_devstack.stack import StackError


def _data(tmp_path: Path) -> list[Path]:
    keys.ensure_dev_keys(tmp_path)
    files = [tmp_path / name for name in ("intake.db", "intake.db-wal", "portfolio.db", "reporting.db-shm")]
    for path in files:
        path.write_bytes(b"x")
    return files


def test_reset_removes_every_database_and_keeps_the_keys(tmp_path: Path) -> None:
    files = _data(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    free = {name: free_port() for name in ("intake", "portfolio", "resourcing", "reporting")}
    assert sorted(reset_data(tmp_path, free)) == sorted(files)
    assert not [p for p in files if p.exists()]
    assert all(p.exists() for p in keys.dev_key_paths(tmp_path)) and (tmp_path / "notes.txt").exists()


def test_reset_is_refused_while_a_service_listens(tmp_path: Path) -> None:
    files = _data(tmp_path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        ports = {"intake": listener.getsockname()[1], "portfolio": free_port()}
        with pytest.raises(StackError, match="intake still running"):
            reset_data(tmp_path, ports)
    assert all(p.exists() for p in files)

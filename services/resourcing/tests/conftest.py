"""Fixtures resourcing's API tests share: the service on a real port over PostgreSQL and the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pmo_devstack.testing import RunningService, running_service
from pmo_resourcing.bootstrap import RESOURCING


@pytest.fixture
async def service(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(
        RESOURCING, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running

"""Fixtures the portfolio's API tests share: the service on a real port, isolated on its own topics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pmo_devstack.testing import RunningService, running_service

from .api_support import isolated


@pytest.fixture
async def service(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> AsyncIterator[RunningService]:
    async with running_service(
        isolated(topic_prefix), database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running

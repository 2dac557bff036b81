"""Fixtures intake's API tests share: the service on a real port, the portfolio's events as a feed, and a
portfolio with an objective that intake has learned from the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService

from .support import PortfolioFeed, intake_service, knows


@pytest.fixture
async def intake(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[RunningService]:
    async with intake_service(database_url, kafka_bootstrap, tmp_path) as service:
        yield service


@pytest.fixture
async def feed(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[PortfolioFeed]:
    """Publishes portfolio events as the portfolio service would, for as long as the test runs."""
    async with PortfolioFeed(kafka_bootstrap, tmp_path) as publisher:
        yield publisher


@pytest.fixture
async def known(intake: RunningService, feed: PortfolioFeed) -> tuple[str, str]:
    """A portfolio budgeting FY2027 and an active objective, both learned by intake from the broker."""
    portfolio_id, objective_id = await feed.portfolio("FY2027"), await feed.objective()
    await eventually(lambda: knows(intake, portfolio_id=portfolio_id, objective_ids=(objective_id,)), timeout=30)
    return portfolio_id, objective_id

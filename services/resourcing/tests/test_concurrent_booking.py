"""Managers booking the last free capacity of one person at the same moment: exactly one wins."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pmo_devstack.testing import running_service
from pmo_resourcing.bootstrap import RESOURCING

from .support import MANAGER, active_project, book, register

pytestmark = pytest.mark.integration
MANAGERS = 4


async def test_exactly_one_of_several_concurrent_bookings_of_the_last_capacity_wins(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_service(
        RESOURCING, database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        project = await active_project(service)
        async with service.client(*MANAGER) as setup:
            people = [await register(setup, name=f"Person {i}") for i in range(3)]
            for person in people:
                assert (await book(setup, person["id"], project, "0.5")).status_code == 201
        clients = [service.client(f"manager-{i}", "resource_manager") for i in range(MANAGERS)]
        try:
            for person in people:
                answers = await asyncio.gather(*(book(c, person["id"], project, "0.5") for c in clients))
                codes = sorted(a.status_code for a in answers)
                assert codes == [201] + [409] * (MANAGERS - 1), [a.text for a in answers]
                assert all(
                    a.json()["type"] == "urn:pmo:problem:over-allocation" for a in answers if a.status_code == 409
                )
                schedule = await clients[0].get(
                    f"/resources/{person['id']}/schedule", params={"from": "2027-01-04", "to": "2027-01-15"}
                )
                assert [w["free"] for w in schedule.json()["items"]] == ["0.0000", "0.0000"]
        finally:
            for client in clients:
                await client.aclose()

"""The one HTTP command path, over real HTTP on PostgreSQL: lost races retried, stale If-Match, problem tables."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from pmo_devstack.testing import RunningService, running_service
from pmo_events.contracts.base import Event, contract
from pmo_events.runtime import AggregateType, Metadata, UnitOfWork, fold
from pmo_events.runtime.schema import metadata
from pmo_servicekit import commands
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import IfMatch, RequiredIfMatch, answer, service_runtime
from pmo_servicekit.problems import Problem
from pmo_servicekit.service import ServiceDefinition

pytestmark = pytest.mark.integration


@contract
class Counted(Event):
    service = "test"
    event_name = "Counted"
    counter_id: str


class Counter(BaseModel):
    counter_id: str
    count: int = 0


COUNTER = AggregateType(
    "counter", lambda i: Counter(counter_id=i), lambda s, _e: s.model_copy(update={"count": s.count + 1}), Counter
)


class TooMany(Exception):
    """A rule of this little service; its problem table answers it 409 `too-many`."""


class WayTooMany(TooMany):
    """Not in the table: it answers as its nearest listed base."""


router = APIRouter()
#: Per counter, how many more times a rival commits between the command's load and its append.
RIVALS: dict[str, int] = {}


async def _count(uow: UnitOfWork, request: Request, counter_id: str, expected: int | None) -> Response:
    loaded = await uow.load(COUNTER, counter_id)
    loaded.expect(expected, f"counter {counter_id}")
    if counter_id.startswith("small") and loaded.state.count >= 5:
        raise WayTooMany(f"counter {counter_id} is full")
    if RIVALS.get(counter_id, 0) > 0:
        RIVALS[counter_id] -= 1
        async with service_runtime(request).commands.unit_of_work(Metadata(actor="rival")) as rival:
            await rival.append(COUNTER, counter_id, loaded.version, [Counted(counter_id=counter_id)])
    new_events = [Counted(counter_id=counter_id)]
    await uow.append(COUNTER, counter_id, loaded.version, new_events)
    after = fold(COUNTER, loaded.state, new_events)
    if counter_id.startswith("broken"):
        # Building the answer fails after the append (as a view over an absurd figure once did): the
        # command must answer without having committed, never a 5xx over stored events.
        raise ArithmeticError("the answer cannot be built")
    return answer({"count": after.count}, loaded.version + 1)


@router.post("/counters/{counter_id}")
async def count(counter_id: str, principal: CurrentPrincipal, request: Request, if_match: IfMatch = None) -> Any:
    return await run_command(request, principal, lambda uow: _count(uow, request, counter_id, if_match))


@router.put("/counters/{counter_id}")
async def count_carefully(
    counter_id: str, principal: CurrentPrincipal, request: Request, if_match: RequiredIfMatch
) -> Any:
    return await run_command(request, principal, lambda uow: _count(uow, request, counter_id, if_match))


def definition(tmp_path: Path) -> ServiceDefinition:
    versions = tmp_path / "versions"
    versions.mkdir(exist_ok=True)
    return ServiceDefinition(
        name=f"cmd{uuid.uuid4().hex[:6]}",
        title="Commands",
        default_port=0,
        topic=None,
        consumes=(),
        metadata=metadata,
        migrations=versions,
        routers=[router],
        problem_table={TooMany: lambda exc: Problem(409, "too-many", str(exc))},
    )


@pytest.fixture
async def service(postgres_url: str, kafka_bootstrap: str, tmp_path: Path):
    async with running_service(
        definition(tmp_path), database_url=postgres_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as running:
        yield running


async def test_a_lost_race_is_decided_again_on_the_fresh_state(service: RunningService) -> None:
    RIVALS["c1"] = 3
    async with service.client("alice", "viewer") as client:
        response = await client.post("/counters/c1")
    assert response.status_code == 200, response.text
    # Three rivals won, each retry saw their count: the command's own increment came fourth.
    assert response.json() == {"count": 4}
    assert response.headers["ETag"] == '"4"'


async def test_a_race_lost_every_time_answers_409(service: RunningService) -> None:
    RIVALS["c2"] = commands.ATTEMPTS
    async with service.client("alice", "viewer") as client:
        response = await client.post("/counters/c2")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:pmo:problem:concurrent-change"
    # Every rival committed; the command itself recorded nothing, and the next one goes through.
    async with service.client("alice", "viewer") as client:
        assert (await client.post("/counters/c2")).json() == {"count": commands.ATTEMPTS + 1}


async def test_a_stale_if_match_answers_412_with_the_current_etag_and_is_never_retried(
    service: RunningService,
) -> None:
    async with service.client("alice", "viewer") as client:
        assert (await client.post("/counters/c3")).status_code == 200
        stale = await client.post("/counters/c3", headers={"If-Match": '"0"'})
        fresh = await client.post("/counters/c3", headers={"If-Match": '"1"'})
        blind = await client.put("/counters/c3")
        garbled = await client.post("/counters/c3", headers={"If-Match": "three"})
    assert stale.status_code == 412
    assert stale.json()["type"] == "urn:pmo:problem:stale-version"
    assert stale.headers["ETag"] == '"1"'
    assert fresh.status_code == 200 and fresh.json() == {"count": 2}
    assert blind.status_code == 428
    assert garbled.status_code == 400


async def test_the_service_problem_table_answers_subclasses_as_their_nearest_base(service: RunningService) -> None:
    async with service.client("alice", "viewer") as client:
        answers = [await client.post("/counters/small") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [409]
    assert answers[5].json()["type"] == "urn:pmo:problem:too-many"
    assert answers[5].json()["detail"] == "counter small is full"


async def _stored(service: RunningService, counter_id: str) -> int:
    async with service.runtime.db.sessions() as session:
        return len(await service.runtime.store.load(session, counter_id))


async def test_a_command_that_fails_before_answering_stores_nothing(service: RunningService) -> None:
    async with service.client("alice", "viewer") as client:
        plain = await client.post("/counters/broken-1")
        keyed = await client.post("/counters/broken-2", headers={"Idempotency-Key": "k-1"})
    assert plain.status_code == keyed.status_code == 500
    assert await _stored(service, "broken-1") == await _stored(service, "broken-2") == 0


async def test_nothing_after_the_commit_turns_the_answer_into_a_5xx(service: RunningService) -> None:
    def failing_hook() -> None:
        raise RuntimeError("the relay could not be nudged")

    commands_runtime = service.runtime.commands
    hook, commands_runtime._on_commit = commands_runtime._on_commit, failing_hook
    try:
        async with service.client("alice", "viewer") as client:
            answered = await client.post("/counters/after-commit", headers={"Idempotency-Key": "k-2"})
    finally:
        commands_runtime._on_commit = hook
    assert answered.status_code == 200, answered.text
    assert await _stored(service, "after-commit") == 1

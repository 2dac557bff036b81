"""Bounded by construction (issue 11), as a property over every service's real HTTP surface.

The fields are derived from each service's served OpenAPI document, never listed by hand: every request
body field and query parameter that is money (`x-pmo-bound: amount`), a date, an instant or a fiscal
period. For each, Hypothesis draws values in and far out of bounds (exponents, 16 digits, year 9999,
offsets of -14:00, lone surrogates...) and sends them to the real service (PostgreSQL, the broker):

- never a 5xx;
- a refused command stores nothing (the event count is unchanged);
- a value outside the bounds is a 422 naming that field;
- no stored event is above the size limit (`PMO_EVENT_MAX_BYTES`) on the broker.

A structural test first proves the derivation is complete: no date, instant, money or fiscal period
input in any document escapes the bounds of `pmo_events.contracts.bounds`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmo_devstack.testing import RunningService, ServedInThread, fresh_postgres_database
from pmo_events.contracts.bounds import LATEST, PERIOD_NAME
from pmo_events.contracts.common import BusinessCase, PeriodAmount, RoleEstimate, Timeline
from pmo_events.contracts.intake import ProposalSubmitted
from pmo_events.runtime import Metadata
from pmo_events.runtime.store import kafka_record
from pmo_intake.bootstrap import INTAKE
from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_portfolio.candidates.commands import register_candidate
from pmo_reporting.bootstrap import REPORTING
from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.service import ServiceDefinition

from .openapi_documents import generated

pytestmark = pytest.mark.integration

DOCUMENTS = generated()
DEFINITIONS = {d.name: d for d in (INTAKE, PORTFOLIO, RESOURCING, REPORTING)}
ROLES = ("requester", "pmo_analyst", "board_member", "project_manager", "resource_manager", "admin")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
#: Hypothesis examples per service (a field and a value each), on top of the fixed values every field gets.
EXAMPLES = 25


@dataclass(frozen=True)
class Target:
    """One bounded input of one operation: where it goes and what kind of value it is."""

    service: str
    method: str
    path: str
    location: str  # "body" or "query"
    field: tuple[str, ...]  # body path; "[]" stands for the first item of a list
    kind: str  # amount | date | instant | fiscal_period
    example: dict[str, Any] | None

    @property
    def name(self) -> str:
        return f"{self.service} {self.method.upper()} {self.path} {self.location}:{'.'.join(self.field)}"

    @property
    def spoken(self) -> str:
        """The field as a 422 names it (`budget.0.amount`)."""
        return ".".join("0" if part == "[]" else part for part in self.field)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _kind(schema: dict[str, Any], name: str) -> str | None:
    """The bound a schema declares; a date, instant, decimal or period input that declares none is `unbounded`."""
    bound = schema.get("x-pmo-bound")
    if bound:
        return str(bound)
    if schema.get("pattern") == PERIOD_NAME:
        return "fiscal_period"
    if schema.get("format") in ("date", "date-time") or name == "fiscal_period":
        return "unbounded"
    return None


def _leaves(
    document: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str]]:
    schema = _resolve(document, schema)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from _leaves(document, branch, path)
    kind = _kind(schema, path[-1] if path else "")
    if kind is not None:
        yield path, kind
    for name, sub in schema.get("properties", {}).items():
        yield from _leaves(document, sub, (*path, name))
    if schema.get("type") == "array" and "items" in schema:
        yield from _leaves(document, schema["items"], (*path, "[]"))


def _example(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    examples = _resolve(document, schema).get("examples") or []
    return json.loads(json.dumps(examples[0])) if examples else None


def targets() -> list[Target]:
    found: dict[str, Target] = {}
    for service, document in DOCUMENTS.items():
        for path, item in document["paths"].items():
            for method, operation in item.items():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] != "query":
                        continue
                    for field, kind in _leaves(document, parameter.get("schema", {}), (parameter["name"],)):
                        target = Target(service, method, path, "query", field, kind, None)
                        found[target.name] = target
                content = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if content is None:
                    continue
                example = _example(document, content["schema"])
                for field, kind in _leaves(document, content["schema"], ()):
                    target = Target(service, method, path, "body", field, kind, example)
                    found[target.name] = target
    return list(found.values())


TARGETS = targets()


def test_every_date_instant_money_and_period_input_is_bounded() -> None:
    unbounded = [t.name for t in TARGETS if t.kind == "unbounded"]
    assert not unbounded, f"inputs outside pmo_events.contracts.bounds: {unbounded}"
    kinds = {t.kind for t in TARGETS}
    assert kinds == {"amount", "date", "instant", "fiscal_period"}, kinds
    assert {t.service for t in TARGETS} == set(DOCUMENTS), "every service takes at least one bounded input"
    for service, document in DOCUMENTS.items():
        for schema in document.get("components", {}).get("schemas", {}).values():
            for name, prop in schema.get("properties", {}).items():
                if prop.get("format") == "decimal" and not prop.get("readOnly"):
                    digits = re.findall(r"\{1,(\d+)\}", prop.get("pattern", ""))
                    assert all(int(d) <= 15 for d in digits), (service, name, prop.get("pattern"))


# -- values ---------------------------------------------------------------------------------------------------

#: Far outside every bound, the values the issue found (each a 5xx or a stored monster then): every field is
#: sent each, and must answer a 422 naming it. Hypothesis draws the rest.
OUT_OF_BOUNDS = {
    "amount": ["1e9999999", "1234567890123456"],
    "date": ["9999-12-31", "1899-12-31"],
    "instant": ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"],
    "fiscal_period": ["FY9999-Q4", "\ud800"],
}
#: In bounds, at the edge: it may be refused by a rule (4xx) but never a 5xx, never an oversized event.
EDGES = {
    "amount": "999999999999999.99",
    "date": LATEST.isoformat(),
    "instant": "2199-12-31T09:00:00+14:00",
    "fiscal_period": "FY2199-P12",
}


def _amounts() -> st.SearchStrategy[Any]:
    plain = st.decimals(min_value=Decimal("-1e17"), max_value=Decimal("1e17"), places=2).map(lambda d: format(d, "f"))
    exponent = st.tuples(st.integers(1, 9), st.integers(-999_999_999, 999_999_999)).map(lambda t: f"{t[0]}e{t[1]}")
    digits = st.integers(1, 40).flatmap(lambda n: st.from_regex(rf"\A-?[0-9]{{{n}}}(\.[0-9]{{1,8}})?\Z"))
    return st.one_of(plain, exponent, digits, st.integers(), st.floats(allow_nan=False), st.text(max_size=30))


def _dates() -> st.SearchStrategy[Any]:
    return st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=20))


def _instants() -> st.SearchStrategy[Any]:
    minutes = st.integers(-14 * 60, 14 * 60)
    offset = minutes.map(lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}")
    instant = st.tuples(st.datetimes(), st.one_of(offset, st.just("Z"), st.just(""))).map(
        lambda t: t[0].isoformat() + t[1]
    )
    return st.one_of(instant, st.text(max_size=30))


def _periods() -> st.SearchStrategy[Any]:
    near = st.from_regex(r"\AFY[0-9]{4}(-Q[0-9]|-P[0-9]{2})?\Z")
    return st.one_of(near, st.from_regex(PERIOD_NAME), st.text(max_size=20))


STRATEGIES = {"amount": _amounts(), "date": _dates(), "instant": _instants(), "fiscal_period": _periods()}


# -- the services -----------------------------------------------------------------------------------------------


def _isolated(definition: ServiceDefinition, prefix: str) -> ServiceDefinition:
    if definition.topic is None:
        return definition
    service = definition.topic.split(".")[1]
    consumes = tuple(f"{prefix}.{topic.split('.', 1)[1]}" for topic in definition.consumes)
    return replace(definition, topic=f"{prefix}.{service}.events", consumes=consumes)


async def _prepare(service: RunningService) -> dict[str, Any]:
    """Real records to aim the commands at, so values reach the domain rules and the store."""
    name = service.runtime.definition.name
    ids: dict[str, Any] = {}
    async with service.client("prop", *ROLES) as client:
        document = DOCUMENTS[name]
        for path, key in (
            ("/portfolios", "portfolio_id"),
            ("/objectives", "objective_id"),
            ("/proposals", "proposal_id"),
            ("/resources", "resource_id"),
        ):
            operation = document["paths"].get(path, {}).get("post")
            if operation is None:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            body = _example(document, schema) or {}
            if key == "portfolio_id":
                body["board_members"] = ["prop"]  # so the board's decisions reach their rules
                async with service.client("founder", *ROLES) as founder:  # nobody sits on a board they create
                    answer = await founder.post(path, json=body)
            else:
                if key == "objective_id" and "portfolio_ids" in body:
                    body["portfolio_ids"] = [ids["portfolio_id"]]  # the example's portfolio does not exist here
                answer = await client.post(path, json=body)
            assert answer.status_code == 201, (path, answer.text)
            ids[key] = answer.json()["id"]
    if name == "portfolio":
        await _project(service, ids)
    return ids


async def _project(service: RunningService, ids: dict[str, Any]) -> None:
    """A candidate the board approves: a project for the delivery commands."""
    submitted = ProposalSubmitted(
        proposal_id="cand-1",
        portfolio_id=ids["portfolio_id"],
        title="A candidate",
        requester="rita",
        submission=1,
        submitted_at=datetime.now(UTC),
        business_case=BusinessCase(costs=(PeriodAmount(fiscal_period="FY2027", amount=Decimal(100)),)),
        timeline=Timeline(start=date(2027, 1, 1), end=date(2027, 12, 31)),
        resource_estimate=(RoleEstimate(role="dev", fte=Decimal(1), start=date(2027, 1, 1), end=date(2027, 6, 30)),),
    )
    async with service.runtime.commands.unit_of_work(Metadata(actor="rita")) as uow:
        await register_candidate(uow, submitted)
    decision = {"candidate_id": "cand-1", "outcome": "approved", "rationale": "property", "override_reason": "unscored",
                "approved_budget": [{"fiscal_period": "FY2027", "amount": "100"}]}  # fmt: skip
    async with service.client("prop", *ROLES) as board:
        answer = await board.post(f"/portfolios/{ids['portfolio_id']}/decisions", json=decision)
    assert answer.status_code == 201, answer.text
    ids["candidate_id"] = ids["project_id"] = "cand-1"


@pytest.fixture(scope="module")
def served(postgres_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    prefix, data = f"bounds{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("stack")  # one stack: one set of keys
    with (
        _served(INTAKE, prefix, postgres_admin_url, kafka_bootstrap, data) as intake,
        _served(PORTFOLIO, prefix, postgres_admin_url, kafka_bootstrap, data) as pf,
        _served(RESOURCING, prefix, postgres_admin_url, kafka_bootstrap, data) as rs,
        _served(REPORTING, prefix, postgres_admin_url, kafka_bootstrap, data) as rp,
    ):
        yield {"intake": intake, "portfolio": pf, "resourcing": rs, "reporting": rp}


@contextmanager
def _served(
    definition: ServiceDefinition, prefix: str, admin: str, kafka: str, data_dir: Path
) -> Iterator[ServedInThread]:
    with (
        fresh_postgres_database(admin) as database_url,
        ServedInThread(
            _isolated(definition, prefix),
            database_url=database_url,
            kafka_bootstrap=kafka,
            data_dir=data_dir,
            prepare=_prepare,
        ) as served,
    ):
        yield served


# -- the property -----------------------------------------------------------------------------------------------


def _placed(body: dict[str, Any] | None, field: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`body` (the operation's documented example) with `value` at `field`, creating what is missing."""
    document: Any = json.loads(json.dumps(body)) if body else {}
    here = document
    for part, following in zip(field, (*field[1:], None), strict=True):
        if following is None:
            here[part] = value
        elif following == "[]":
            if not isinstance(here.get(part), list) or not here[part]:
                here[part] = [{}]
        elif part == "[]":
            continue
        else:
            if not isinstance(here.get(part), dict):
                here[part] = {}
        if following is not None:
            here = here[part][0] if following == "[]" else here[part]
    return document


def _count(running: ServedInThread) -> int:
    async def count(service: RunningService) -> int:
        async with service.runtime.db.sessions() as session:
            return await service.runtime.store.count(session)

    return running.call(count)


def _largest_record(running: ServedInThread) -> int:
    async def largest(service: RunningService) -> int:
        store, size, after = service.runtime.store, 0, 0
        async with service.runtime.db.sessions() as session:
            while page := await store.read_all(session, after_position=after, limit=500):
                size = max([size, *(kafka_record(e, store.signer).size for e in page)])
                after = page[-1].position or after
        return size

    return running.call(largest)


_CLIENTS: dict[int, httpx.Client] = {}


def _client(running: ServedInThread) -> httpx.Client:
    """One client per service for the module (a token with every role): thousands of requests, one handshake."""
    service = running.service
    assert service is not None
    if id(running) not in _CLIENTS:
        headers = {"Authorization": f"Bearer {service.token('prop', *ROLES)}"}
        _CLIENTS[id(running)] = httpx.Client(base_url=service.base_url, headers=headers, timeout=60)
    return _CLIENTS[id(running)]


def _send(running: ServedInThread, target: Target, value: Any) -> httpx.Response:
    client, path = _client(running), target.path
    for name in re.findall(r"\{(\w+)\}", path):
        path = path.replace(f"{{{name}}}", str(running.prepared.get(name, UNKNOWN_ID)))
    if target.location == "query":
        text = value if isinstance(value, str) else json.dumps(value)
        # A query string is UTF-8: an unpaired surrogate cannot be sent, so it is sent escaped.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return client.request(target.method, path, params={target.field[0]: text})
    body = json.dumps(_placed(target.example, target.field, value), ensure_ascii=True)
    headers = {"content-type": "application/json"}
    answer = client.request(target.method, path, content=body, headers=headers)
    if answer.status_code == 428:  # the command needs If-Match: the version read just now, as a client would
        version = client.get(path).headers.get("etag", '"1"')  # (a record that does not exist has none)
        answer = client.request(target.method, path, content=body, headers={**headers, "If-Match": version})
    return answer


def _check(running: ServedInThread, target: Target, value: Any, *, out_of_bounds: bool) -> None:
    command = target.method != "get"
    before = _count(running) if command else 0
    answer = _send(running, target, value)
    assert answer.status_code < 500, (target.name, value, answer.text[:500])
    if command and answer.status_code >= 400:
        assert _count(running) == before, (target.name, value, "a refused command stored events")
    if out_of_bounds:
        assert answer.status_code == 422, (target.name, value, answer.text[:500])
        named = {e.get("field") for e in answer.json().get("errors", [])}
        assert target.spoken in named or "body" in named, (target.name, value, named)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_bounded_input_refuses_what_is_out_of_bounds_by_name(served: dict, target: Target) -> None:
    running: ServedInThread = served[target.service]
    for value in OUT_OF_BOUNDS[target.kind]:
        if target.location == "query" and value == "\ud800":
            value = "FY2027\\ud800"  # a query string cannot carry a lone surrogate; the body can (JSON escapes it)
        _check(running, target, value, out_of_bounds=True)
    _check(running, target, EDGES[target.kind], out_of_bounds=False)


# The services answer from threads of their own, which use `random` (jitter, ids) while Hypothesis draws.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_any_value_of_any_bounded_input_never_gives_a_5xx(served: dict, service: str) -> None:
    """The property: Hypothesis draws a field of the service and a value for it, `EXAMPLES` times."""
    running: ServedInThread = served[service]
    mine = [t for t in TARGETS if t.service == service]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def any_value(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(mine), label="field")
        value = data.draw(STRATEGIES[target.kind], label="value")
        _check(running, target, value, out_of_bounds=False)

    any_value()


def test_no_stored_event_is_above_the_size_limit(served: dict) -> None:
    """Last in this module: after every value above was sent, what each service stored fits the broker."""
    for name, running in served.items():
        limit = running.service.runtime.store.max_event_bytes
        assert _count(running) > 0 or name == "reporting", f"{name} stored nothing: the property reached no store"
        assert _largest_record(running) <= limit, name

"""docs/asyncapi.json: committed up to date, valid for the reference parser, and true to the contracts
(every type, its constant `ce_type`, its key, an example the contract itself accepts, money as text)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pmo_events.asyncapi import build
from pmo_events.asyncapi.channels import CONSUMERS, DEAD_LETTERING
from pmo_events.asyncapi.examples import example
from pmo_events.asyncapi.streams import stream_of
from pmo_events.contracts import TOPICS, registry

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.json"
VALIDATOR = ROOT / "tools" / "asyncapi" / "validate.mjs"
#: What a subscriber can meet on the topics: the current contracts and the superseded major versions.
PUBLISHED = {
    t: c for t, c in sorted({**registry.classes(), **registry.superseded()}.items()) if not t.startswith("pmo.test.")
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(json.dumps(build()))


def test_the_committed_document_is_up_to_date(document: dict[str, Any]) -> None:
    assert json.loads(COMMITTED.read_text()) == document, "run `make contracts`"


def test_the_reference_parser_accepts_the_document() -> None:
    node = shutil.which("node")
    if node is None or not (VALIDATOR.parent / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: `make tools` installs it (tools/asyncapi/package.json)")
    result = subprocess.run([node, str(VALIDATOR), str(COMMITTED)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"ok": True, "version": "3.1.0", "messages": len(PUBLISHED) + 2}


def _validator(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """Validates against one schema of the document, its $refs resolved inside the document."""
    registry_ = Registry().with_resource("urn:asyncapi", Resource.from_contents(document, DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:asyncapi#{pointer}"}, registry=registry_, format_checker=FormatChecker())


@pytest.mark.parametrize("type_name", PUBLISHED)
def test_each_message_pins_its_type_and_key_and_shows_an_example_its_contract_accepts(
    document: dict[str, Any], type_name: str
) -> None:
    cls, key = PUBLISHED[type_name], type_name.replace(".", "_")
    message = document["components"]["messages"][key]
    pinned = message["headers"]["allOf"][1]["properties"]
    assert pinned["ce_type"] == {"const": type_name} and pinned["ce_source"] == {"const": f"/pmo/{cls.service}"}
    channel = document["channels"][f"{cls.service}Events"]
    assert channel["address"] == TOPICS[cls.service] and key in channel["messages"]
    (example,) = message["examples"]
    stream = stream_of(cls)
    assert example["headers"]["ce_type"] == type_name
    assert example["headers"]["ce_subject"] == example["payload"][stream.subject_field]
    assert cls.model_validate(example["payload"]).model_dump(mode="json") == example["payload"]
    _validator(document, f"/components/messages/{key}/payload").validate(example["payload"])
    _validator(document, f"/components/messages/{key}/headers").validate(example["headers"])


def test_a_wrong_example_is_caught(document: dict[str, Any]) -> None:
    key = "pmo_portfolio_InvestmentDecided_v1"
    payload = dict(document["components"]["messages"][key]["examples"][0]["payload"])
    payload["approved_budget"] = [{"fiscal_period": "FY2027", "amount": 120000}]
    assert list(_validator(document, f"/components/messages/{key}/payload").iter_errors(payload))
    headers = {**document["components"]["messages"][key]["examples"][0]["headers"], "ce_type": "pmo.x.Other.v1"}
    assert list(_validator(document, f"/components/messages/{key}/headers").iter_errors(headers))


def _numbers(schema: Any, path: str = "") -> list[str]:
    if isinstance(schema, dict):
        found = [path] if schema.get("type") == "number" or "number" in (schema.get("type") or []) else []
        return found + [p for k, v in schema.items() for p in _numbers(v, f"{path}/{k}")]
    if isinstance(schema, list):
        return [p for i, v in enumerate(schema) for p in _numbers(v, f"{path}/{i}")]
    return []


def test_money_and_every_decimal_is_text_never_a_json_number(document: dict[str, Any]) -> None:
    assert _numbers(document["components"]["schemas"]) == []
    amount = document["components"]["schemas"]["PeriodAmount"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount


def test_every_event_belongs_to_one_stream_and_names_are_unique() -> None:
    current = [cls.event_name for t, cls in PUBLISHED.items() if t in registry.classes()]
    assert len(current) == len(set(current))
    # a superseded major version shares its name with the version that replaced it, and nothing else does
    for type_name, cls in registry.superseded().items():
        assert registry.decode(type_name, example(cls)).event_name == cls.event_name
        assert cls.version < next(c.version for c in registry.classes().values() if c.event_name == cls.event_name)
    for cls in PUBLISHED.values():
        stream_of(cls)


def test_consumers_and_dead_letter_topics_are_the_services_own() -> None:
    from pmo_intake.bootstrap import INTAKE
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_reporting.bootstrap import REPORTING
    from pmo_resourcing.bootstrap import RESOURCING

    services = (INTAKE, PORTFOLIO, RESOURCING, REPORTING)
    readers = {s: tuple(d.name for d in services if TOPICS[s] in d.consumes) for s in TOPICS}
    assert {s: set(r) for s, r in readers.items()} == {s: set(r) for s, r in CONSUMERS.items()}
    assert {d.name for d in services if d.consumes} == set(DEAD_LETTERING)


def test_the_subscribers_guide_lists_every_event_under_its_stream_and_key() -> None:
    from pmo_events.asyncapi.streams import STREAMS

    guide = (ROOT / "docs" / "subscribing.md").read_text()
    for stream in STREAMS:
        row = next(line for line in guide.splitlines() if line.startswith(f"| `{stream.type}` |"))
        assert f"`{stream.subject_field}`" in row, stream.type
        listed = {name.strip(" *") for name in row.split("|")[3].split(",")}
        assert listed == set(stream.events), f"{stream.type}: {sorted(listed ^ set(stream.events))}"

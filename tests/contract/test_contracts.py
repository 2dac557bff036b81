"""Published contracts: committed snapshots, compatible evolution, decodable history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pmo_events.contracts import registry
from pmo_events.contracts.compat import breaking_changes

HERE = Path(__file__).parent
SNAPSHOTS = sorted((HERE / "snapshots").glob("*.json"))
PUBLISHED = {t: c for t, c in registry.classes().items() if not t.startswith("pmo.test.")}


def test_every_published_type_has_a_committed_snapshot() -> None:
    missing = sorted(set(PUBLISHED) - {p.stem for p in SNAPSHOTS})
    assert not missing, f"new contracts without a snapshot (run `make contracts`): {missing}"


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_snapshot_types_stay_readable_and_compatible(snapshot: Path) -> None:
    type_name = snapshot.stem
    assert registry.knows(type_name), f"{type_name} was removed: keep it or register an upcaster"
    if type_name in PUBLISHED:
        problems = breaking_changes(json.loads(snapshot.read_text()), PUBLISHED[type_name].model_json_schema())
        assert not problems, f"{type_name} changed incompatibly: {problems}; publish a new major version"


def test_the_compatibility_check_catches_breaking_changes() -> None:
    old: dict[str, Any] = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    assert breaking_changes(old, {**old, "properties": {**old["properties"], "c": {"type": "string"}}}) == []
    assert breaking_changes(old, {"properties": {"a": {"type": "string"}}, "required": ["a"]}) == ["b: removed"]
    assert breaking_changes(old, {**old, "required": ["a", "b"]}) == ["b: became required"]
    changed = {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"]}
    assert breaking_changes(old, changed) == ["a: type changed"]


def test_upcasters_turn_old_versions_into_current_ones() -> None:
    from pmo_events.contracts.base import Event, EventRegistry

    local = EventRegistry()

    class Renamed(Event):
        service = "demo"
        event_name = "Renamed"
        version = 2
        full_name: str

    local.register(Renamed)

    @local.upcaster("pmo.demo.Renamed.v1")
    def v1_to_v2(data: dict[str, object]) -> tuple[str, dict[str, object]]:
        return "pmo.demo.Renamed.v2", {"full_name": data["name"]}

    assert local.decode("pmo.demo.Renamed.v1", {"name": "Ada"}) == Renamed(full_name="Ada")

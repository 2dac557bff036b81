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
SUPERSEDED = registry.superseded()


def test_every_published_type_has_a_committed_snapshot() -> None:
    missing = sorted(set(PUBLISHED) - {p.stem for p in SNAPSHOTS})
    assert not missing, f"new contracts without a snapshot (run `make contracts`): {missing}"


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_snapshot_types_stay_readable_and_compatible(snapshot: Path) -> None:
    type_name = snapshot.stem
    assert registry.knows(type_name), f"{type_name} was removed: keep it or register an upcaster"
    current = PUBLISHED.get(type_name) or SUPERSEDED.get(type_name)
    if current is not None:
        problems = breaking_changes(json.loads(snapshot.read_text()), current.model_json_schema())
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


def test_a_superseded_version_is_read_as_its_successor_and_still_belongs_to_its_topic() -> None:
    from pmo_events.contracts.portfolio import DependencyAtRisk

    assert registry.older_types(DependencyAtRisk.type_name()) == ("pmo.portfolio.DependencyAtRisk.v1",)
    v1 = {
        "graph_id": "dependencies-pf",
        "portfolio_id": "pf",
        "dependency_id": "d1",
        "dependent_project_id": "p-web",
        "provider_project_id": "p-api",
        "need_date": "2027-06-30",
        "cause": "provider_paused",
        "flagged_at": "2027-01-01T00:00:00Z",
    }
    decoded = registry.decode("pmo.portfolio.DependencyAtRisk.v1", v1)
    assert isinstance(decoded, DependencyAtRisk)
    assert (decoded.provider_project_id, decoded.provider_milestone) == ("p-api", None)
    assert decoded.related_ids() == ["p-web", "p-api"]
    assert registry.belongs_to("pmo.portfolio.DependencyAtRisk.v1", "portfolio")
    assert not registry.belongs_to("pmo.portfolio.DependencyAtRisk.v1", "intake")
    with pytest.raises(ValueError, match="exactly one"):
        registry.decode("pmo.portfolio.DependencyAtRisk.v1", {**v1, "provider_project_id": None})

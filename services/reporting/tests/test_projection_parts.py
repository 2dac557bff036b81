"""A read model's parts (`PARTS`) keep to their own documents: folded apart, they make the whole fold's documents."""

from __future__ import annotations

from pmo_reporting.projections.catalogue import PARTS, PROJECTIONS
from pmo_reporting.projections.documents import InMemoryDocuments

from .support import standard_history, varied_history, with_lessons


def test_each_read_models_parts_take_its_effects_in_its_order() -> None:
    for name, projection in PROJECTIONS.items():
        for type_name, effects in projection.handlers.items():
            parted = tuple(effect for part in PARTS[name] for effect in part.handlers.get(type_name, ()))
            assert parted == effects, (name, type_name)
        assert set().union(*(part.handles for part in PARTS[name])) == projection.handles


def test_parts_folded_apart_write_disjoint_documents_that_together_are_the_whole_fold() -> None:
    events = with_lessons(standard_history()).events + varied_history().events
    for name, projection in PROJECTIONS.items():
        whole = InMemoryDocuments()
        for event in events:
            projection.apply(whole, event)
        seen: dict[tuple[str, str], int] = {}
        merged = []
        for index, part in enumerate(PARTS[name]):
            docs = InMemoryDocuments()
            for event in events:
                part.apply(docs, event)
            for kind, key, scope, body in docs.rows():
                assert (kind, key) not in seen, (name, index, seen.get((kind, key)), kind, key)
                seen[kind, key] = index
                merged.append((kind, key, scope, body))
        assert len(PARTS[name]) == 1 or len({index for index in seen.values()}) > 1, name
        assert sorted(merged, key=lambda row: row[:2]) == sorted(whole.rows(), key=lambda row: row[:2]), name

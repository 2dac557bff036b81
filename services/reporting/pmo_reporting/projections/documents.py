"""The state a projection folds into: JSON documents addressed by (kind, key), grouped by scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import orjson

Body = dict[str, Any]


class NotLoaded(LookupError):
    """A document the fold asked for is not in memory yet: load it and run the pure fold again."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind}/{key}")
        self.kind = kind
        self.key = key


class Documents(Protocol):
    """What a projection reads and writes; in memory for `as_of` and rebuilds, in a table when live."""

    def get(self, kind: str, key: str) -> Body | None: ...

    def put(self, kind: str, key: str, body: Body, *, scope: str = "") -> None: ...


class InMemoryDocuments:
    """Every document held in dicts by kind: the fold target of `as_of` questions and of rebuilds."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, tuple[str, Body]]] = {}

    def get(self, kind: str, key: str) -> Body | None:
        found = self._kinds.get(kind, {}).get(key)
        return found[1] if found else None

    def put(self, kind: str, key: str, body: Body, *, scope: str = "") -> None:
        self._kinds.setdefault(kind, {})[key] = (scope, body)

    def all(self, kind: str, *, scope: str | None = None) -> list[Body]:
        """The documents of one kind (optionally one scope), in key order for stable reports."""
        of_kind = self._kinds.get(kind, {})
        return [of_kind[key][1] for key in sorted(of_kind) if scope is None or of_kind[key][0] == scope]

    def rows(self) -> Iterator[tuple[str, str, str, Body]]:
        for kind, of_kind in self._kinds.items():
            for key, (scope, body) in of_kind.items():
                yield kind, key, scope, body

    def __len__(self) -> int:
        return sum(len(of_kind) for of_kind in self._kinds.values())


class LayeredDocuments(InMemoryDocuments):
    """A checkpoint's documents, never changed, under a fold's own changes (copied on first touch).

    Starting an `as_of` fold from a checkpoint costs nothing up front, and checkpoints taken one after
    another share every document that did not change between them.
    """

    def __init__(self, base: InMemoryDocuments) -> None:
        super().__init__()
        self._base = base

    def get(self, kind: str, key: str) -> Body | None:
        own = super().get(kind, key)
        if own is not None:
            return own
        found = self._base._kinds.get(kind, {}).get(key)
        if found is None:
            return None
        copy: Body = orjson.loads(orjson.dumps(found[1]))
        self.put(kind, key, copy, scope=found[0])
        return copy

    def flatten(self) -> InMemoryDocuments:
        """Base and changes as one plain set sharing the bodies: what a new checkpoint keeps."""
        flat = InMemoryDocuments()
        for kind in set(self._base._kinds) | set(self._kinds):
            flat._kinds[kind] = {**self._base._kinds.get(kind, {}), **self._kinds.get(kind, {})}
        return flat

    def all(self, kind: str, *, scope: str | None = None) -> list[Body]:
        return self.flatten().all(kind, scope=scope)

    def rows(self) -> Iterator[tuple[str, str, str, Body]]:
        return self.flatten().rows()

    def __len__(self) -> int:
        return len(self.flatten())

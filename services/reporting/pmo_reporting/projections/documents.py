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


#: A document's JSON, on average, in a generated 200,000-event history's portfolio read model (15 MB of JSON
#: for 17,600 documents): what a set of documents of unknown size is assumed to take (`approx_bytes`).
AVERAGE_BYTES = 900

#: A document's JSON not decoded yet: text, or bytes (as read back from a kept checkpoint).
Text = str | bytes | memoryview
#: A document as held in memory: (scope, its body or its JSON not decoded yet, from a kept checkpoint).
Held = tuple[str, Body | Text]


class InMemoryDocuments:
    """Every document held in dicts by kind: the fold target of `as_of` questions and of rebuilds.

    A body may be held as JSON text until it is first read (`put_encoded`): a checkpoint read from the
    database decodes only the documents a fold or a report touches, and `forget_decoded` holds those as
    text again once the report is made."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, Held]] = {}
        #: The size of the documents' JSON when known (a checkpoint read back), else 0: see `approx_bytes`.
        self.text_bytes = 0
        #: Each body decoded from its text on reading: where it is held, the text it was held as, the body.
        self._read: list[tuple[dict[str, Held], str, Held, Body]] = []

    def _decoded(self, of_kind: dict[str, Held], key: str) -> tuple[str, Body] | None:
        """The entry with its body decoded (once: the decoded body replaces the text until `forget_decoded`)."""
        found = of_kind.get(key)
        if found is None:
            return None
        scope, body = found
        if not isinstance(body, dict):
            decoded: Body = orjson.loads(body)
            of_kind[key] = (scope, decoded)
            self._read.append((of_kind, key, found, decoded))
            return scope, decoded
        return scope, body

    def forget_decoded(self) -> int:
        """Hold every body decoded by reading as its JSON text again (decoded again when next read): a set kept
        for later questions then takes about its text's size, where its decoded documents take several times
        that and, made among a question's short-lived objects, keep CPython's arenas from being given back.
        Answers how many bodies went back to text."""
        read, self._read = self._read, []
        forgotten = 0
        for of_kind, key, text, decoded in read:
            held = of_kind.get(key)
            if held is not None and held[1] is decoded:  # not replaced since
                of_kind[key] = text
                forgotten += 1
        return forgotten

    def get(self, kind: str, key: str) -> Body | None:
        found = self._decoded(self._kinds.get(kind, {}), key)
        return found[1] if found else None

    def put(self, kind: str, key: str, body: Body, *, scope: str = "") -> None:
        self._kinds.setdefault(kind, {})[key] = (scope, body)

    def put_encoded(self, kind: str, key: str, text: Text, *, scope: str = "") -> None:
        self._kinds.setdefault(kind, {})[key] = (scope, text)

    @classmethod
    def encoded(cls, kinds: dict[str, dict[str, Held]], text_bytes: int = 0) -> InMemoryDocuments:
        """Documents held as given, `{kind: {key: (scope, JSON text or bytes)}}` (a kept checkpoint as read back,
        of `text_bytes` bytes of JSON), without a step per document."""
        docs = cls()
        docs._kinds = kinds
        docs.text_bytes = text_bytes
        return docs

    def approx_bytes(self) -> int:
        """About how much memory the documents take: their JSON's size when known, else `AVERAGE_BYTES` each."""
        return self.text_bytes or len(self) * AVERAGE_BYTES

    def all(self, kind: str, *, scope: str | None = None) -> list[Body]:
        """The documents of one kind (optionally one scope), in key order for stable reports."""
        of_kind = self._kinds.get(kind, {})
        keys = sorted(of_kind if scope is None else (key for key, held in of_kind.items() if held[0] == scope))
        return [self._decoded(of_kind, key)[1] for key in keys]  # type: ignore[index]

    def rows(self) -> Iterator[tuple[str, str, str, Body]]:
        for kind, of_kind in self._kinds.items():
            for key in list(of_kind):
                scope, body = self._decoded(of_kind, key)  # type: ignore[misc]
                yield kind, key, scope, body

    def held(self) -> Iterator[tuple[str, dict[str, Held]]]:
        """Each kind's documents as held (a body, or its JSON not decoded yet): not to be changed."""
        return iter(self._kinds.items())

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
        held = found[1]
        copy: Body = orjson.loads(orjson.dumps(held) if isinstance(held, dict) else held)
        self.put(kind, key, copy, scope=found[0])
        return copy

    def flatten(self) -> InMemoryDocuments:
        """Base and changes as one plain set sharing the bodies: what a new checkpoint keeps."""
        flat = InMemoryDocuments()
        for kind in set(self._base._kinds) | set(self._kinds):
            flat._kinds[kind] = {**self._base._kinds.get(kind, {}), **self._kinds.get(kind, {})}
        flat.text_bytes = self._base.approx_bytes()  # the changes are few beside the base they share
        return flat

    def all(self, kind: str, *, scope: str | None = None) -> list[Body]:
        return self.flatten().all(kind, scope=scope)

    def rows(self) -> Iterator[tuple[str, str, str, Body]]:
        return self.flatten().rows()

    def __len__(self) -> int:
        return len(self.flatten())

"""Long folds (replays, rebuilds, checkpoint sweeps) keep the cyclic collector off the heap they grow."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Allocations between two young collections during a fold (Python's default is 700).
FOLD_GC_THRESHOLD = 50_000


@contextmanager
def growing_heap() -> Iterator[Callable[[], None]]:
    """Yields `settle`, to call after each page: what the fold keeps so far is frozen.

    A fold keeps every document it builds, so each full collection would scan a larger heap (a
    rebuild slowed down as it went). Frozen objects are skipped by the collector; reference counting
    still frees garbage at once. What the process held before the fold is frozen too, and the young
    generation is collected every `FOLD_GC_THRESHOLD` allocations instead of every 700 (a page of
    events makes hundreds of thousands of objects, nearly all of them kept or freed by reference
    counting): the collector still runs, less often. Thresholds and the frozen set are restored on the
    way out: nothing frozen, or (in a started service, which freezes what it made: `pmo_servicekit.app`)
    what is alive then, after one full collection.

    Folds may overlap (two rebuilds are two tasks of one event loop, and end in any order): the settings
    are the process's, so the first fold to start saves them and the last one to end restores them.
    """
    global _folds, _frozen_before
    if _folds == 0:
        _frozen_before = gc.get_freeze_count() > 0
    _folds += 1
    _collect_rarely()
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        _folds -= 1
        _collect_as_before()
        if _folds == 0:
            gc.unfreeze()
            if _frozen_before:
                gc.collect()
                gc.freeze()


@contextmanager
def short_lived_heap() -> Iterator[None]:
    """A large batch applied at once (a subscription's poll of thousands of events): the young generation is
    collected every `FOLD_GC_THRESHOLD` allocations instead of every 700, nothing is frozen.

    Nearly everything a batch makes (records, events, their contracts, documents) is freed by reference
    counting when the batch ends; collected every 700 allocations, the batch's live objects were walked and
    promoted again and again, and full collections followed (about a fifth of reporting's live path on the
    event loop's thread, 2026-11-30). Overlaps with folds and other batches as `growing_heap` does: the
    threshold of before the first comes back when the last ends."""
    _collect_rarely()
    try:
        yield
    finally:
        _collect_as_before()


def _collect_rarely() -> None:
    global _rare, _saved
    if _rare == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(_saved[0], FOLD_GC_THRESHOLD), *_saved[1:])
    _rare += 1


def _collect_as_before() -> None:
    global _rare
    _rare -= 1
    if _rare == 0:
        gc.set_threshold(*_saved)


#: Folds under way in this process (they freeze), and whether the process had frozen objects before the first.
_folds = 0
_frozen_before = False
#: Folds and batches under way (they collect rarely), and the collector's thresholds from before the first.
_rare = 0
_saved: tuple[int, int, int] = (700, 10, 10)

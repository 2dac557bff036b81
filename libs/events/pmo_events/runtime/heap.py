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
    global _folds, _saved
    if _folds == 0:
        _saved = (gc.get_threshold(), gc.get_freeze_count() > 0)
        threshold = _saved[0]
        gc.set_threshold(max(threshold[0], FOLD_GC_THRESHOLD), *threshold[1:])
    _folds += 1
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        _folds -= 1
        if _folds == 0:
            threshold, frozen_before = _saved
            gc.set_threshold(*threshold)
            gc.unfreeze()
            if frozen_before:
                gc.collect()
                gc.freeze()


#: Folds under way in this process, and the collector's settings from before the first of them.
_folds = 0
_saved: tuple[tuple[int, int, int], bool] = ((700, 10, 10), False)

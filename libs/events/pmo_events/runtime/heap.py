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
    """
    threshold = gc.get_threshold()
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(threshold[0], FOLD_GC_THRESHOLD), *threshold[1:])
    try:
        yield gc.freeze
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
        if frozen_before:
            gc.collect()
            gc.freeze()

"""Long folds (replays, rebuilds, checkpoint sweeps) keep the cyclic collector off the heap they grow."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def growing_heap() -> Iterator[Callable[[], None]]:
    """Yields `settle`, to call after each page: what the fold keeps so far is frozen.

    A fold keeps every document it builds, so each full collection would scan a larger heap (a
    rebuild slowed down as it went). Frozen objects are skipped by the collector; reference counting
    still frees garbage at once. Everything is unfrozen on the way out.
    """
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()

"""A long fold's collector settings: the heap it grows is frozen, young collections are rarer, all restored."""

from __future__ import annotations

import gc

import pytest

from pmo_events.runtime.heap import FOLD_GC_THRESHOLD, growing_heap, short_lived_heap


@pytest.fixture(autouse=True)
def thawed() -> None:
    """A process that has frozen nothing (the test session's freeze, conftest.py's `frozen_heap`, comes back at
    the next test)."""
    gc.unfreeze()


def test_a_fold_freezes_what_it_keeps_and_collects_rarely_and_restores_both() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    kept = []
    with growing_heap() as settle:
        assert gc.get_threshold()[0] == max(before[0], FOLD_GC_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.isenabled(), "the collector still runs during a fold"
        kept.append([{"page": n} for n in range(100)])
        settle()
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_settings_are_restored_when_the_fold_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), growing_heap():
        raise RuntimeError("the fold failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_what_a_started_service_froze_stays_frozen_after_a_fold() -> None:
    gc.freeze()  # as pmo_servicekit.app does once a service has started
    try:
        with growing_heap():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_two_folds_that_overlap_restore_the_settings_of_before_both() -> None:
    """Two rebuilds of a service (`POST .../rebuild` of two read models) run as tasks of one event loop: the
    first ends while the second folds. The young-collection threshold must come back to what it was before
    both (not stay at FOLD_GC_THRESHOLD for the life of the process), and the second fold's heap must not be
    thawed and walked by a full collection while it still grows."""
    before = gc.get_threshold()
    first, second = growing_heap(), growing_heap()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], FOLD_GC_THRESHOLD), "the second fold still runs"
    assert gc.get_freeze_count() > 0, "the second fold's heap stays frozen"
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_batch_collects_rarely_freezes_nothing_and_restores_the_threshold() -> None:
    before = gc.get_threshold()
    with short_lived_heap():
        assert gc.get_threshold()[0] == max(before[0], FOLD_GC_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), short_lived_heap():
        raise RuntimeError("the batch failed")
    assert gc.get_threshold() == before


def test_a_batch_and_a_fold_that_overlap_restore_the_settings_of_before_both() -> None:
    """A rebuild (a task) runs while the subscription applies polls: whichever ends first leaves the other's
    rare collections in place, the last restores the threshold of before both, and the fold's heap is thawed
    only when the fold ends."""
    before = gc.get_threshold()
    batch, fold = short_lived_heap(), growing_heap()
    batch.__enter__()
    fold.__enter__()
    batch.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], FOLD_GC_THRESHOLD), "the fold still runs"
    assert gc.get_freeze_count() > 0, "the fold's heap stays frozen"
    batch = short_lived_heap()
    batch.__enter__()
    fold.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0, "the fold thawed what it froze"
    assert gc.get_threshold()[0] == max(before[0], FOLD_GC_THRESHOLD), "the batch still runs"
    batch.__exit__(None, None, None)
    assert gc.get_threshold() == before

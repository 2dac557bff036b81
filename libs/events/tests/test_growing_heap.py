"""A long fold's collector settings: the heap it grows is frozen, young collections are rarer, all restored."""

from __future__ import annotations

import gc

import pytest

from pmo_events.runtime.heap import FOLD_GC_THRESHOLD, growing_heap


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

"""Each of portfolio's per-event inline projectors declares the events it writes for (`projects_on`) and does
nothing on any other: a poll's `PollViews.many` calls it on those only, so a declaration must not leave out an
event its projector writes for."""

from __future__ import annotations

from typing import Any

import pytest

from pmo_events.contracts import registry
from pmo_portfolio.replay import PORTFOLIO_VIEWS
from pmo_portfolio.shared.projecting import projects

DECLARED = [p for p in PORTFOLIO_VIEWS.projectors if getattr(p, "many", None) is None]
STREAM_TYPES = sorted(
    {"portfolio", "project", "programme", "objective", "motion", "raid_item", "dependency_graph", "candidate"}
    | {s for p in DECLARED for s in getattr(p, "projects_on", ((), ()))[1]}
)


class _Untouchable:
    """Any use of it but the attributes given fails the test: a projector that returns at once uses only those."""

    def __init__(self, **given: Any) -> None:
        self.__dict__.update(given)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the projector used {name!r} on an event it does not declare")


def test_every_per_event_projector_declares_its_events() -> None:
    assert len(DECLARED) == 11
    for projector in DECLARED:
        types, streams = getattr(projector, "projects_on", (None, None))
        assert types is not None, f"{projector.__name__} declares nothing"
        assert types or streams
        assert types <= set(registry.classes()) | {old for t in registry.classes() for old in registry.older_types(t)}


@pytest.mark.parametrize("projector", DECLARED, ids=lambda p: p.__name__)
async def test_a_projector_does_nothing_on_an_event_it_does_not_declare(projector: Any) -> None:
    checked = 0
    for event_type, cls in registry.classes().items():
        for stream_type in STREAM_TYPES:
            event: Any = _Untouchable(type=event_type, stream_type=stream_type, decode=cls.model_construct)
            if projects(projector, event):
                continue
            await projector(_Untouchable(), event)
            checked += 1
    assert checked

"""A rebuild holds a stored status report as its text (`pmo_portfolio.replay._StoredReport`) and writes it into its
project's state JSON as it is: the state JSON must be `evolve`'s, text for text, after every life of
`test_project_fold`, for reports of arbitrary text, and for stored reports whose text is not what pydantic would
write today (written before the derived figures existed, or with a field the contract no longer has), which are
decoded in full."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import registry
from pmo_events.envelope import RecordedEvent, dumps
from pmo_portfolio import replay
from pmo_portfolio.delivery.domain.project import Project, evolve, initial

from .test_project_fold import LIVES, Step

AT = datetime(2027, 1, 1, tzinfo=UTC)


def stored(name: str, changes: dict[str, Any], sequence: int, *, drop: tuple[str, ...] = ()) -> RecordedEvent:
    """The event as a rebuild reads it from the store: the JSON text its append wrote (less `drop`)."""
    type_name = f"pmo.portfolio.{name}.v1"
    data: dict[str, Any] = example(registry.classes()[type_name]) | {"project_id": "p-1"} | changes
    written = registry.decode(type_name, data).model_dump(mode="json")
    for field in drop:
        written.pop(field)
    return RecordedEvent.stored(
        dumps(written).decode(),
        event_id=f"e{sequence}",
        type=type_name,
        source="/pmo/portfolio",
        stream_id="p-1",
        stream_type="project",
        sequence=sequence,
        time=AT,
    )


def rebuilt_and_evolved(events: list[RecordedEvent]) -> tuple[str, str, int]:
    """The project's state JSON as a rebuild writes it and as `evolve` gives it; how many reports were held as
    stored."""
    folding = replay.PortfolioReplay()
    folding.fold(events)
    [row] = folding.projects.written()
    project = cast(Project, folding.projects.states["p-1"])
    held = sum(type(r) is replay._StoredReport for r in project.current_reports.values())
    state = initial("p-1")
    for event in events:
        state = evolve(state, RecordedEvent.stored(event.text or "", **_attributes(event)).decode())
    return row["state"], state.model_dump_json(), held


def _attributes(event: RecordedEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "source": event.source,
        "stream_id": event.stream_id,
        "stream_type": event.stream_type,
        "sequence": event.sequence,
        "time": event.time,
    }


def test_every_life_gives_evolves_state_json() -> None:
    for life in LIVES:
        events = [stored(name, changes, i) for i, (name, changes) in enumerate(life, start=1)]
        rebuilt, evolved, held = rebuilt_and_evolved(events)
        assert rebuilt == evolved
        assert held  # the reports went in as stored, not decoded


def test_reports_written_before_a_field_existed_or_with_one_dropped_are_decoded() -> None:
    life: tuple[Step, ...] = (
        ("ProjectInitiated", {}),
        ("StatusReported", {"report_id": "r1", "period_end": "2027-01-31"}),
        ("StatusReported", {"report_id": "r2", "period_end": "2027-02-28"}),
        ("StatusReported", {"report_id": "r3", "period_end": "2027-03-31"}),
    )
    events = [stored(name, changes, i) for i, (name, changes) in enumerate(life, start=1)]
    # r1 before SV, CV, EAC and VAC were recorded (derived on read); r2 before the tolerances (defaults).
    events[1] = stored(*life[1], 2, drop=("schedule_variance", "cost_variance", "eac", "vac"))
    events[2] = stored(*life[2], 3, drop=("green_at", "amber_at"))
    rebuilt, evolved, held = rebuilt_and_evolved(events)
    assert rebuilt == evolved
    assert held == 1
    assert '"schedule_variance"' in rebuilt.split('"r1":', 1)[1].split('"r2":', 1)[0]  # derived, as decoded
    # A field the contract no longer has (ignored on decode): written as decoded, without it.
    extra = stored(*life[3], 4)
    object.__setattr__(extra, "text", extra.text[:-1] + ',"dropped_since":1}')  # type: ignore[index]
    rebuilt, evolved, held = rebuilt_and_evolved([*events[:3], extra])
    assert rebuilt == evolved and "dropped_since" not in rebuilt
    assert held == 0


texts = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(summary=texts, justification=st.none() | texts, risks=st.lists(texts, max_size=3), report_id=texts)
def test_any_text_of_a_report_gives_evolves_state_json(
    summary: str, justification: str | None, risks: list[str], report_id: str
) -> None:
    changes = {"summary": summary, "justification": justification, "risks": risks, "report_id": report_id}
    events = [
        stored("ProjectInitiated", {}, 1),
        stored("StatusReported", changes | {"period_end": "2027-01-31"}, 2),
        stored("StatusReported", {"report_id": "r-other", "period_end": "2027-02-28", "summary": summary}, 3),
    ]
    rebuilt, evolved, held = rebuilt_and_evolved(events)
    assert rebuilt == evolved
    assert held == 2

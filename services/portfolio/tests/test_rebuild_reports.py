"""A rebuild decodes (validates) every stored status report and writes its project's state JSON from the decoded
reports: the state JSON must be `evolve`'s, text for text, after every life of `test_project_fold`, for reports of
arbitrary text, for stored reports whose text is not what pydantic would write today (written before the derived
figures existed, with a field the contract no longer has, a number, a value in another form the contract accepts);
a report the contract refuses fails the rebuild (review s13 F3: a rebuild that spliced the stored text into the
row folded such a report, and every later read of the row failed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import registry
from pmo_events.envelope import RecordedEvent, dumps, loads
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


def rebuilt_and_evolved(events: list[RecordedEvent]) -> tuple[str, str]:
    """The project's state JSON as a rebuild writes it and as `evolve` gives it."""
    folding = replay.PortfolioReplay()
    folding.fold(events)
    [row] = folding.projects.written()
    state = initial("p-1")
    for event in events:
        state = evolve(state, RecordedEvent.stored(event.text or "", **_attributes(event)).decode())
    return row["state"], state.model_dump_json()


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
        rebuilt, evolved = rebuilt_and_evolved(events)
        assert rebuilt == evolved


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
    rebuilt, evolved = rebuilt_and_evolved(events)
    assert rebuilt == evolved
    assert '"schedule_variance"' in rebuilt.split('"r1":', 1)[1].split('"r2":', 1)[0]  # derived, as decoded
    # A field the contract no longer has (ignored on decode): written as decoded, without it.
    extra = stored(*life[3], 4)
    object.__setattr__(extra, "text", extra.text[:-1] + ',"dropped_since":1}')  # type: ignore[index]
    rebuilt, evolved = rebuilt_and_evolved([*events[:3], extra])
    assert rebuilt == evolved and "dropped_since" not in rebuilt


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
    rebuilt, evolved = rebuilt_and_evolved(events)
    assert rebuilt == evolved


def _reported(changes: dict[str, Any]) -> list[RecordedEvent]:
    """A project's first report with `changes` made to its stored text (its keys unchanged, in order)."""
    events = [
        stored("ProjectInitiated", {}, 1),
        stored("StatusReported", {"report_id": "r1", "period_end": "2027-01-31"}, 2),
    ]
    data = orjson.loads(events[1].text or "")
    assert set(changes) <= set(data)
    object.__setattr__(events[1], "text", orjson.dumps(data | changes).decode())
    return events


def test_a_report_the_contract_refuses_fails_the_rebuild_as_its_decode() -> None:
    """Never folded into a row every later read would fail on."""
    events = _reported(
        {"rag": "purple", "percent_complete": "not a number", "actual_cost": "-1e999999", "spi": 42, "summary": None}
    )
    with pytest.raises(ValidationError) as decoding:
        RecordedEvent.stored(events[1].text or "", **_attributes(events[1])).decode()
    with pytest.raises(ValidationError) as rebuilding:
        replay.PortfolioReplay().fold(events)
    assert rebuilding.value.errors() == decoding.value.errors() and rebuilding.value.title == "StatusReported"
    for change in ({"percent_complete": "not a number"}, {"rag": "purple"}, {"period_end": "2027-02-30"}):
        with pytest.raises(ValidationError):
            replay.PortfolioReplay().fold(_reported(change))


#: Values the contract accepts in another form than it writes: as JSON numbers, ratings otherwise written, strings.
OTHER_FORMS: tuple[dict[str, Any], ...] = (
    {"green_at": 0.95},
    {"percent_complete": 35},
    {"actual_cost": 38000.5},
    {"percent_complete": 0.1234567890123456789},
    {"rag": {"overall": "green", "schedule": "green", "cost": "green", "scope": "green"}},
    {"derived_rag": {"schedule": "green", "cost": "green", "scope": "green", "overall": "green", "since": 1}},
    {"period_end": "2027-01-31T00:00:00"},
    {"forecast_end": "2027-03-31T00:00:00Z"},
    {"reported_at": "2026-11-25T10:15:00+00:00"},
    {"reported_at": "2026-11-25T11:15:00.000+01:00"},
    {"actual_cost": "3.8e4", "bac": "1.2E+5"},
    {"percent_complete": "3.50E1", "green_at": "5e-2"},
    {"actual_cost": "38000", "spi": "1.0", "risks": []},
    {"percent_complete": " 35 ", "actual_cost": "+38_000.00"},
    {"reported_at": "1795601700"},
    {"reported_at": "2026-11-25t10:15:00z", "period_end": "2027-01-31 00:00"},
)


@pytest.mark.parametrize("changes", OTHER_FORMS)
def test_a_report_in_another_form_is_written_as_evolve_writes_it(changes: dict[str, Any]) -> None:
    """Written as decoded, text for text; and a read of the row (`Project.model_validate(loads(state))`, as every
    reader does) gives `evolve`'s values."""
    rebuilt, evolved = rebuilt_and_evolved(_reported(changes))
    assert rebuilt == evolved
    read, expected = Project.model_validate(loads(rebuilt)), Project.model_validate(loads(evolved))
    assert read == expected
    assert [r.model_dump() for r in read.current_reports.values()] == [
        r.model_dump() for r in expected.current_reports.values()
    ]
    assert read.model_dump_json() == evolved


def test_a_string_escaped_otherwise_is_written_as_evolve_writes_it() -> None:
    events = _reported({})
    text = events[1].text or ""
    assert '"summary":"Self-service' in text
    object.__setattr__(events[1], "text", text.replace('"summary":"Self-service', '"summary":"\\u0053elf\\/service'))
    rebuilt, evolved = rebuilt_and_evolved(events)
    assert rebuilt == evolved and "Self/service" in rebuilt
    read = Project.model_validate(loads(rebuilt))
    assert read == Project.model_validate(loads(evolved)) and read.model_dump_json() == evolved


decimals = st.decimals(allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(percent=decimals, cost=decimals, spelled=st.sampled_from([str, lambda d: f"{d:e}", lambda d: f"{d:f}"]))
def test_decimals_in_any_spelling_are_written_as_evolve_writes_them(percent: Any, cost: Any, spelled: Any) -> None:
    rebuilt, evolved = rebuilt_and_evolved(
        _reported({"percent_complete": spelled(percent), "actual_cost": spelled(cost)})
    )
    assert rebuilt == evolved
    read = Project.model_validate(loads(rebuilt))
    assert read == Project.model_validate(loads(evolved)) and read.model_dump_json() == evolved

"""A rebuild validates every stored status report and holds it as its text (`pmo_portfolio.replay._StoredReport`),
written into its project's state JSON as it is: the state JSON must be `evolve`'s, text for text, after every life
of `test_project_fold`, for reports of arbitrary text, and for stored reports whose text is not what pydantic would
write today (written before the derived figures existed, with a field the contract no longer has, or a number),
which are written as decoded; a report in another form the contract accepts reads back as `evolve`'s values; a
report the contract refuses fails the rebuild."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

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
    """As before the reports were held as stored: never folded into a row every later read would fail on."""
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


#: Values the contract accepts in another form than it writes: as JSON numbers or ratings otherwise written (written
#: as decoded), or as strings (held as stored, read back as the same values).
OTHER_FORMS: tuple[tuple[dict[str, Any], bool], ...] = (
    ({"green_at": 0.95}, False),
    ({"percent_complete": 35}, False),
    ({"actual_cost": 38000.5}, False),
    ({"percent_complete": 0.1234567890123456789}, False),
    ({"rag": {"overall": "green", "schedule": "green", "cost": "green", "scope": "green"}}, False),
    ({"derived_rag": {"schedule": "green", "cost": "green", "scope": "green", "overall": "green", "since": 1}}, False),
    ({"period_end": "2027-01-31T00:00:00"}, True),
    ({"forecast_end": "2027-03-31T00:00:00Z"}, True),
    ({"reported_at": "2026-11-25T10:15:00+00:00"}, True),
    ({"reported_at": "2026-11-25T11:15:00.000+01:00"}, True),
    ({"actual_cost": "3.8e4", "bac": "1.2E+5"}, True),
    ({"percent_complete": "3.50E1", "green_at": "5e-2"}, True),
    ({"actual_cost": "38000", "spi": "1.0", "risks": []}, True),
    ({"percent_complete": " 35 ", "actual_cost": "+38_000.00"}, True),
    ({"reported_at": "1795601700"}, True),
    ({"reported_at": "2026-11-25t10:15:00z", "period_end": "2027-01-31 00:00"}, True),
)


@pytest.mark.parametrize(("changes", "held"), OTHER_FORMS)
def test_a_report_in_another_form_reads_back_as_evolves(changes: dict[str, Any], held: bool) -> None:
    """Held as stored only when a read of the row (`Project.model_validate(loads(state))`, as every reader does)
    gives `evolve`'s values, and the row written again from them is `evolve`'s text; a number is written as
    decoded, text for text."""
    rebuilt, evolved, holding = rebuilt_and_evolved(_reported(changes))
    assert holding == held
    if not held:
        assert rebuilt == evolved
    read, expected = Project.model_validate(loads(rebuilt)), Project.model_validate(loads(evolved))
    assert read == expected
    assert [r.model_dump() for r in read.current_reports.values()] == [
        r.model_dump() for r in expected.current_reports.values()
    ]
    assert read.model_dump_json() == evolved


def test_a_string_escaped_otherwise_reads_back_as_evolves() -> None:
    events = _reported({})
    text = events[1].text or ""
    assert '"summary":"Self-service' in text
    object.__setattr__(events[1], "text", text.replace('"summary":"Self-service', '"summary":"\\u0053elf\\/service'))
    rebuilt, evolved, held = rebuilt_and_evolved(events)
    assert held == 1 and "\\u0053elf" in rebuilt
    read = Project.model_validate(loads(rebuilt))
    assert read == Project.model_validate(loads(evolved)) and read.model_dump_json() == evolved


decimals = st.decimals(allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(percent=decimals, cost=decimals, spelled=st.sampled_from([str, lambda d: f"{d:e}", lambda d: f"{d:f}"]))
def test_decimals_in_any_spelling_read_back_as_evolves(percent: Any, cost: Any, spelled: Any) -> None:
    rebuilt, evolved, held = rebuilt_and_evolved(
        _reported({"percent_complete": spelled(percent), "actual_cost": spelled(cost)})
    )
    assert held == 1
    read = Project.model_validate(loads(rebuilt))
    assert read == Project.model_validate(loads(evolved)) and read.model_dump_json() == evolved

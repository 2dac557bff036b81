"""Events read back from a table keep their payload as JSON text: decoded lazily, validated straight from the text."""

from __future__ import annotations

import dataclasses
import functools
import operator
import pickle
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import registry
from pmo_events.envelope import _DATA_SLOT, RecordedEvent, dumps, stored_reader
from pmo_events.runtime.store import EventStore, Metadata, new_event_ids

WHEN = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def stored(type_name: str, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent.stored(
        dumps(data).decode(), event_id="e-1", type=type_name, source="/pmo/x", stream_id="s-1", sequence=1, time=WHEN
    )


def recorded(type_name: str, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        event_id="e-1", type=type_name, source="/pmo/x", stream_id="s-1", sequence=1, time=WHEN, data=data
    )


@pytest.mark.parametrize("type_name", sorted(registry.classes()))
def test_every_contract_decodes_from_its_stored_text_as_from_its_data(type_name: str) -> None:
    data = example(registry.classes()[type_name])
    assert stored(type_name, data).decode() == recorded(type_name, data).decode()


@pytest.mark.parametrize("type_name", sorted(registry.classes()))
def test_a_producers_own_event_decodes_to_itself_and_equals_its_json_decoded(type_name: str) -> None:
    """`RecordedEvent.of` (what the store records) keeps the contract it was given, through its position;
    decoding its JSON again gives an equal contract, so nothing reading it sees a difference."""
    made = registry.classes()[type_name].model_validate(example(registry.classes()[type_name]))
    recorded_of = RecordedEvent.of(made, event_id="e-1", source="/pmo/x", stream_id="s-1", sequence=1, time=WHEN)
    assert recorded_of.decode() is made and recorded_of.at_position(7).decode() is made
    assert recorded_of.at_position(7).position == 7
    assert recorded(type_name, recorded_of.data).decode() == made
    assert recorded_of == recorded(type_name, made.model_dump(mode="json"))


@pytest.mark.parametrize("type_name", sorted(registry.superseded()))
def test_a_superseded_version_recorded_by_a_producer_is_upcast_on_decode_as_when_read(type_name: str) -> None:
    """An older version appended as is (a migration, a test of old histories) decodes as its successor, as the
    same event read back from the store does: the views and policies of the command that recorded it see the
    type they handle (keeping the old contract left a v1 dependency out of portfolio's views)."""
    made = registry.superseded()[type_name].model_validate(example(registry.superseded()[type_name]))
    recorded_of = RecordedEvent.of(made, event_id="e-1", source="/pmo/x", stream_id="s-1", sequence=1, time=WHEN)
    assert recorded_of.type == type_name
    assert recorded_of.decode() == recorded(type_name, recorded_of.data).decode()
    assert recorded_of.decode().type_name() != type_name


@pytest.mark.parametrize("type_name", sorted(registry.superseded()))
def test_a_superseded_version_read_from_its_text_is_upcast_to_its_successor(type_name: str) -> None:
    data = example(registry.superseded()[type_name])
    decoded = stored(type_name, data).decode()
    assert decoded == recorded(type_name, data).decode()
    assert decoded.type_name() != type_name


def test_the_data_is_decoded_once_when_asked_for_and_the_event_equals_one_built_from_it() -> None:
    type_name = "pmo.intake.ProposalWithdrawn.v1"
    data = example(registry.classes()[type_name])
    lazy, eager = stored(type_name, data), recorded(type_name, data)
    assert lazy == eager and lazy.data == data and lazy.data is lazy.data
    assert lazy.payload_bytes() == eager.payload_bytes() == dumps(data)
    assert pickle.loads(pickle.dumps(lazy)) == eager
    with pytest.raises(dataclasses.FrozenInstanceError):
        lazy.data = {}  # type: ignore[misc]


def test_a_copy_with_other_data_does_not_keep_the_old_text() -> None:
    type_name = "pmo.intake.ProposalWithdrawn.v1"
    data = example(registry.classes()[type_name])
    changed = dataclasses.replace(stored(type_name, data), data={**data, "reason": "another reason"})
    assert changed.decode().reason == "another reason"  # type: ignore[attr-defined]
    assert changed.payload_bytes() == dumps({**data, "reason": "another reason"})


def test_a_payload_its_contract_refuses_is_refused_from_the_text_too() -> None:
    type_name = "pmo.intake.ProposalWithdrawn.v1"
    data = {**example(registry.classes()[type_name]), "withdrawn_at": "not a time"}
    with pytest.raises(ValidationError):
        recorded(type_name, data).decode()
    with pytest.raises(ValidationError):
        stored(type_name, data).decode()


def test_a_row_read_by_stored_reader_is_the_event_stored_gives() -> None:
    type_name = "pmo.intake.ProposalWithdrawn.v1"
    data = example(registry.classes()[type_name])
    read = stored_reader(("position", "event_id", "type", "text", "source", "stream_id", "sequence", "time", "topic"))
    fast = read((7, "e-1", type_name, dumps(data).decode(), "/pmo/x", "s-1", 1, WHEN, "pmo.intake.events"))
    slow = dataclasses.replace(stored(type_name, data), position=7, topic="pmo.intake.events")
    every = [field.name for field in dataclasses.fields(RecordedEvent)]
    assert [getattr(fast, name) for name in every] == [getattr(slow, name) for name in every]
    assert fast == slow and fast.decode() == slow.decode() and fast.payload_bytes() == dumps(data)
    assert pickle.loads(pickle.dumps(fast)) == slow
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.type = "other"  # type: ignore[misc]


def test_stored_reader_refuses_columns_that_are_not_a_stored_event() -> None:
    with pytest.raises(ValueError, match="payload as text"):
        stored_reader(("event_id", "type", "source", "stream_id", "sequence", "time", "data"))
    with pytest.raises(ValueError, match="payload as text"):
        stored_reader(("event_id", "type", "source", "stream_id", "sequence", "time", "text", "colour"))
    with pytest.raises(ValueError, match="needs its sequence"):
        stored_reader(("event_id", "type", "source", "stream_id", "time", "text"))


def every_slot(event: RecordedEvent) -> list[Any]:
    """Each slot's value as stored (`data` through its slot: a stored event's text is not decoded here)."""
    return [
        (RecordedEvent.__dict__[f.name] if f.name != "data" else _DATA_SLOT).__get__(event, RecordedEvent)
        for f in dataclasses.fields(RecordedEvent)
    ]


@pytest.mark.parametrize("type_name", sorted({**registry.classes(), **registry.superseded()}))
def test_an_event_an_append_records_is_the_one_of_gives(type_name: str) -> None:
    """`RecordedEvent.recorded` (made without the dataclass's `__init__`) sets every slot as `of` does,
    the decoded contract included (kept for a current version, left to decode for a superseded one), but its
    payload: kept as the JSON text pydantic's serializer writes, the same bytes as `of`'s `data` dumped, with
    `data` decoded from it when first asked for (equal to `of`'s)."""
    model = {**registry.classes(), **registry.superseded()}[type_name]
    made = model.model_validate(example(model))
    attributes: dict[str, Any] = {
        "event_id": "e-1", "source": "/pmo/x", "stream_id": "s-1", "stream_type": "thing", "sequence": 3,
        "time": WHEN, "actor": "someone", "correlation_id": "c-1", "causation_id": None,
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }  # fmt: skip
    fast = RecordedEvent.recorded(made, **attributes)
    of = RecordedEvent.of(made, **attributes)
    payload = [i for i, f in enumerate(dataclasses.fields(RecordedEvent)) if f.name in ("data", "text")]
    assert [v for i, v in enumerate(every_slot(fast)) if i not in payload] == [
        v for i, v in enumerate(every_slot(of)) if i not in payload
    ]
    assert fast.payload_bytes() == of.payload_bytes() == dumps(made.model_dump(mode="json"))
    assert fast.data == of.data and fast == of
    assert fast.decode() == of.decode() and (fast._decoded is made) == registry.is_current(type_name, model)


def test_an_event_at_its_position_keeps_every_other_slot_and_its_undecoded_text() -> None:
    type_name = "pmo.intake.ProposalWithdrawn.v1"
    data = example(registry.classes()[type_name])
    lazy = stored(type_name, data)
    positioned = lazy.at_position(9)
    names = [f.name for f in dataclasses.fields(RecordedEvent)]
    expected = [9 if name == "position" else value for name, value in zip(names, every_slot(lazy), strict=True)]
    assert every_slot(positioned) == expected
    assert _DATA_SLOT.__get__(positioned, RecordedEvent) is _DATA_SLOT.__get__(lazy, RecordedEvent)  # not decoded
    assert positioned.position == 9 and lazy.position is None and positioned == dataclasses.replace(lazy, position=9)
    made = registry.classes()[type_name].model_validate(data)
    recorded_of = RecordedEvent.of(made, event_id="e-1", source="/pmo/x", stream_id="s-1", sequence=1, time=WHEN)
    assert recorded_of.at_position(4)._decoded is made
    with pytest.raises(dataclasses.FrozenInstanceError):
        positioned.position = 3  # type: ignore[misc]


def test_the_ids_an_append_gives_its_events_are_random_version_4_uuids_as_text() -> None:
    ids = new_event_ids(5000)
    assert len(set(ids)) == 5000 and new_event_ids(0) == []
    for event_id in ids:
        parsed = uuid.UUID(event_id)
        assert (str(parsed), parsed.version, parsed.variant) == (event_id, 4, uuid.RFC_4122)
    # every bit but the six fixed ones varies
    assert functools.reduce(operator.or_, (uuid.UUID(i).int for i in ids)) == ~_FIXED & ((1 << 128) - 1) | _VERSION_4


_FIXED = (0xF000 << 64) | (0xC000 << 48)
_VERSION_4 = (4 << 76) | (0x8000 << 48)


def test_a_prepared_append_stores_the_json_it_publishes() -> None:
    type_name = "pmo.portfolio.CandidateRegistered.v1"
    made = registry.classes()[type_name].model_validate(example(registry.classes()[type_name]))
    store = EventStore(source="/pmo/portfolio", topic="pmo.portfolio.events")
    prepared = store.prepare(
        stream_id="s-1", stream_type="portfolio", expected_version=4, new_events=[made, made], meta=Metadata()
    )
    assert [row["data"] for row in prepared.rows] == [dumps(e.data).decode() for e in prepared.recorded]
    assert [m.value for m in prepared.messages] == [dumps(made.model_dump(mode="json"))] * 2
    assert [row["version"] for row in prepared.rows] == [5, 6] and len({r["event_id"] for r in prepared.rows}) == 2


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'quotes " and \\ backslash',
        "na\u00efve \u2013 \u00fcn\u00efcode \u2713 \U0001d11e",
        "control \x00\x01\x1f\x7f tab\t nl\n",
        "\u2028\u2029",
    ],
)
def test_a_recorded_payload_is_the_json_of_the_dumped_contract_whatever_its_text(text: str) -> None:
    """The serializer's JSON and `dumps(model_dump(mode="json"))` agree byte for byte on text that JSON escapes
    (or not), so a recorded event's record value, signature and stored row are what they were."""
    model = registry.classes()["pmo.intake.ProposalApproved.v1"]
    made = model.model_validate({**example(model), "rationale": text})
    fast = RecordedEvent.recorded(made, "e-1", "/pmo/x", "s-1", "proposal", 1, WHEN, None, None, None, None)
    assert fast.payload_bytes() == dumps(made.model_dump(mode="json"))
    assert fast.data["rationale"] == text

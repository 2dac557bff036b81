"""Every instant of every event contract is timezone-aware UTC once decoded (`UtcInstant`). The contracts took a
`datetime` as given: a value without a time zone (an older or hand-made event's) stayed naive, against "time is
timezone-aware UTC" (session 13's note: `reported_at`), and one at another offset kept it. Stored history still
decodes: a naive value is read as UTC. The published schemas are unchanged (`make contracts`: no diff)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from pmo_events.asyncapi.examples import example
from pmo_events.contracts.base import Event, registry
from pmo_events.contracts.portfolio import StatusReported

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CONTRACTS = {**registry.classes(), **registry.superseded()}


def _instants(cls: type[Event]) -> tuple[dict[str, Any], list[str]]:
    data = example(cls)
    return data, [name for name, value in data.items() if isinstance(value, str) and INSTANT.match(value)]


def test_the_contracts_have_instants_to_check() -> None:
    assert sum(len(_instants(cls)[1]) for cls in CONTRACTS.values()) >= 60


@pytest.mark.parametrize("type_name", sorted(t for t, cls in CONTRACTS.items() if _instants(cls)[1]))
def test_an_instant_without_a_time_zone_or_at_another_offset_is_read_as_utc(type_name: str) -> None:
    cls = CONTRACTS[type_name]
    data, names = _instants(cls)
    for name in names:
        written = datetime.fromisoformat(data[name])
        east = (written + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
        for given in (data[name], data[name].removesuffix("Z"), east):
            text = orjson.dumps(data | {name: given})
            for decoded in (cls.model_validate_json(text), cls.model_validate(orjson.loads(text))):
                value = getattr(decoded, name)
                assert value == written and value.utcoffset() == timedelta(0), (name, given, value)
                assert decoded.model_dump(mode="json")[name] == data[name]  # written as UTC, `Z`
        naive = cls.model_validate(data | {name: written.replace(tzinfo=None)})  # a producer's naive value
        assert getattr(naive, name).tzinfo is not None
    if registry.is_current(type_name, cls):  # the consumers' way in
        text = orjson.dumps(data | {name: data[name].removesuffix("Z") for name in names})
        decoded = registry.decode_json(type_name, text)
        assert all(getattr(decoded, name).tzinfo is not None for name in names)


def test_an_instant_that_is_not_one_is_still_refused() -> None:
    data = example(StatusReported)
    with pytest.raises(ValueError):
        StatusReported.model_validate(data | {"reported_at": "soon"})
    at = StatusReported.model_validate(data | {"reported_at": "2027-01-01T00:00:00Z"}).reported_at
    assert at == datetime(2027, 1, 1, tzinfo=UTC)

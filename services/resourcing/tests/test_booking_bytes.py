"""A booking's answer and its resource row's `state` document are the bytes they were (issue 17, session 15).

`_view_of` builds `AllocationView` from the booking's own values, which `answer` writes straight to JSON, where
it dumped the booking to JSON types, validated that again as the view, dumped it again and had `JSONResponse`
encode the dict; `state_json` writes the resource with `model_dump_json`, where it wrote the JSON-typed dump
with `dumps`. Both are compared here with the old ways on generated calendars and answers: any text (control
characters, quotes, non-ASCII), decimals of any exponent, every status, with and without an over-allocation."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pmo_events.contracts.resourcing import AllocationBooked, ResourceOverallocated, Skill, WeekLoad
from pmo_events.envelope import dumps
from pmo_events.runtime import Changed
from pmo_resourcing.adapters.http.allocations import _view_of
from pmo_resourcing.adapters.http.responses import AllocationView
from pmo_resourcing.domain.resource import Booking, Resource, TimeOff
from pmo_resourcing.projections.resources import state_json
from pmo_servicekit.http import answer

texts = st.text(max_size=12)
ids = st.text(min_size=1, max_size=12)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
# FTE as bookings hold them: written by the event's serializer (`format(v, "f")`) and read back, or as given.
ftes = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10), places=4).flatmap(
    lambda d: st.sampled_from([d, Decimal(format(d, "f")), d.normalize()])
)
amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal(10**6), places=2))

bookings = st.builds(
    Booking,
    allocation_id=ids,
    project_id=ids,
    demand_id=st.one_of(st.none(), ids),
    start=days,
    end=days,
    fte=ftes,
    status=st.sampled_from(["proposed", "confirmed", "released"]),
    revision=st.integers(min_value=1, max_value=10**6),
    overallocated=st.booleans(),
    non_working_days_reason=st.one_of(st.none(), texts),
)
resources = st.builds(
    Resource,
    resource_id=ids,
    status=st.sampled_from(["new", "active", "retired"]),
    name=texts,
    kind=st.sampled_from(["person", "generic"]),
    role=texts,
    skills=st.lists(st.builds(Skill, name=texts, level=st.integers(1, 5)), max_size=3).map(tuple),
    pool=st.one_of(st.none(), texts),
    fte=ftes,
    hours_per_week=amounts,
    cost_rate=amounts,
    working_days=st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), unique=True).map(tuple),
    time_off=st.lists(st.builds(TimeOff, time_off_id=ids, start=days, end=days, reason=texts), max_size=3).map(tuple),
    retired_on=st.one_of(st.none(), days),
    bookings=st.lists(bookings, max_size=6).map(lambda bs: {b.allocation_id: b for b in bs}),
)
loads = st.decimals(min_value=0, max_value=Decimal(100), places=4)
weeks = st.builds(WeekLoad, week=st.text(string.digits + "-W", max_size=8), capacity=loads, load=loads, excess=loads)


def old_view(allocation_id: str, outcome: Changed[Resource]) -> tuple[dict[str, Any], int]:
    """`_view_of`'s view before session 15."""
    booking = outcome.state.bookings[allocation_id]
    facts = [e.model_dump(mode="json") for e in outcome.new_events if isinstance(e, ResourceOverallocated)]
    body = {
        "id": allocation_id,
        "resource_id": outcome.state.resource_id,
        "role": outcome.state.role,
        **booking.model_dump(mode="json", exclude={"allocation_id"}),
        "overallocation": facts[0] if facts else None,
    }
    return AllocationView.model_validate(body).model_dump(mode="json"), booking.revision


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[str, Changed[Resource]]:
    resource = draw(resources)
    booking = draw(bookings)
    resource = resource.model_copy(update={"bookings": {**resource.bookings, booking.allocation_id: booking}})
    booked = AllocationBooked(
        resource_id=resource.resource_id,
        role=resource.role,
        booked_by=draw(ids),
        status="proposed" if booking.status == "proposed" else "confirmed",
        **booking.model_dump(include={"allocation_id", "project_id", "demand_id", "start", "end", "fte"}),
    )
    events: list[Any] = [booked]
    if draw(st.booleans()):
        events.append(
            ResourceOverallocated(
                resource_id=resource.resource_id,
                cause=draw(st.sampled_from(["booking", "change", "confirmation", "time_off", "capacity_change"])),
                allocation_id=booking.allocation_id,
                project_id=booking.project_id,
                weeks=tuple(draw(st.lists(weeks, min_size=1, max_size=3))),
                reason=draw(ids),
                accepted_by=draw(ids),
            )
        )
    return booking.allocation_id, Changed(state=resource, version=draw(st.integers(1, 10**6)), new_events=tuple(events))


@settings(max_examples=300, deadline=None)
@given(outcomes(), st.sampled_from([200, 201]))
def test_the_answer_is_the_bytes_it_was(outcome: tuple[str, Changed[Resource]], status: int) -> None:
    allocation_id, changed = outcome
    body, version = _view_of(allocation_id)(changed)
    expected_body, expected_version = old_view(allocation_id, changed)
    location = "/allocations/62552ed0-3a1a-455f-ae10-2e5ad44e9cf6"
    new = answer(body, version, status_code=status, location=location)
    old = answer(expected_body, expected_version, status_code=status, location=location)  # a dict: JSONResponse
    assert isinstance(body, AllocationView) and isinstance(expected_body, dict)
    assert new.body == old.body
    assert (new.status_code, new.headers.items()) == (old.status_code, old.headers.items())


@settings(max_examples=300, deadline=None)
@given(resources)
def test_the_state_document_is_the_text_it_was(resource: Resource) -> None:
    assert state_json(resource) == dumps(resource.model_dump(mode="json")).decode()

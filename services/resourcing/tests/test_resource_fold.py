"""A rebuild's in-place fold of a resource (`evolve_owned`) gives `evolve`'s states, event for event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pmo_events.contracts.base import Event
from pmo_events.contracts.resourcing import (
    AllocationBooked,
    AllocationChanged,
    AllocationConfirmed,
    AllocationReleased,
    ResourceOverallocated,
    ResourceRegistered,
    ResourceRetired,
    ResourceUpdated,
    Skill,
    TimeOffRecorded,
    WeekLoad,
)
from pmo_resourcing.domain.resource import Resource, evolve, evolve_owned, initial

RID = "r-1"
ON = {"resource_id": RID, "project_id": "p-1"}


def booked(
    allocation_id: str, fte: str, status: Literal["proposed", "confirmed"] = "proposed", demand_id: str | None = "d-1"
) -> Event:
    return AllocationBooked(
        allocation_id=allocation_id,
        **ON,
        demand_id=demand_id,
        role="developer",
        start=date(2027, 1, 4),
        end=date(2027, 1, 15),
        fte=Decimal(fte),
        status=status,
        booked_by="m",
    )


#: Every event a resource's stream holds, including ones that touch no booking (an unknown allocation).
HISTORY: list[Event] = [
    ResourceRegistered(
        resource_id=RID,
        name="Ada",
        kind="person",
        role="developer",
        skills=(Skill(name="python", level=4),),
        fte=Decimal("1.0"),
        registered_by="m",
    ),
    booked("a-1", "0.5"),
    booked("a-2", "0.7", status="confirmed", demand_id=None),
    AllocationConfirmed(allocation_id="a-1", **ON, confirmed_by="m"),
    ResourceOverallocated(
        resource_id=RID,
        cause="booking",
        allocation_id="a-2",
        project_id="p-1",
        weeks=(WeekLoad(week="2027-W01", capacity=Decimal(1), load=Decimal("1.2"), excess=Decimal("0.2")),),
        reason="crunch",
        accepted_by="m",
    ),
    AllocationChanged(
        allocation_id="a-2",
        **ON,
        start=date(2027, 1, 5),
        end=date(2027, 1, 20),
        fte=Decimal("0.25"),
        non_working_days_reason="weekend",
        changed_by="m",
    ),
    TimeOffRecorded(
        resource_id=RID, time_off_id="t-1", start=date(2027, 1, 6), end=date(2027, 1, 6), reason="x", recorded_by="m"
    ),
    AllocationReleased(allocation_id="a-1", **ON, released_by="m"),
    AllocationConfirmed(allocation_id="unknown", **ON, confirmed_by="m"),
    ResourceOverallocated(
        resource_id=RID,
        cause="booking",
        allocation_id="unknown",
        project_id="p-1",
        weeks=(),
        reason="-",
        accepted_by="m",
    ),
    ResourceUpdated(resource_id=RID, name="Ada L.", role="lead", fte=Decimal("0.8"), updated_by="m"),
    booked("a-3", "0.1"),
    ResourceRetired(resource_id=RID, retired_on=date(2027, 6, 30), retired_by="m"),
]


def test_the_in_place_fold_gives_evolves_state_after_every_event() -> None:
    pure, owned = initial(RID), initial(RID)
    for event in HISTORY:
        pure, owned = evolve(pure, event), evolve_owned(owned, event)
        assert owned.model_dump(mode="json") == pure.model_dump(mode="json"), type(event).__name__
        # The fields marked set too (what `model_dump(exclude_unset=True)` and a copy's validation see).
        assert {a: b.model_fields_set for a, b in owned.bookings.items()} == {
            a: b.model_fields_set for a, b in pure.bookings.items()
        }, type(event).__name__
    assert pure.status == "retired" and pure.bookings["a-1"].status == "released"
    assert pure.bookings["a-2"].overallocated and pure.bookings["a-2"].revision == 2


def test_evolve_leaves_the_state_it_was_given_alone() -> None:
    states: list[Resource] = [initial(RID)]
    dumps = [states[0].model_dump(mode="json")]
    for event in HISTORY:
        states.append(evolve(states[-1], event))
        dumps.append(states[-1].model_dump(mode="json"))
    assert [state.model_dump(mode="json") for state in states] == dumps
    assert len({len(state.bookings) for state in states}) == 4  # 0, 1, 2 and 3 bookings: each state its own

"""Events published by the resourcing service on topic `pmo.resourcing.events`."""

from __future__ import annotations

from datetime import date

from pmo_events.contracts.base import Event, Money, contract

SERVICE = "resourcing"
TOPIC = "pmo.resourcing.events"


@contract
class DemandRaised(Event):
    """An initiated project needs `fte` of `role` from `start` to `end`."""

    service = SERVICE
    event_name = "DemandRaised"
    related_fields = ("project_id",)
    demand_id: str
    project_id: str
    role: str
    fte: Money
    start: date
    end: date

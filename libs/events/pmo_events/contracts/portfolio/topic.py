"""The portfolio service's topic, and the base of every event it publishes there."""

from __future__ import annotations

from pmo_events.contracts.base import Event

SERVICE = "portfolio"
TOPIC = "pmo.portfolio.events"


class PortfolioEvent(Event):
    service = SERVICE

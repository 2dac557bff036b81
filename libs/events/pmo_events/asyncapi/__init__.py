"""The AsyncAPI document for subscribers, built from the contract registry: `build()`."""

from pmo_events.asyncapi.document import build

__all__ = ["build"]

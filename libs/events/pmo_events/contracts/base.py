"""Base of every published event contract: frozen pydantic models, a type registry and upcasters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, PlainSerializer
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

#: Money travels as a decimal string ("120000.00"), never as a float.
Money = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str)]
IsoDate = date


def as_utc(value: datetime) -> datetime:
    """An instant as timezone-aware UTC. One without a time zone is UTC's wall clock: the services always wrote
    UTC, and a naive value can only be an older or hand-made event's."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _UtcInstant:
    """`UtcInstant`'s validation: an instant at offset 0 is taken as it is (pydantic's own check, no Python call:
    what every service writes); any other (naive, or at another offset) goes through `as_utc`. Its JSON schema and
    its serialization are a plain `datetime`'s, so the published schemas are unchanged."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.union_schema(
            [
                core_schema.datetime_schema(tz_constraint=0),
                core_schema.no_info_after_validator_function(as_utc, core_schema.datetime_schema()),
            ],
            mode="left_to_right",
            serialization=core_schema.simple_ser_schema("datetime"),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(core_schema.datetime_schema())


#: Every instant of an event: timezone-aware UTC once decoded, whatever the stored JSON held (session 14: a naive
#: value, which the contracts took and kept naive, failed every answer that showed it, `AwareDatetime`, and could
#: not be compared with an aware one; a value at another offset sorted as text out of its order in reporting).
UtcInstant = Annotated[datetime, _UtcInstant]


class Event(BaseModel):
    """A fact that happened; subclasses declare `service`, `event_name` and `version`."""

    # Tolerant reader: a newer minor version may add optional fields an older consumer ignores.
    model_config = ConfigDict(frozen=True, extra="ignore")

    service: ClassVar[str]
    event_name: ClassVar[str]
    version: ClassVar[int] = 1
    #: Payload fields that name other entities, so reporting can list an entity's full history.
    related_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def type_name(cls) -> str:
        return f"pmo.{cls.service}.{cls.event_name}.v{cls.version}"

    def related_ids(self) -> list[str]:
        ids: list[str] = []
        for field in self.related_fields:
            value = getattr(self, field, None)
            if isinstance(value, str) and value:
                ids.append(value)
            elif isinstance(value, list | tuple):
                ids.extend(str(v) for v in value if v)
        return ids


class UnknownEventType(LookupError):
    """A type name that no contract in this process knows and no upcaster maps."""


Upcaster = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


class EventRegistry:
    """Maps `pmo.<service>.<Name>.v<N>` to its class; upcasts stored older versions on read."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._upcasters: dict[str, Upcaster] = {}
        #: Older major versions still on the topics (kept forever): documented, decoded as their successor.
        self._superseded: dict[str, type[Event]] = {}
        self._successors: dict[str, str] = {}

    def register(self, cls: type[Event]) -> type[Event]:
        type_name = cls.type_name()
        existing = self._classes.get(type_name)
        if existing is not None and existing is not cls:
            raise ValueError(f"two contracts claim {type_name}")
        self._classes[type_name] = cls
        return cls

    def upcaster(self, old_type: str) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning `old_type` data into (newer type, newer data)."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[old_type] = fn
            return fn

        return decorate

    def supersede(self, old: type[Event], by: type[Event], upcast: Upcaster | None = None) -> None:
        """`old` is the previous major version of `by`: its recorded events are read as `by` (through `upcast`,
        by default the same data, for a successor that only relaxed or added fields)."""
        old_type, new_type = old.type_name(), by.type_name()
        if old_type in self._classes:
            raise ValueError(f"{old_type} is published: it cannot be superseded too")
        self._superseded[old_type] = old
        self._successors[old_type] = new_type
        self._upcasters[old_type] = upcast or (lambda data: (new_type, data))

    def superseded(self) -> dict[str, type[Event]]:
        """The previous major versions: no longer produced, still recorded and still on the topics."""
        return dict(self._superseded)

    def older_types(self, type_name: str) -> tuple[str, ...]:
        """The superseded types that are read as `type_name` (directly or through a chain of successors)."""
        older = [old for old, new in self._successors.items() if new == type_name]
        return tuple(t for old in older for t in (old, *self.older_types(old)))

    def knows(self, type_name: str) -> bool:
        return type_name in self._classes or type_name in self._upcasters

    def belongs_to(self, type_name: str, service: str) -> bool:
        """True when `type_name` is a registered (or upcast) event type that `service` publishes."""
        cls = self._classes.get(type_name) or self._superseded.get(type_name)
        if cls is not None:
            return cls.service == service
        return type_name in self._upcasters and type_name.startswith(f"pmo.{service}.")

    def classes(self) -> dict[str, type[Event]]:
        return dict(self._classes)

    def is_current(self, type_name: str, cls: type[Event]) -> bool:
        """True when `cls` is the published contract of `type_name`: decoding its events gives `cls` itself,
        not a successor it is upcast to."""
        return self._classes.get(type_name) is cls

    def decode_json(self, type_name: str, text: str | bytes) -> Event:
        """`decode` of a payload given as JSON text: a current contract validates straight from the text
        (pydantic's JSON mode, as a producer's JSON was validated when written); an older type is parsed
        and upcast as `decode` does."""
        cls = self._classes.get(type_name)
        if cls is not None:
            # `model_validate_json` without its Python wrapper (the same validator; 0.7 µs of 3.5 per event).
            return cls.__pydantic_validator__.validate_json(text)
        return self.decode(type_name, orjson.loads(text))

    def decode(self, type_name: str, data: dict[str, Any]) -> Event:
        seen = 0
        while type_name not in self._classes:
            upcast = self._upcasters.get(type_name)
            if upcast is None or seen > 16:
                raise UnknownEventType(type_name)
            type_name, data = upcast(data)
            seen += 1
        return self._classes[type_name].model_validate(data)


registry = EventRegistry()


def contract(cls: type[Event]) -> type[Event]:
    """Class decorator: publish `cls` in the global registry."""
    return registry.register(cls)


class ContractModel(BaseModel):
    """Value objects nested inside events: frozen, tolerant of fields added later."""

    model_config = ConfigDict(frozen=True, extra="ignore")

"""Payload schemas as the wire carries them: every decimal (money, FTE, scores) is a decimal string."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from pmo_events.contracts.base import Event

DECIMAL_STRING = "^-?[0-9]+(\\.[0-9]+)?$"


class WireSchema(GenerateJsonSchema):
    """Pydantic's schema, except that a Decimal is a string of digits (the envelope never writes a number)."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": DECIMAL_STRING, "description": "A decimal number as text."}


def wire_schema(cls: type[Event]) -> dict[str, Any]:
    return cls.model_json_schema(ref_template="#/components/schemas/{model}", schema_generator=WireSchema)

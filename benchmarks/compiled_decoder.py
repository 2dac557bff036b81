"""A compiled, validating decoder derived from a contract's own pydantic core schema (session 15's measured lead;
benchmark code, not used by any service): msgspec parses and checks the JSON into structs generated from the
schema, and the contract is then made as pydantic-core makes it (its `__dict__`, fields set, extra and private
slots). `decode_cost.py` times it beside `validate_json` and checks the two agree; `replay.py --floor` reads and
decodes a rebuild's events with it.

One definition: nothing here names a contract or a field. `compile_decoder(cls)` walks the core schema pydantic
built for `cls` and returns a decoder, or None when the schema holds anything it does not translate. What it
translates, and how each node's fast path is kept a subset of pydantic's JSON validation with the same value:

- `str`, `bool`, `int` (with `ge`/`le` only), `literal` of strings, `date`: msgspec's strict JSON decode of the
  same type; any JSON pydantic would coerce (a number for a string, `"1"` for an int, `1.0`, `"true"`, a datetime
  for a date) is refused by msgspec, which sends the event to pydantic.
- `decimal` (no constraints): a JSON string only, made by `Decimal(text)` as pydantic-core does, refused unless
  finite (pydantic's `allow_inf_nan=False`); a JSON number goes to pydantic (which gives `1e5` as `100000` and
  refuses `1e999999`, where msgspec gives `1E+5` and `1E+999999`).
- `datetime` at offset 0 (`UtcInstant`'s first choice): `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)` only, made by
  `datetime.fromisoformat` with pydantic-core's `TzInfo(0)`; any other form (another offset, naive, more than six
  digits of a second, which msgspec rounds and pydantic truncates) goes to pydantic.
- `nullable`, `tuple[X, ...]`, a field's hashable `default` (its absence leaves the field out of the fields set),
  `definitions` without recursion, a left-to-right `union` by its first choice only (the choice pydantic tries
  first: when it matches, that is pydantic's value too), a no-info `function-after` (called on the value, as
  pydantic does), and `model` / `model-fields` with `extra="ignore"` and no alias, init, post-init or extras.

Anything the fast path refuses (msgspec's error, a check above, a validator's error) is decoded by
`validate_json`, so what is accepted and refused, and every value, are pydantic's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel
from pydantic_core import TzInfo

_UNSET = msgspec.UNSET
_UTC0 = TzInfo(0)
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|\+00:00)", re.ASCII)
_MODEL_CONFIG = {"extra_fields_behavior", "title"}
#: What pydantic-core sets on a model it validated, set the same way (the slots' own setters).
_SETTERS = {
    "set_dict": BaseModel.__dict__["__dict__"].__set__,
    "set_given": BaseModel.__dict__["__pydantic_fields_set__"].__set__,
    "set_extra": BaseModel.__dict__["__pydantic_extra__"].__set__,
    "set_private": BaseModel.__dict__["__pydantic_private__"].__set__,
}


class Unsupported(Exception):
    """A schema node this compiler does not translate: the contract keeps pydantic's decode."""


class _Refused(Exception):
    """A value the fast path does not take: the event goes to pydantic."""


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite():
        raise _Refused
    return value


def _instant(text: str) -> datetime:
    if _INSTANT.fullmatch(text) is None:
        raise _Refused
    return datetime.fromisoformat(text).replace(tzinfo=_UTC0)


def _only(node: dict[str, Any], *allowed: str) -> None:
    extra = set(node) - {"type", "metadata", "serialization", "ref", *allowed}
    if extra:
        raise Unsupported(f"{node['type']}: {sorted(extra)}")


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        self.namespace: dict[str, Any] = {"UNSET": _UNSET, "new": object.__new__, **_SETTERS}
        self.lines: list[str] = []
        self.structs = 0
        self.resolving: set[str] = set()
        self.root = root

    def name(self, value: Any, prefix: str) -> str:
        key = f"{prefix}{len(self.namespace)}"
        self.namespace[key] = value
        return key

    def node(self, node: dict[str, Any]) -> tuple[Any, Callable[[str], str] | None]:
        """(the msgspec type of a node, a function of an expression's text to the text of its value in pydantic's
        terms, or None when msgspec's value is pydantic's)."""
        kind = node["type"]
        if kind == "definitions":
            _only(node, "schema", "definitions")
            for definition in node["definitions"]:
                self.definitions[definition["ref"]] = definition
            return self.node(node["schema"])
        if kind == "definition-ref":
            _only(node, "schema_ref")
            ref = node["schema_ref"]
            if ref in self.resolving or ref not in self.definitions:
                raise Unsupported("a recursive or unknown definition")
            self.resolving.add(ref)
            try:
                return self.node(self.definitions[ref])
            finally:
                self.resolving.discard(ref)
        if kind == "str":
            _only(node)
            return str, None
        if kind == "bool":
            _only(node)
            return bool, None
        if kind == "int":
            _only(node, "ge", "le")
            bounds = {k: node[k] for k in ("ge", "le") if k in node}
            return (Annotated[int, msgspec.Meta(**bounds)] if bounds else int), None
        if kind == "date":
            _only(node)
            return date, None
        if kind == "decimal":
            _only(node)
            fn = self.name(_decimal, "decimal")
            return str, lambda e: f"{fn}({e})"
        if kind == "datetime":
            _only(node, "microseconds_precision", "tz_constraint")
            if node.get("tz_constraint") != 0 or node.get("microseconds_precision", "truncate") != "truncate":
                raise Unsupported("a datetime other than at offset 0")
            fn = self.name(_instant, "instant")
            return str, lambda e: f"{fn}({e})"
        if kind == "literal":
            _only(node, "expected")
            expected = node["expected"]
            if not expected or not all(type(v) is str for v in expected):
                raise Unsupported("a literal other than strings")
            return Literal[tuple(expected)], None
        if kind == "nullable":
            _only(node, "schema")
            inner, convert = self.node(node["schema"])
            if convert is None:
                return inner | None, None
            return inner | None, lambda e: f"(None if ({e}) is None else {convert(e)})"
        if kind == "tuple":
            _only(node, "items_schema", "variadic_item_index")
            if len(node["items_schema"]) != 1 or node.get("variadic_item_index") != 0:
                raise Unsupported("a tuple other than tuple[X, ...]")
            inner, convert = self.node(node["items_schema"][0])
            if convert is None:
                return tuple[inner, ...], None
            return tuple[inner, ...], lambda e: f"tuple([{convert('x')} for x in {e}])"
        if kind == "union":
            _only(node, "choices", "mode")
            if node.get("mode") != "left_to_right" or not node["choices"]:
                raise Unsupported("a smart union")
            first = node["choices"][0]
            return self.node(first[0] if isinstance(first, tuple) else first)
        if kind == "function-after":
            _only(node, "function", "schema")
            if node["function"].get("type") != "no-info":
                raise Unsupported("a validator taking info")
            fn = self.name(node["function"]["function"], "after")
            inner, convert = self.node(node["schema"])
            return inner, (lambda e: f"{fn}({convert(e)})") if convert else (lambda e: f"{fn}({e})")
        if kind == "model":
            return self.model(node)
        raise Unsupported(kind)

    def model(self, node: dict[str, Any]) -> tuple[Any, Callable[[str], str]]:
        _only(node, "cls", "schema", "config", "custom_init", "root_model", "post_init")
        cls = node["cls"]
        if node.get("custom_init") or node.get("root_model") or node.get("post_init"):
            raise Unsupported("a model with its own init")
        config = node.get("config", {})
        if set(config) - _MODEL_CONFIG or config.get("extra_fields_behavior") != "ignore":
            raise Unsupported(f"model config {config}")
        if cls.__private_attributes__ or cls.model_post_init is not BaseModel.model_post_init:
            raise Unsupported("a model with private attributes")
        fields = node["schema"]
        if fields["type"] != "model-fields":
            raise Unsupported(fields["type"])
        _only(fields, "fields", "computed_fields", "model_name", "extras_schema", "extras_keys_schema")
        if fields.get("extras_schema") or fields.get("extras_keys_schema"):
            raise Unsupported("extras")
        specs: list[tuple[Any, ...]] = []
        items: list[str] = []
        optional: list[str] = []
        required: list[str] = []
        for field_name, field in fields["fields"].items():
            _only(field, "schema", "frozen", "serialization_alias", "serialization_exclude")
            if not field_name.isidentifier() or field_name.startswith("_"):
                raise Unsupported(f"field name {field_name!r}")
            schema = field["schema"]
            if schema["type"] == "default":
                _only(schema, "schema", "default")
                if "default" not in schema:
                    raise Unsupported("a default factory")
                default = schema["default"]
                try:
                    hash(default)
                except TypeError:
                    raise Unsupported("an unhashable default (pydantic copies it)") from None
                inner, convert = self.node(schema["schema"])
                specs.append((field_name, inner | msgspec.UnsetType, _UNSET))
                const = self.name(default, "default")
                value = f"{const} if (v := s.{field_name}) is UNSET else {convert('v') if convert else 'v'}"
                items.append(f"{field_name!r}: {value}")
                optional.append(field_name)
            else:
                inner, convert = self.node(schema)
                specs.append((field_name, inner))
                required.append(field_name)
                items.append(f"{field_name!r}: {convert('s.' + field_name) if convert else 's.' + field_name}")
        self.structs += 1
        struct = msgspec.defstruct(
            f"{cls.__name__}Struct{self.structs}", specs, kw_only=True, forbid_unknown_fields=False
        )
        cls_name = self.name(cls, "cls")
        build = f"build{self.structs}_{cls.__name__}"
        given = f"    given = {set(required)!r}\n" if required else "    given = set()\n"
        given += "".join(f"    if s.{name} is not UNSET:\n        given.add({name!r})\n" for name in optional)
        self.lines.append(
            f"def {build}(s):\n    d = {{{', '.join(items)}}}\n{given}"
            f"    m = new({cls_name})\n    set_dict(m, d)\n    set_given(m, given)\n"
            f"    set_extra(m, None)\n    set_private(m, None)\n    return m\n"
        )
        return struct, lambda e: f"{build}({e})"


def compile_decoder(cls: type[BaseModel]) -> Callable[[str | bytes], Any] | None:
    """A decoder of `cls`'s JSON giving what `cls.__pydantic_validator__.validate_json` gives (its value, or its
    ValidationError), or None when the contract's schema holds anything the compiler does not translate."""
    compiler = _Compiler(cls.__pydantic_core_schema__)
    try:
        struct, convert = compiler.node(cls.__pydantic_core_schema__)
    except Unsupported:
        return None
    source = "\n".join(compiler.lines) + f"\ndef convert(s):\n    return {convert('s') if convert else 's'}\n"
    namespace = dict(compiler.namespace)
    exec(compile(source, f"<compiled decoder of {cls.__name__}>", "exec"), namespace)
    build = namespace["convert"]
    parse = msgspec.json.Decoder(struct).decode
    validate = cls.__pydantic_validator__.validate_json

    def decode(text: str | bytes) -> Any:
        try:
            return build(parse(text))
        except Exception:  # msgspec's errors, a refused value, an after validator's error: pydantic says
            return validate(text)

    decode.source = source  # type: ignore[attr-defined]
    decode.parse = parse  # type: ignore[attr-defined]  # msgspec's structs alone, no contract made
    return decode

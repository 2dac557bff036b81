"""Breaking changes between two versions of a service's OpenAPI document (the committed one and the code's).

Breaking for a client that was generated from the old document:
- an operation removed, or its operationId changed (generated clients call it by that name);
- a response field removed, no longer always present, or given a type it did not have (a new `null` too);
- an input narrowed: a new required parameter or body field, a type or enum value taken away, a bound
  tightened (`maxLength`, `maximum`, ... ), a pattern changed (except a bounded decimal's that allows
  more digits before or after the point), a field removed from a body that refuses unknown fields;
- a caller refused who was let in: `x-required-roles` without a role it had (or roles where there were
  none: any signed-in caller), or an ownership rule (`x-ownership`) where there was none or another one.
Allowed unless the document's major version rises: nothing else is checked (adding is always fine).
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]
_METHODS = ("get", "put", "post", "patch", "delete")
#: Bounds that, raised (`min*`) or lowered (`max*`), refuse input that was valid before.
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")


#: The pattern of a bounded decimal string (`DecimalText`, `Amount`): digits before and after the point.
_DECIMAL_PATTERN = re.compile(r"\^-\?\[0-9\]\{1,(\d+)\}(?:\(\\\.\[0-9\]\{1,(\d+)\}\)\?)?\$")


def _decimal_bounds(pattern: object) -> tuple[int, int] | None:
    match = _DECIMAL_PATTERN.fullmatch(pattern) if isinstance(pattern, str) else None
    return (int(match[1]), int(match[2] or 0)) if match else None


def _widened(old: Schema, new: Schema) -> bool:
    """True when both patterns are bounded decimals and the new one allows at least as many digits on each side."""
    before, after = _decimal_bounds(old.get("pattern")), _decimal_bounds(new.get("pattern"))
    return before is not None and after is not None and after[0] >= before[0] and after[1] >= before[1]


def major(document: dict[str, Any]) -> int:
    return int(str(document.get("info", {}).get("version", "0")).split(".")[0])


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change of `new` that would break a client of `old`, one line each."""
    problems: list[str] = []
    for path, item in old.get("paths", {}).items():
        for method in _METHODS:
            if method not in item:
                continue
            where = f"{method.upper()} {path}"
            after = new.get("paths", {}).get(path, {}).get(method)
            if after is None:
                problems.append(f"{where}: removed")
                continue
            if item[method].get("operationId") != after.get("operationId"):
                problems.append(f"{where}: operationId {item[method].get('operationId')} renamed")
            _access(item[method], after, where, problems)
            check = _Check(old, new, where, problems)
            check.parameters(item[method].get("parameters", []), after.get("parameters", []))
            check.request_body(item[method].get("requestBody"), after.get("requestBody"))
            check.responses(item[method].get("responses", {}), after.get("responses", {}))
    return problems


def _access(old: Schema, new: Schema, where: str, problems: list[str]) -> None:
    """Who may call it: fewer roles, or a new ownership rule, refuses callers the old document let in."""
    before, after = old.get("x-required-roles"), new.get("x-required-roles")
    lost = set(before or ()) - set(after or ()) if "viewer" not in (after or ()) else set()
    if after and (not before or lost):
        problems.append(f"{where}: roles narrowed from {before or 'any signed-in caller'} to {after}")
    rule_before, rule_after = (old.get("x-ownership") or {}).get("rule"), (new.get("x-ownership") or {}).get("rule")
    if rule_after and rule_after != rule_before:
        problems.append(f"{where}: ownership rule {rule_after} where there was {rule_before or 'none'}")


class _Check:
    def __init__(self, old: dict[str, Any], new: dict[str, Any], where: str, problems: list[str]) -> None:
        self.old_doc, self.new_doc, self.where, self.problems = old, new, where, problems

    def say(self, at: str, what: str) -> None:
        self.problems.append(f"{self.where} {at}: {what}")

    def parameters(self, old: list[Schema], new: list[Schema]) -> None:
        before = {(p["in"], p["name"]): p for p in old}
        for parameter in new:
            key = (parameter["in"], parameter["name"])
            if key not in before and parameter.get("required"):
                self.say(f"{parameter['in']} {parameter['name']}", "new required parameter")
            elif key in before:
                if parameter.get("required") and not before[key].get("required"):
                    self.say(f"{parameter['in']} {parameter['name']}", "became required")
                where = f"{parameter['in']} {parameter['name']}"
                self.input(where, before[key].get("schema", {}), parameter.get("schema", {}))

    def request_body(self, old: Schema | None, new: Schema | None) -> None:
        if new is None:
            return
        if old is None:
            if new.get("required"):
                self.say("body", "a required body where there was none")
            return
        for media, content in new.get("content", {}).items():
            if media in old.get("content", {}):
                self.input("body", old["content"][media].get("schema", {}), content.get("schema", {}))

    def responses(self, old: dict[str, Schema], new: dict[str, Schema]) -> None:
        for status, response in old.items():
            if not status.startswith("2"):
                continue
            after = new.get(status)
            if after is None:
                self.say(status, "success status removed")
                continue
            for media, content in response.get("content", {}).items():
                if media not in after.get("content", {}):
                    self.say(f"{status} {media}", "media type removed")
                    continue
                self.output(f"{status}", content.get("schema", {}), after["content"][media].get("schema", {}))

    # -- schemas ------------------------------------------------------------------------------------

    def input(self, at: str, old: Schema, new: Schema, seen: frozenset[str] = frozenset()) -> None:
        old, new, seen = self._resolve(old, new, seen)
        if old is None or new is None:
            return
        old_types, new_types = _types(old), _types(new)
        if old_types and new_types and not old_types <= new_types:
            self.say(at, f"accepts {sorted(new_types)} where it accepted {sorted(old_types)}")
        if "enum" in old and "enum" in new and set(old["enum"]) - set(new["enum"]):
            self.say(at, f"no longer accepts {sorted(set(old['enum']) - set(new['enum']))}")
        for bound in _LOWER_BOUNDS:
            if bound in new and new[bound] > old.get(bound, float("-inf")):
                self.say(at, f"{bound} raised to {new[bound]}")
        for bound in _UPPER_BOUNDS:
            if bound in new and new[bound] < old.get(bound, float("inf")):
                self.say(at, f"{bound} lowered to {new[bound]}")
        if new.get("pattern") and new.get("pattern") != old.get("pattern") and not _widened(old, new):
            self.say(at, "pattern changed")
        old_props, new_props = _properties(old), _properties(new)
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            self.say(f"{at}.{name}", "new required field")
        if new.get("additionalProperties") is False:
            for name in sorted(set(old_props) - set(new_props)):
                self.say(f"{at}.{name}", "field removed from a body that refuses unknown fields")
        for name in sorted(set(old_props) & set(new_props)):
            self.input(f"{at}.{name}", old_props[name], new_props[name], seen)
        for old_branch, new_branch in _items_and_branches(old, new):
            self.input(f"{at}[]", old_branch, new_branch, seen)

    def output(self, at: str, old: Schema, new: Schema, seen: frozenset[str] = frozenset()) -> None:
        old, new, seen = self._resolve(old, new, seen)
        if old is None or new is None:
            return
        old_types, new_types = _types(old), _types(new)
        if old_types and new_types and not new_types <= old_types:
            self.say(at, f"may now be {sorted(new_types - old_types)}")
        old_props, new_props = _properties(old), _properties(new)
        for name in sorted(set(old_props) - set(new_props)):
            self.say(f"{at}.{name}", "response field removed")
        for name in sorted(set(old.get("required", [])) - set(new.get("required", []))):
            if name in new_props:
                self.say(f"{at}.{name}", "no longer always present")
        for name in sorted(set(old_props) & set(new_props)):
            self.output(f"{at}.{name}", old_props[name], new_props[name], seen)
        for old_branch, new_branch in _items_and_branches(old, new):
            self.output(f"{at}[]", old_branch, new_branch, seen)

    def _resolve(self, old: Schema, new: Schema, seen: frozenset[str]) -> tuple[Any, Any, frozenset[str]]:
        """Follow `$ref`s in both documents; a pair of refs already walked is not walked again."""
        pair = f"{old.get('$ref')}|{new.get('$ref')}"
        if pair in seen and "$ref" in old:
            return None, None, seen
        return _deref(self.old_doc, old), _deref(self.new_doc, new), seen | {pair}


def _deref(document: dict[str, Any], schema: Schema) -> Schema:
    for _ in range(20):
        ref = schema.get("$ref")
        if not ref:
            return schema
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _types(schema: Schema) -> set[str]:
    """The JSON types a schema allows (through `anyOf`/`oneOf` of plain types); empty when not plain."""
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds) if isinstance(kinds, list) else {kinds}
    branches = schema.get("anyOf") or schema.get("oneOf") or []
    found: set[str] = set()
    for branch in branches:
        if "$ref" in branch:
            found.add("object")
        else:
            found |= _types(branch)
    return found


def _properties(schema: Schema) -> dict[str, Schema]:
    return dict(schema.get("properties", {}))


def _items_and_branches(old: Schema, new: Schema) -> list[tuple[Schema, Schema]]:
    """Array items, and the non-null branch of `X | None`, compared pairwise."""
    pairs = []
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        pairs.append((old["items"], new["items"]))
    old_main, new_main = _non_null(old), _non_null(new)
    if old_main is not None and new_main is not None:
        pairs.append((old_main, new_main))
    return pairs


def _non_null(schema: Schema) -> Schema | None:
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 else None

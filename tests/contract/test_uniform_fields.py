"""One field, one form: a property name means the same wire type in every service, and ratios are fixed-scale.

Walks the four committed OpenAPI documents (`docs/openapi/*.json`, which `test_openapi_documents` holds
equal to the code's), over every schema an operation answers (requests have their own bounds, see
`test_bounded_inputs`). Two rules of `docs/api.md`:

- the same property name has the same type, format and pattern in every service that answers it (a
  nullable field counts as its non-null form), unless `DIFFERENT_MEANINGS` says why the name means two
  things;
- money (`MONEY_FIELDS`) is a decimal string at the currency's scale: typed `Money`, its examples (in EUR) at
  two places, never the untyped `DecimalString` (which once let `"50"` through where `"50.00"` was meant);
- a ratio, score or share (`RATIO_FIELDS`, the list in docs/api.md "Values on the wire") is a decimal
  string at a fixed scale of four places; `OTHER_SCALES` lists the one that is not, with the reason.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

from .openapi_documents import SERVICES, committed

#: Ratios, scores and shares, by property name or `Schema.property` where the name also means something else.
RATIO_FIELDS = (
    "spi", "cpi", "utilisation", "strategic_alignment", "weighted_score", "criterion_scores", "green_at", "amber_at",
    "optimality_gap", "qualified_share", "consistency_ratio", "submitted_of_drafted", "decided_of_submitted",
    "approved_of_decided", "approved_of_submitted", "CriterionOut.weight", "RankedCandidate.value", "share",
)  # fmt: skip
#: The pattern of a decimal string written at exactly four places (`pmo_servicekit.contract.wire.Ratio`).
FOUR_PLACES = r"^-?[0-9]+\.[0-9]{4}$"
#: Ratio-like fields at another fixed scale, and why.
OTHER_SCALES = {
    "value_per_cost": (
        r"^-?[0-9]+\.[0-9]{10}$",
        "a weighted score per unit of currency (3.85 for EUR 150,000.00 is 0.0000256667): at four places every "
        "candidate would read 0.0000, so it is fixed at ten",
    ),
}
#: Names that mean two different things, and why they keep their name.
DIFFERENT_MEANINGS = {
    "as_of": "reporting: the instant a report was asked as of (null: now); portfolio's programme benefits map: the "
    "day its roll-up is for (a date; renaming it is a major version of portfolio, left to the benefits map's owner)",
    "cost": "a RAG dimension (green/amber/red) in both services; portfolio also answers money named cost "
    "(a scenario's budget use, a RAID tolerance), the word its users use for each",
    "level": "a RAID item's level (project, programme, portfolio) in portfolio and reporting; a skill's level "
    "(1 to 5) in resourcing",
    "planned_value": "a status report's PV (money) in portfolio; a benefit's planned value in reporting's "
    "benefits register, which is text for a non-financial benefit",
    "weight": "a scoring criterion's share of the weighted score (a ratio, CriterionOut.weight); an objective's "
    "relative weight as the strategy sets it (any positive decimal, shown as given) in portfolio and reporting",
}
#: Words that make a property look like a ratio: each such property must be in RATIO_FIELDS, OTHER_SCALES
#: or NOT_RATIOS, so a new one is classified when it is added.
RATIO_WORDS = re.compile(
    r"(^|_)(ratio|share|scores?|rate|pct|percent|utilisation|alignment|index|gap|weight)(_|$)|_of_(?!version)|^[sc]pi$"
)
NOT_RATIOS = {
    "scores": "an assessor's score per criterion: whole numbers 1 to 5",
    "score": "a RAID item's probability x impact: a whole number 1 to 25",
    "gap": "capacity minus demand: FTE (four places), not a ratio",
    "cost_rate": "money per day of a resource",
    "percent_complete": "the percent complete the project manager reports (0 to 100), shown as given",
    "weight": "see DIFFERENT_MEANINGS: an objective's weight is not a ratio",
}

#: Money in answers, by property name: each is a decimal string at its currency's scale.
MONEY_FIELDS = (
    "ac", "actual", "actual_cost", "amount", "bac", "budget", "committed", "committed_budget", "cost", "cost_impact",
    "cost_variance", "current_budget", "cv", "drawn", "eac", "earned_value", "envelope", "ev", "final_cost",
    "financial_benefits", "financial_total", "planned", "planned_amount", "planned_value", "pv", "realised",
    "remaining", "ring_fence", "schedule_variance", "sv", "total_cost", "up_to", "vac", "value_amount",
)  # fmt: skip
#: Decimal fields named like money that are not money, and why.
NOT_MONEY = {
    "ProfilePoint.planned_value": "a programme benefit's planned value in the benefit's own unit (money only for a "
    "benefit counted in the portfolio's currency, where the view writes it at the currency's scale)",
}
#: What `DecimalString` (a decimal as given, any scale) says of itself.
PLAIN_DECIMAL = "a decimal string"
#: Money examples are in EUR.
TWO_PLACES = re.compile(r"^-?[0-9]+\.[0-9]{2}$")

Shape = tuple[Any, ...]


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"].rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def answered_schemas(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every component schema a response of the document reaches, by name."""
    schemas = document["components"]["schemas"]
    todo: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                for response in operation.get("responses", {}).values():
                    _refs(response.get("content", {}), todo)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        reached: set[str] = set()
        _refs(schemas[name], reached)
        todo |= reached - seen
    return {name: schemas[name] for name in seen}


def _non_null(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The schema without its `null` branch; None for a union of several non-null forms."""
    if "anyOf" not in schema:
        return schema
    branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 else None


def scalar_shape(schema: dict[str, Any]) -> Shape | None:
    """(type, format, pattern) of a scalar property; None for objects, arrays, references and unions."""
    plain = _non_null(schema)
    if plain is None or "$ref" in plain or plain.get("type") in (None, "array", "object"):
        return None
    return (plain.get("type"), plain.get("format"), plain.get("pattern"))


def value_shape(schema: dict[str, Any]) -> Shape | None:
    """The shape of a ratio field's values: the field itself, or the values of a `{key: ratio}` map."""
    plain = _non_null(schema)
    if plain is not None and plain.get("type") == "object" and isinstance(plain.get("additionalProperties"), dict):
        return scalar_shape(plain["additionalProperties"])
    return scalar_shape(schema)


def answered_properties() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(service, schema, property, property schema) over every answered schema of the four documents."""
    found = []
    for service in SERVICES:
        document = committed(service)
        assert document is not None, f"docs/openapi/{service}.json is missing: run `make contracts`"
        for name, schema in sorted(answered_schemas(document).items()):
            for prop, prop_schema in schema.get("properties", {}).items():
                found.append((service, name, prop, prop_schema))
    return found


PROPERTIES = answered_properties()


def _is_ratio(schema_name: str, prop: str) -> bool:
    return prop in RATIO_FIELDS or f"{schema_name}.{prop}" in RATIO_FIELDS


def test_a_property_name_has_one_form_across_the_services() -> None:
    forms: dict[str, dict[str, set[Shape]]] = defaultdict(lambda: defaultdict(set))
    where: dict[tuple[str, Shape], set[str]] = defaultdict(set)
    for service, schema_name, prop, prop_schema in PROPERTIES:
        shape = scalar_shape(prop_schema)
        if shape is not None:
            forms[prop][service].add(shape)
            where[(prop, shape)].add(f"{service}:{schema_name}")
    differing = {
        prop: {service: sorted(map(str, shapes)) for service, shapes in by_service.items()}
        for prop, by_service in forms.items()
        if len({frozenset(shapes) for shapes in by_service.values()}) > 1 and prop not in DIFFERENT_MEANINGS
    }
    assert not differing, f"the same field has different forms in different services: {differing}"


def test_every_ratio_is_a_decimal_string_at_a_fixed_scale() -> None:
    found: set[str] = set()
    wrong = []
    for service, schema_name, prop, prop_schema in PROPERTIES:
        if _is_ratio(schema_name, prop):
            expected = FOUR_PLACES
        elif prop in OTHER_SCALES:
            expected = OTHER_SCALES[prop][0]
        else:
            continue
        found.add(prop if prop in RATIO_FIELDS or prop in OTHER_SCALES else f"{schema_name}.{prop}")
        if value_shape(prop_schema) != ("string", "decimal", expected):
            wrong.append(f"{service}:{schema_name}.{prop} is {value_shape(prop_schema)}")
    assert not wrong, f"ratios that are not fixed-scale decimal strings: {wrong}"
    assert found == set(RATIO_FIELDS) | set(OTHER_SCALES), "a listed ratio no service answers: drop it from the list"


def test_money_is_typed_as_money_with_examples_at_the_currency_scale() -> None:
    found: set[str] = set()
    wrong = []
    for service, schema_name, prop, prop_schema in PROPERTIES:
        plain = _non_null(prop_schema)
        if prop not in MONEY_FIELDS or f"{schema_name}.{prop}" in NOT_MONEY or plain is None:
            continue
        if plain.get("format") != "decimal":
            continue  # a RAG dimension named cost, a list of amounts per period: their items are checked by name
        found.add(prop)
        examples = [*plain.get("examples", []), *prop_schema.get("examples", [])]
        if plain.get("description") == PLAIN_DECIMAL or not all(TWO_PLACES.match(str(e)) for e in examples):
            wrong.append(f"{service}:{schema_name}.{prop} ({plain.get('description')!r}, examples {examples})")
    assert not wrong, f"money not typed as Money (pmo_servicekit.contract.wire.Money, money_text): {wrong}"
    assert found == set(MONEY_FIELDS), f"listed as money but answered by no service: {set(MONEY_FIELDS) - found}"


def test_every_ratio_looking_field_is_classified() -> None:
    unclassified = sorted(
        f"{service}:{schema_name}.{prop}"
        for service, schema_name, prop, _ in PROPERTIES
        if RATIO_WORDS.search(prop)
        and not _is_ratio(schema_name, prop)
        and prop not in OTHER_SCALES
        and prop not in NOT_RATIOS
    )
    assert not unclassified, f"name each in RATIO_FIELDS (and docs/api.md), OTHER_SCALES or NOT_RATIOS: {unclassified}"


@pytest.mark.parametrize(
    ("schema", "shape"),
    [
        ({"type": "string", "format": "decimal", "pattern": FOUR_PLACES}, ("string", "decimal", FOUR_PLACES)),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, ("integer", None, None)),
        ({"type": "array", "items": {"type": "string"}}, None),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, None),
    ],
)
def test_the_shape_of_a_field_is_its_non_null_scalar_form(schema: dict[str, Any], shape: Shape | None) -> None:
    assert scalar_shape(schema) == shape


def test_the_walk_reaches_nested_answers_and_not_request_bodies() -> None:
    document = committed("portfolio")
    assert document is not None
    answered = answered_schemas(document)
    assert {"RankedCandidate", "StatusReportView", "RagView"} <= set(answered)  # inside pages and views
    assert "StatusReportBody" not in answered and "PortfolioCreate" not in answered  # requests only

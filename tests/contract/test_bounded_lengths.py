"""Every string a client sends fits every bounded column it can end in (session 10: lengths at the edge).

PostgreSQL's `VARCHAR(n)` columns are not where a length is enforced: a value longer than its column would be a
5xx on a command (or, through an explicit `$n::VARCHAR(n)` cast, be cut without a word), and an event carrying it
would be dead-lettered by every consumer whose read model has the column. So the edge bounds every string:

- every string in a request body, query or path of the four documents has a `maxLength` (or an `enum`, a
  `format` or a `pattern` that bounds it);
- a bounded column named as a request field, in any service (a value travels: intake's role estimate becomes
  resourcing's demand), is at least as long as that field's bound wherever the field is taken;
- a column fed by the token's subject alone (an idempotency key's principal, ...) is at least
  `SUBJECT_MAX_LENGTH` long, the longest subject a token may carry (a longer one is a 401);
- a column fed by a subject an EVENT recorded (an event's `actor`, a proposal's `requester`, a decision's
  `decided_by`, ...) is unbounded: before c4a70a4 a subject of any length was taken, those events are never
  rewritten, and a consumer (or a rebuild) must take them whole (review 1 of session 11, F2);
- a column a consumer fills from another service's events is at least as long as the widest value any released
  version of that producer admitted (`CONSUMED`, from each bound's history): older events are never re-validated.

Fields and columns are derived (the served documents, the tables' metadata), never listed by hand; only the
columns fed under another name than the field's are named here.
"""

from __future__ import annotations

import re._parser as sre_parse
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Enum, String, Table

from pmo_servicekit.auth import SUBJECT_MAX_LENGTH

from .openapi_documents import generated

DOCUMENTS = generated()

#: Columns fed by the token's subject (who did it) and never by an event, by table.
SUBJECT_COLUMNS = {
    "pmo_idempotency_keys": ("principal",),
    "pmo_parked_streams": ("released_by",),
}
#: Columns fed by a subject an event recorded (its envelope's actor, or a field of its data), read back by a
#: consumer or a rebuild: unbounded, since events from before c4a70a4 hold subjects of any length.
RECORDED_SUBJECT_COLUMNS = {
    ("pmo_events", "actor"): "every event's actor; a consumer's command records the consumed event's (runtime_0004)",
    ("reporting_event_log", "actor"): "every consumed event's actor (reporting_0005)",
    ("intake_proposals", "requester"): "ProposalDrafted.requester (intake_0006)",
    ("portfolio_assessments", "assessor"): "CandidateScored.assessor (portfolio_0011)",
    ("portfolio_decisions", "decided_by"): "InvestmentDecided.decided_by (portfolio_0011)",
    ("portfolio_scenarios", "saved_by"): "ScenarioSaved's saver (portfolio_0011)",
}
#: Bounded columns a consumer fills from another service's events: (producer, field) → the widest value any
#: released version of the producer admitted, and where that bound is (`git log -p` of it). A stream id is
#: bounded by the subscription (ATTRIBUTE_BOUNDS); an id a consumer writes only once it found what it names is
#: held to the length it is minted at.
CONSUMED: dict[tuple[str, str], tuple[str, int, str]] = {
    ("portfolio_candidates", "title"): ("intake", 200, "ProposalSubmitted.title: TITLE_MAX 200 since de7e49c"),
    ("portfolio_candidates", "portfolio_id"): (
        "intake",
        36,
        "ProposalSubmitted.portfolio_id (intake takes 64): registered only for a portfolio found "
        "here, minted as a UUID; any other is dead-lettered by design (an unknown portfolio)",
    ),
    ("resourcing_demands", "role"): ("intake", 200, "RoleEstimate.role: NAME_MAX 200 until c4a70a4 (resourcing_0005)"),
    ("resourcing_project_states", "title"): ("portfolio", 200, "ProjectInitiated.title: the candidate's, 200"),
    ("resourcing_project_states", "project_manager"): (
        "portfolio",
        200,
        "ProjectManagerAssigned.project_manager: 200 since 41ce1a0 (approval) and 918c9e5",
    ),
    ("resourcing_project_states", "portfolio_id"): ("portfolio", 36, "a portfolio's id, minted as a UUID"),
    ("intake_known_portfolios", "name"): ("portfolio", 200, "PortfolioCreated.name: 200 since 225a423"),
    ("intake_known_portfolios", "currency"): ("portfolio", 3, "PortfolioCreated.currency: ^[A-Z]{3}$"),
    ("intake_known_programmes", "name"): ("portfolio", 200, "ProgrammeCreated.name: 200 since 225a423"),
    ("intake_known_programmes", "portfolio_id"): ("portfolio", 36, "a portfolio's id, minted as a UUID"),
    ("reporting_event_log", "correlation_id"): (
        "every",
        64,
        "ce_correlationid: metadata_for cut a longer X-Correlation-Id to 64, a 422 since 26c67c4",
    ),
    ("reporting_event_log", "causation_id"): ("every", 36, "ce_causationid: an event's id (a UUID)"),
    ("pmo_events", "correlation_id"): ("every", 64, "the consumed event's ce_correlationid, as above"),
    ("pmo_events", "causation_id"): ("every", 36, "the consumed event's id"),
    ("pmo_events", "traceparent"): ("every", 55, "a W3C traceparent (version 00: 55 characters)"),
    ("reporting_event_entities", "entity_id"): (
        "every",
        64,
        "related ids: stream ids and ids a producer wrote only once found (<= 64 at every producer)",
    ),
    ("reporting_documents", "scope"): (
        "resourcing",
        200,
        "a demand's role (intake's role estimate took 200 until c4a70a4), else an id",
    ),
}
#: Columns named as a request field but fed by something else, with the reason.
NOT_FROM_THE_FIELD = {
    ("reporting_documents", "key"): "built by reporting's read models (an id, a period), never a request's `key`",
    ("pmo_outbox", "key"): "the outbox's record key is the stream id",
    ("pmo_parked_streams", "key"): "the record key of a parked stream is its stream id",
    ("pmo_idempotency_keys", "key"): "the Idempotency-Key header, bounded by the idempotency layer",
    ("reporting_event_log", "subject"): "an event's subject (its stream's id), not a board member's `subject`",
    ("reporting_projections", "name"): "a read model's name, not a request's `name`",
}


def _width(schema: dict[str, Any]) -> int | None:
    """The longest string `schema` takes, None when nothing bounds it."""
    if "enum" in schema:
        return max(len(str(v)) for v in schema["enum"])
    if "const" in schema:
        return len(str(schema["const"]))
    bounds = [schema["maxLength"]] if "maxLength" in schema else []
    if "pattern" in schema:
        most = sre_parse.parse(schema["pattern"]).getwidth()[1]
        if most < sre_parse.MAXREPEAT:
            bounds.append(most)
    if schema.get("format") in {"uuid", "date", "date-time", "email"}:
        bounds.append({"uuid": 36, "date": 10, "date-time": 40, "email": 254}[schema["format"]])
    return min(bounds) if bounds else None


def _strings(
    document: dict[str, Any], schema: dict[str, Any], where: str, name: str, seen: frozenset[str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, field name, schema) of every string `schema` takes, through references, unions and lists."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if ref not in seen:
            yield from _strings(document, document["components"]["schemas"][ref], where, name, seen | {ref})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _strings(document, option, where, name, seen)
    if schema.get("type") == "string":
        yield where, name, schema
    for prop, sub in schema.get("properties", {}).items():
        yield from _strings(document, sub, f"{where}.{prop}", prop, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _strings(document, schema["additionalProperties"], f"{where}.*", name, seen)
    if "items" in schema:
        yield from _strings(document, schema["items"], f"{where}[]", name, seen)


def request_strings() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """Every string input of the four documents: (service, operation and field, field name, schema)."""
    for service, document in DOCUMENTS.items():
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                at = f"{service} {method.upper()} {path}"
                for parameter in operation.get("parameters", []):
                    yield from (
                        (service, *found)
                        for found in _strings(
                            document, parameter["schema"], f"{at} {parameter['in']} {parameter['name']}",
                            parameter["name"], frozenset(),
                        )
                    )  # fmt: skip
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    yield from (
                        (service, *found)
                        for found in _strings(document, content["schema"], f"{at} body", "", frozenset())
                    )


def bounded_columns() -> dict[tuple[str, str], int]:
    """(table, column) → length of every `VARCHAR(n)` column of the four services' tables (and the libraries')."""
    from pmo_intake.bootstrap import INTAKE
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_reporting.bootstrap import REPORTING
    from pmo_resourcing.bootstrap import RESOURCING

    tables: list[Table] = []
    for definition in (INTAKE, PORTFOLIO, RESOURCING, REPORTING):
        tables += definition.metadata.tables.values()
        tables += definition.view_tables
    found: dict[tuple[str, str], int] = {}
    for table in tables:
        for column in table.columns:
            kind = column.type
            if isinstance(kind, String) and not isinstance(kind, Enum) and kind.length is not None:
                found[(table.name, column.name)] = kind.length
    return found


def _lands(service: str, where: str, table: str, name: str) -> bool:
    """Whether an input can be written into `table.name`.

    A query parameter only filters (a longer value matches nothing); a path parameter names something that is
    there, or the answer is a 404. An id (`*_id`) is written by its own service, or by another only once the
    thing it names was found there (a candidate's `portfolio_id` is a portfolio's, minted at 36 characters), so
    ids are held to their own service's columns; any other value travels with the events (intake's role
    estimate becomes resourcing's demand), so it is held to every service's column of its name."""
    if " query " in where or " path " in where:
        return False
    return not name.endswith("_id") or table.startswith((f"{service}_", "pmo_"))


COLUMNS = bounded_columns()
INPUTS = list(request_strings())


def test_every_string_a_client_sends_is_bounded() -> None:
    unbounded = sorted(where for _, where, name, schema in INPUTS if _width(schema) is None)
    assert not unbounded, "strings without maxLength (or enum, format, bounded pattern):\n" + "\n".join(unbounded)


def every_column() -> dict[tuple[str, str], Any]:
    """(table, column) → type of every column of the four services' tables (and the libraries')."""
    from pmo_intake.bootstrap import INTAKE
    from pmo_portfolio.bootstrap import PORTFOLIO
    from pmo_reporting.bootstrap import REPORTING
    from pmo_resourcing.bootstrap import RESOURCING

    found: dict[tuple[str, str], Any] = {}
    for definition in (INTAKE, PORTFOLIO, RESOURCING, REPORTING):
        for table in [*definition.metadata.tables.values(), *definition.view_tables]:
            found.update({(table.name, column.name): column.type for column in table.columns})
    return found


def test_a_column_holding_a_subject_an_event_recorded_is_unbounded() -> None:
    """Review 1 of session 11 (F2): reporting dead-lettered an authentic older event whose actor was 254
    characters (`reporting_event_log.actor` VARCHAR(200)) and its stream stopped for good; portfolio's
    registration of an older proposal failed the same way on `pmo_events.actor`."""
    columns = every_column()
    for key, why in RECORDED_SUBJECT_COLUMNS.items():
        assert key in columns, f"{key} is no longer a column: update RECORDED_SUBJECT_COLUMNS"
        assert key not in COLUMNS, f"{key[0]}.{key[1]} is VARCHAR({COLUMNS[key]}) but holds {why}"
    named = sorted(f"{t}.{c}" for t, c in COLUMNS if c in {"actor", "requester", "decided_by", "assessor", "saved_by"})
    assert not named, f"bounded columns named as a recorded subject: {named}"


@pytest.mark.parametrize("column", sorted(CONSUMED), ids="{0[0]}.{0[1]}".format)
def test_a_column_a_consumer_fills_takes_the_widest_value_its_producer_ever_admitted(
    column: tuple[str, str],
) -> None:
    producer, widest, where = CONSUMED[column]
    assert column in every_column(), f"{column} is no longer a column: update CONSUMED"
    length = COLUMNS.get(column)
    assert length is None or length >= widest, f"{column[0]}.{column[1]} is VARCHAR({length}); {producer}: {where}"


def test_the_derivation_finds_the_columns_and_fields() -> None:
    assert ("intake_proposals", "title") in COLUMNS and ("pmo_events", "correlation_id") in COLUMNS
    assert any(name == "title" for _, _, name, _ in INPUTS)
    for table, names in SUBJECT_COLUMNS.items():
        for name in names:
            assert (table, name) in COLUMNS, f"{table}.{name} is no longer a bounded column: update SUBJECT_COLUMNS"
    for key in NOT_FROM_THE_FIELD:
        assert key in COLUMNS, f"{key} is no longer a bounded column: update NOT_FROM_THE_FIELD"


@pytest.mark.parametrize("column", sorted(COLUMNS), ids="{0[0]}.{0[1]}".format)
def test_a_bounded_column_takes_the_longest_value_of_its_field(column: tuple[str, str]) -> None:
    table, name = column
    length = COLUMNS[column]
    if name in SUBJECT_COLUMNS.get(table, ()):
        assert length >= SUBJECT_MAX_LENGTH, f"{table}.{name} is fed by the token's subject (<= {SUBJECT_MAX_LENGTH})"
        return
    if column in NOT_FROM_THE_FIELD:
        return
    longer = sorted(
        f"{where}: {width}"
        for service, where, field, schema in INPUTS
        if field == name and _lands(service, where, table, name)
        and (width := _width(schema)) is not None and width > length
    )  # fmt: skip
    assert not longer, f"{table}.{name} is VARCHAR({length}); these inputs take longer values:\n" + "\n".join(longer)

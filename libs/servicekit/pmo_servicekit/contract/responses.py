"""What an operation declares it can answer: the one `Problem` schema, its 4xx, its response headers.

`answers(404, 409, status=201, etag=True, location=True)` goes into a route's `responses=`: the
problem statuses the operation itself can give (a rule's 409, an unknown id's 404, a stale `If-Match`
412), and the headers of its success. The statuses every operation of a kind can give (401 with a
token, 403 with roles, 422 with input, 400 and 413 with a body, 400 with `If-Match`, 503 with a
database) are added to the document by `pmo_servicekit.contract.document`, so no router carries a
blanket list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"

#: What each problem status means in this API (an operation may say it more precisely).
MEANINGS: dict[int, str] = {
    400: "the request cannot be read (a body nested deeper than the parser reads, an `If-Match` that is not an ETag)",
    401: "no bearer token, or one that is not valid",
    403: "the caller's roles or relation to the record do not allow this",
    404: "no such record",
    409: "a rule forbids this in the record's current state (`type` names the rule)",
    412: "the record changed since it was read (stale `If-Match`); the `ETag` header has the current version",
    413: "the request body is too large",
    422: "the input is not valid; `errors` names every field at fault",
    428: "`If-Match` is required: send the ETag you read",
    503: "the database is unavailable; retry after `Retry-After` seconds",
}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "the record's version: send it back as `If-Match` to change the record",
        "schema": {"type": "string", "examples": ['"3"']},
    },
    "Location": {"description": "where the created record is read", "schema": {"type": "string"}},
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}},
    "WWW-Authenticate": {"description": 'the scheme to use: `Bearer realm="pmo"`', "schema": {"type": "string"}},
}


class FieldError(BaseModel):
    """One field at fault: where it is (`location`), its dotted path (`field`), why (`message`, `code`).

    `location` is `record` when the field is one of the stored record's (a proposal incomplete at submission).
    """

    field: str = Field(examples=["business_case.costs.0.amount"])
    location: Literal["body", "query", "path", "header", "cookie", "record"] | None = None
    message: str
    code: str = Field(examples=["decimal_parsing"])


class Problem(BaseModel):
    """An RFC 9457 problem document: a stable `type`, a human `detail`, and per-field `errors` on 422.

    Some problems carry more members (an exceeded envelope names `fiscal_period`, `remaining`, `asked`).
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:pmo:problem:validation-error",
                    "title": "Validation error",
                    "status": 422,
                    "detail": "the request is not valid: title",
                    "instance": "/proposals",
                    "errors": [{"field": "title", "location": "body", "message": "Field required", "code": "missing"}],
                }
            ]
        },
    )

    type: str = Field(description="a stable URN naming the kind of problem", examples=["urn:pmo:problem:not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, for people")
    instance: str | None = Field(default=None, description="the request path")
    errors: list[FieldError] | None = Field(default=None, description="every field at fault (422)")


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    response: dict[str, Any] = {
        "description": description or MEANINGS.get(status, "a problem"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 412:
        response["headers"] = {"ETag": HEADERS["ETag"]}
    elif status == 503:
        response["headers"] = {"Retry-After": HEADERS["Retry-After"]}
    elif status == 401:
        response["headers"] = {"WWW-Authenticate": HEADERS["WWW-Authenticate"]}
    return response


def answers(
    *problem_statuses: int,
    status: int = 200,
    etag: bool = False,
    location: bool = False,
    notes: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problems it can answer, and the headers of its success `status`."""
    notes = notes or {}
    declared: dict[int | str, dict[str, Any]] = {s: problem_response(s, notes.get(s)) for s in problem_statuses}
    headers = {name: HEADERS[name] for name, wanted in (("ETag", etag), ("Location", location)) if wanted}
    if headers or status in notes:
        declared[status] = {"headers": headers} | ({"description": notes[status]} if status in notes else {})
    return declared


def example(*bodies: dict[str, Any]) -> ConfigDict:
    """`model_config = example({...})` on a request or response model: the examples its schema shows."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


async def typed(model: type[BaseModel], outcome: Awaitable[tuple[Any, int]]) -> tuple[dict[str, Any], int]:
    """A command's (body, version), its body checked against the operation's response model and dumped as sent."""
    body, version = await outcome
    return model.model_validate(body).model_dump(mode="json", by_alias=True), version

"""HTTP edge helpers: `as_of` and other instants checked, and every list also as CSV on `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.envelope import dumps
from pmo_servicekit.problems import Problem

CSV = "text/csv"
#: OpenAPI: every report answers JSON, and its main list as CSV on `Accept: text/csv`.
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report (JSON), or its main list as CSV when `Accept: text/csv` is sent",
        "content": {"application/json": {"schema": {"type": "object"}}, CSV: {"schema": {"type": "string"}}},
    },
    401: {"description": "No valid bearer token"},
    404: {"description": "Unknown id (live reports only; `as_of` answers an empty report)"},
    422: {"description": "A query parameter is not valid (`errors[].field` names it)"},
}
AS_OF_HELP = "RFC 3339 instant with an offset: answer as the report stood then (by event time)"


def invalid(field: str, message: str, code: str) -> Problem:
    error = {"field": field, "location": "query", "message": message, "code": code}
    return Problem(422, "validation-error", f"the request is not valid: {field}: {message}", errors=[error])


def aware(field: str, value: datetime | None) -> datetime | None:
    """Instants must name their offset (RFC 3339); they are compared in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(field, "an RFC 3339 instant needs an offset, such as Z or +01:00", "timezone_required")
    return value.astimezone(UTC)


def as_of_instant(as_of: Annotated[datetime | None, Query(description=AS_OF_HELP)] = None) -> datetime | None:
    instant = aware("as_of", as_of)
    if instant is not None and instant > datetime.now(UTC):
        raise invalid("as_of", "the instant is in the future; reports answer the past and the present", "future")
    return instant


AsOf = Annotated[datetime | None, Depends(as_of_instant)]


def wants_csv(request: Request) -> bool:
    return CSV in request.headers.get("accept", "")


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return dumps(value).decode()
    return "" if value is None else value


def csv_response(rows: list[dict[str, Any]], filename: str) -> Response:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    disposition = f'attachment; filename="{filename}.csv"'
    return Response(buffer.getvalue(), media_type=f"{CSV}; charset=utf-8", headers={"Content-Disposition": disposition})


def respond(request: Request, body: dict[str, Any], rows: list[dict[str, Any]], filename: str) -> Response:
    """JSON by default; the report's main list as CSV when the client asks for text/csv."""
    if wants_csv(request):
        return csv_response(rows, filename)
    return JSONResponse(body)

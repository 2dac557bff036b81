"""HTTP edge helpers: `as_of` and other instants checked, the documents a report reads (live or `as_of`), typed
JSON answers with a page of the report's main list, and that whole list as CSV on `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from pmo_events.contracts.bounds import BoundedInstant
from pmo_events.envelope import dumps
from pmo_reporting.application.reports import Slim, report_state
from pmo_reporting.application.time_travel import Checkpoints
from pmo_reporting.projections.base import Projection
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_servicekit.contract.paging import Key, PageRequest, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import service_runtime
from pmo_servicekit.problems import Problem

CSV = "text/csv"


def report_responses(*problem_statuses: int) -> dict[int | str, dict[str, Any]]:
    """A report's `responses=`: JSON (the route's model) or its whole main list as CSV, and its problems."""
    declared = answers(*problem_statuses, notes={404: "unknown id (live reports only; `as_of` answers an empty one)"})
    declared[200] = {
        "description": "The report (JSON), or its main list as CSV (every row) when `Accept: text/csv` is sent",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
    return declared


AS_OF_HELP = "RFC 3339 instant with an offset: answer as the report stood then (by event time)"


def invalid(field: str, message: str, code: str) -> Problem:
    error = {"field": field, "location": "query", "message": message, "code": code}
    return Problem(422, "validation-error", f"the request is not valid: {field}: {message}", errors=[error])


_INSTANT: TypeAdapter[datetime] = TypeAdapter(BoundedInstant)


def bounded_instant(field: str, text: str) -> datetime:
    """An instant read by hand (not by a query parameter's type): the same bounds, the same named 422."""
    try:
        return _INSTANT.validate_python(text)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise invalid(field, error["msg"], error["type"]) from None


def aware(field: str, value: datetime | None) -> datetime | None:
    """Instants must name their offset (RFC 3339); they are compared in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(field, "an RFC 3339 instant needs an offset, such as Z or +01:00", "timezone_required")
    return value.astimezone(UTC)


def as_of_instant(as_of: Annotated[BoundedInstant | None, Query(description=AS_OF_HELP)] = None) -> datetime | None:
    instant = aware("as_of", as_of)
    if instant is not None and instant > datetime.now(UTC):
        raise invalid("as_of", "the instant is in the future; reports answer the past and the present", "future")
    return instant


AsOf = Annotated[datetime | None, Depends(as_of_instant)]


def _checkpoints(request: Request) -> Checkpoints:
    """One set of `as_of` checkpoints per app, made on first use."""
    state = request.app.state
    if getattr(state, "checkpoints", None) is None:
        state.checkpoints = Checkpoints()
    return state.checkpoints


async def report_documents(
    request: Request,
    projection: Projection,
    wanted: dict[str, str | None],
    as_of: datetime | None,
    slim: Slim | None = None,
) -> InMemoryDocuments:
    """The documents of `wanted` kinds (by kind: one portfolio's, or None for all) that a report reads: the live
    read model's (each kind in `slim` cut down as it is read), or the log folded up to `as_of` (from the app's
    checkpoints)."""
    return await report_state(service_runtime(request).db, projection, wanted, as_of, _checkpoints(request), slim)


def wants_csv(request: Request) -> bool:
    return CSV in request.headers.get("accept", "")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
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


def respond(
    request: Request,
    model: type[BaseModel],
    body: dict[str, Any],
    rows: list[dict[str, Any]],
    filename: str,
    *,
    page: tuple[PageRequest, Callable[[dict[str, Any]], Key]] | None = None,
) -> Response:
    """JSON (`model`, with a page of `rows` as `items` when `page` is given); all of `rows` as CSV on text/csv."""
    if wants_csv(request):
        return csv_response(rows, filename)
    if page is not None:
        paging, key = page
        items, next_cursor = slice_page(rows, paging, key)
        body = {**body, "items": items, "next_cursor": next_cursor}
    return JSONResponse(model.model_validate(body).model_dump(mode="json", by_alias=True))

"""Date windows in query strings (`from`/`to`, `free_from`/`free_to`): both given, ordered (each date is a
`BoundedDate`, 1900 to 2199)."""

from __future__ import annotations

from datetime import date

from pmo_events.figures.capacity import window_problem
from pmo_events.figures.days import Span
from pmo_servicekit.problems import Problem


def window_of(start: date | None, end: date | None, start_name: str, end_name: str, *, required: bool) -> Span | None:
    """The window two query parameters name, or None when neither is given and none is required."""
    if start is None and end is None and not required:
        return None
    problems = [
        (name, "this query parameter is required")
        for name, value in ((start_name, start), (end_name, end))
        if not value
    ]
    if start and end and (wrong := window_problem(start, end)):
        problems.append((end_name, wrong[1]))
    if problems:
        errors = [{"field": f, "location": "query", "message": m, "code": "invalid"} for f, m in problems]
        raise Problem(422, "validation-error", f"the request is not valid: {problems[0][0]}", errors=errors)
    return Span(start, end)  # type: ignore[arg-type]

"""How intake's domain errors answer over HTTP: its problem table, with field paths a form can show."""

from __future__ import annotations

from pmo_intake.domain.errors import (
    DomainError,
    IncompleteProposal,
    InvalidProposal,
    LessonNotFound,
    NotAllowed,
    ProposalNotFound,
)
from pmo_servicekit.problems import Problem, ProblemTable


def proposal_not_found(proposal_id: object) -> Problem:
    return Problem(404, "proposal-not-found", f"no proposal {proposal_id}")


def incomplete(exc: IncompleteProposal) -> Problem:
    errors = [{"field": f.field, "location": "record", "message": f.message, "code": "incomplete"}
              for f in exc.findings]  # fmt: skip
    return Problem(422, "proposal-incomplete", str(exc), errors=errors)


def out_of_bounds(exc: InvalidProposal) -> Problem:
    errors = [{"field": f.field, "location": "body", "message": f.message, "code": "out_of_bounds"}
              for f in exc.findings]  # fmt: skip
    return Problem(422, "validation-error", str(exc), errors=errors)


PROBLEM_TABLE: ProblemTable = {
    ProposalNotFound: proposal_not_found,
    LessonNotFound: lambda exc: Problem(404, "lesson-not-found", f"no lesson {exc}"),
    NotAllowed: lambda exc: Problem(403, "forbidden", str(exc)),
    IncompleteProposal: incomplete,
    InvalidProposal: out_of_bounds,
    DomainError: lambda exc: Problem(409, "proposal-state-conflict", str(exc)),
}

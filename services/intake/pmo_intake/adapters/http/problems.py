"""Intake's domain errors as RFC 9457 problem documents, with field paths a form can show."""

from __future__ import annotations

from pmo_events.runtime import ConcurrencyConflict
from pmo_intake.domain.errors import IncompleteProposal, InvalidProposal, NotAllowed, ProposalNotFound
from pmo_servicekit.problems import Problem


def proposal_not_found(proposal_id: object) -> Problem:
    return Problem(404, "proposal-not-found", f"no proposal {proposal_id}")


def domain_problem(exc: Exception) -> Problem:
    if isinstance(exc, ProposalNotFound):
        return proposal_not_found(exc)
    if isinstance(exc, NotAllowed):
        return Problem(403, "forbidden", str(exc))
    if isinstance(exc, IncompleteProposal):
        errors = [{"field": f.field, "location": "record", "message": f.message, "code": "incomplete"}
                  for f in exc.findings]  # fmt: skip
        return Problem(422, "proposal-incomplete", str(exc), errors=errors)
    if isinstance(exc, InvalidProposal):
        errors = [{"field": f.field, "location": "body", "message": f.message, "code": "out_of_bounds"}
                  for f in exc.findings]  # fmt: skip
        return Problem(422, "validation-error", str(exc), errors=errors)
    if isinstance(exc, ConcurrencyConflict):
        return Problem(412, "stale-version", "the proposal changed since you read it; read it again")
    return Problem(409, "proposal-state-conflict", str(exc))

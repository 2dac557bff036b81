"""Intake's HTTP API: draft, submit and read proposals."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from pmo_events.runtime import ConcurrencyConflict, Metadata
from pmo_intake.adapters.http.schemas import ProposalDraft, ProposalView
from pmo_intake.application import commands, queries
from pmo_intake.domain.errors import IncompleteProposal, NotAllowed, ProposalNotFound, RuleViolation
from pmo_intake.domain.proposal import DraftProposal
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.http import etag, metadata_for, parse_if_match
from pmo_servicekit.problems import Problem
from pmo_servicekit.service import ServiceRuntime

router = APIRouter(tags=["proposals"])
Proposer = Annotated[Principal, Depends(require_roles("requester", "pmo_analyst", "admin"))]
PROBLEMS = {401: {}, 403: {}, 404: {}, 409: {}, 412: {}, 422: {}}


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.post("/proposals", status_code=201, response_model=ProposalView, responses=PROBLEMS)
async def create_proposal(
    body: ProposalDraft, principal: Proposer, request: Request, response: Response
) -> ProposalView:
    """Draft a proposal; only `title` and `portfolio_id` are needed to start."""
    proposal_id = str(uuid.uuid4())
    command = DraftProposal(
        proposal_id=proposal_id,
        requester=principal.subject,
        title=body.title,
        portfolio_id=body.portfolio_id,
        summary=body.summary,
        sponsor=body.sponsor,
        objective_contributions=tuple(body.objective_contributions),
        business_case=body.business_case,
        timeline=body.timeline,
        resource_estimate=tuple(body.resource_estimate),
        risk_level=body.risk_level,
        dependencies=tuple(body.dependencies),
    )
    state, version = await commands.draft_proposal(
        _runtime(request).commands, command, metadata_for(request, principal)
    )
    response.headers["Location"] = f"/proposals/{proposal_id}"
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state.model_dump(mode="json"), version)


@router.get("/proposals/{proposal_id}", response_model=ProposalView, responses=PROBLEMS)
async def read_proposal(
    proposal_id: str, _principal: CurrentPrincipal, request: Request, response: Response
) -> ProposalView:
    try:
        state, version = await queries.get_proposal(_runtime(request).db, proposal_id)
    except ProposalNotFound as exc:
        raise _problem(exc) from exc
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state, version)


@router.post("/proposals/{proposal_id}/submit", response_model=ProposalView, responses=PROBLEMS)
async def submit(
    proposal_id: str,
    principal: Proposer,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ProposalView:
    """Submit for the board: answers 422 listing every completeness problem at once."""
    meta: Metadata = metadata_for(request, principal)
    try:
        state, version = await commands.submit_proposal(
            _runtime(request).commands,
            proposal_id,
            roles=principal.roles,
            meta=meta,
            expected_version=parse_if_match(if_match),
        )
    except (ProposalNotFound, NotAllowed, RuleViolation, IncompleteProposal, ConcurrencyConflict) as exc:
        raise _problem(exc) from exc
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state.model_dump(mode="json"), version)


def _problem(exc: Exception) -> Problem:
    if isinstance(exc, ProposalNotFound):
        return Problem(404, "proposal-not-found", f"no proposal {exc}")
    if isinstance(exc, NotAllowed):
        return Problem(403, "forbidden", str(exc))
    if isinstance(exc, IncompleteProposal):
        errors = [{"field": f.field, "location": "proposal", "message": f.message} for f in exc.findings]
        return Problem(422, "proposal-incomplete", str(exc), errors=errors)
    if isinstance(exc, ConcurrencyConflict):
        return Problem(412, "stale-version", "the proposal changed since you read it; read it again")
    return Problem(409, "proposal-state-conflict", str(exc))

"""Intake's HTTP API: draft, edit, submit, withdraw, list and read proposals and their history."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.runtime import ConcurrencyConflict, UnitOfWork
from pmo_intake.adapters.http.problems import domain_problem, proposal_not_found
from pmo_intake.adapters.http.schemas import (
    PRINTABLE,
    HistoryEntry,
    ProposalChanges,
    ProposalDraft,
    ProposalHistory,
    ProposalPage,
    ProposalView,
    StatusFilter,
    Withdrawal,
)
from pmo_intake.application import commands, queries
from pmo_intake.application.commands import Outcome
from pmo_intake.domain.errors import DomainError
from pmo_intake.domain.lifecycle import Actor, DraftProposal
from pmo_intake.domain.proposal import CONTENT_FIELDS
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.http import etag, metadata_for, parse_if_match
from pmo_servicekit.idempotency import IdempotencyKeyHeader, run_command
from pmo_servicekit.problems import Problem
from pmo_servicekit.service import ServiceRuntime

router = APIRouter(tags=["proposals"])
Proposer = Annotated[Principal, Depends(require_roles("requester", "pmo_analyst", "admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=64, description='The ETag you read, e.g. "3"')]
Filter = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/problem+json": {}}}
    for status, text in {
        401: "no or bad bearer token",
        403: "the caller may not do this",
        404: "no such proposal",
        409: "the proposal's state forbids this",
        412: "the proposal changed since it was read (stale If-Match)",
        422: "invalid input or an incomplete proposal; `errors` names every field",
        428: "If-Match is required",
    }.items()
}


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.roles)


def _checked_id(proposal_id: str) -> str:
    """Proposal ids are UUIDs; anything else cannot name one."""
    try:
        return str(uuid.UUID(proposal_id))
    except ValueError:
        raise proposal_not_found(proposal_id) from None


def _respond(outcome: Outcome, *, status_code: int = 200) -> JSONResponse:
    state, version = outcome
    view = ProposalView.of(state.model_dump(mode="json"), version)
    headers = {"ETag": etag(version)}
    if status_code == 201:
        headers["Location"] = f"/proposals/{view.id}"
    return JSONResponse(view.model_dump(mode="json"), status_code=status_code, headers=headers)


async def _command(
    request: Request, principal: Principal, decide: Callable[[UnitOfWork], Awaitable[Outcome]], status_code: int = 200
) -> Response:
    async def action(uow: UnitOfWork) -> Response:
        return _respond(await decide(uow), status_code=status_code)

    runtime = _runtime(request)
    try:
        return await run_command(runtime.commands, metadata_for(request, principal), request, principal, action)
    except (DomainError, ConcurrencyConflict) as exc:
        raise domain_problem(exc) from exc


@router.post("/proposals", status_code=201, response_model=ProposalView, responses=PROBLEMS)
async def create_proposal(
    body: ProposalDraft, principal: Proposer, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """Draft a proposal; only `title` and `portfolio_id` are needed to start."""
    command = DraftProposal(
        proposal_id=str(uuid.uuid4()),
        requester=principal.subject,
        title=body.title,
        portfolio_id=body.portfolio_id,
        **body.values(set(CONTENT_FIELDS) - {"title", "portfolio_id"}),
    )
    return await _command(request, principal, lambda uow: commands.draft_proposal(uow, command), 201)


@router.get("/proposals", response_model=ProposalPage, responses=PROBLEMS)
async def list_proposals(
    _principal: CurrentPrincipal,
    request: Request,
    status: StatusFilter | None = None,
    portfolio_id: Filter = None,
    requester: Filter = None,
    q: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description="searches title and summary")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page")] = None,
) -> ProposalPage:
    """Proposals, newest first, filtered; follow `next_cursor` for the next page."""
    filters = queries.ProposalFilter(status=status, portfolio_id=portfolio_id, requester=requester, q=q)
    try:
        rows, next_cursor = await queries.list_proposals(_runtime(request).db, filters, limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        error = {"field": "cursor", "location": "query", "message": "not a cursor this API gave", "code": "cursor"}
        raise Problem(422, "validation-error", "the cursor is not valid", errors=[error]) from exc
    return ProposalPage(items=[ProposalView.of(s, v) for s, v in rows], next_cursor=next_cursor)


@router.get("/proposals/{proposal_id}", response_model=ProposalView, responses=PROBLEMS)
async def read_proposal(proposal_id: str, _principal: CurrentPrincipal, request: Request, response: Response) -> Any:
    try:
        state, version = await queries.get_proposal(_runtime(request).db, _checked_id(proposal_id))
    except DomainError as exc:
        raise domain_problem(exc) from exc
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state, version)


@router.patch("/proposals/{proposal_id}", response_model=ProposalView, responses=PROBLEMS)
async def edit_proposal(
    proposal_id: str,
    body: ProposalChanges,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    """Change a draft (or a deferred or changes-requested proposal); needs the ETag you read as `If-Match`."""
    checked = _checked_id(proposal_id)
    expected = parse_if_match(if_match)
    if expected is None:
        raise Problem(428, "precondition-required", 'send If-Match with the ETag you read, e.g. If-Match: "3"')
    actor = _actor(principal)
    changes = body.changes()
    return await _command(
        request,
        principal,
        lambda uow: commands.edit_proposal(uow, checked, changes, actor=actor, expected_version=expected),
    )


@router.post("/proposals/{proposal_id}/submit", response_model=ProposalView, responses=PROBLEMS)
async def submit_proposal(
    proposal_id: str,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Submit for the board: answers 422 listing every completeness problem at once."""
    checked, expected, actor = _checked_id(proposal_id), parse_if_match(if_match), _actor(principal)
    now = datetime.now(UTC)
    return await _command(
        request,
        principal,
        lambda uow: commands.submit_proposal(uow, checked, actor=actor, now=now, expected_version=expected),
    )


@router.post("/proposals/{proposal_id}/withdraw", response_model=ProposalView, responses=PROBLEMS)
async def withdraw_proposal(
    proposal_id: str,
    body: Withdrawal,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Withdraw with a reason; refused (409) once the board approved or rejected it."""
    checked, expected, actor = _checked_id(proposal_id), parse_if_match(if_match), _actor(principal)
    now = datetime.now(UTC)
    return await _command(
        request,
        principal,
        lambda uow: commands.withdraw_proposal(
            uow, checked, reason=body.reason, actor=actor, now=now, expected_version=expected
        ),
    )


@router.get("/proposals/{proposal_id}/history", response_model=ProposalHistory, responses=PROBLEMS)
async def proposal_history(proposal_id: str, _principal: CurrentPrincipal, request: Request) -> ProposalHistory:
    """Every event of the proposal in order, with who, when and what."""
    runtime = _runtime(request)
    try:
        recorded = await queries.proposal_history(runtime.db, runtime.store, _checked_id(proposal_id))
    except DomainError as exc:
        raise domain_problem(exc) from exc
    entries = [
        HistoryEntry(
            sequence=r.sequence,
            type=r.type,
            event=r.type.split(".")[2],
            occurred_at=r.time,
            actor=r.actor,
            correlation_id=r.correlation_id,
            causation_id=r.causation_id,
            data=r.data,
        )
        for r in recorded
    ]
    return ProposalHistory(id=recorded[0].stream_id, events=entries)

"""Intake's HTTP API: draft, edit, submit, withdraw, list and read proposals and their history."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from pmo_events.runtime import Changed
from pmo_intake.adapters.http.problems import proposal_not_found
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
from pmo_intake.domain.lifecycle import Actor, DraftProposal
from pmo_intake.domain.proposal import CONTENT_FIELDS, Proposal
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.commands import run_command
from pmo_servicekit.http import IfMatch, RequiredIfMatch, answer, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import Problem

router = APIRouter(tags=["proposals"])
Proposer = Annotated[Principal, Depends(require_roles("requester", "pmo_analyst", "admin"))]
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


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.roles)


def _checked_id(proposal_id: str) -> str:
    """Proposal ids are UUIDs; anything else cannot name one."""
    try:
        return str(uuid.UUID(proposal_id))
    except ValueError:
        raise proposal_not_found(proposal_id) from None


async def _answered(outcome: Awaitable[Changed[Proposal]], *, status_code: int = 200) -> JSONResponse:
    """The proposal after a command, with its ETag (and `Location` when it was just drafted)."""
    changed = await outcome
    view = ProposalView.of(changed.state.model_dump(mode="json"), changed.version)
    location = f"/proposals/{view.id}" if status_code == 201 else None
    return answer(view.model_dump(mode="json"), changed.version, status_code=status_code, location=location)


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
    return await run_command(
        request, principal, lambda uow: _answered(commands.draft_proposal(uow, command), status_code=201)
    )


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
        rows, next_cursor = await queries.list_proposals(
            service_runtime(request).db, filters, limit=limit, cursor=cursor
        )
    except queries.BadCursor as exc:
        error = {"field": "cursor", "location": "query", "message": "not a cursor this API gave", "code": "cursor"}
        raise Problem(422, "validation-error", "the cursor is not valid", errors=[error]) from exc
    return ProposalPage(items=[ProposalView.of(s, v) for s, v in rows], next_cursor=next_cursor)


@router.get("/proposals/{proposal_id}", response_model=ProposalView, responses=PROBLEMS)
async def read_proposal(proposal_id: str, _principal: CurrentPrincipal, request: Request, response: Response) -> Any:
    state, version = await queries.get_proposal(service_runtime(request).db, _checked_id(proposal_id))
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state, version)


@router.patch("/proposals/{proposal_id}", response_model=ProposalView, responses=PROBLEMS)
async def edit_proposal(
    proposal_id: str,
    body: ProposalChanges,
    principal: CurrentPrincipal,
    request: Request,
    if_match: RequiredIfMatch,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change a draft (or a deferred or changes-requested proposal); needs the ETag you read as `If-Match`."""
    checked, actor, changes = _checked_id(proposal_id), _actor(principal), body.changes()
    return await run_command(
        request,
        principal,
        lambda uow: _answered(commands.edit_proposal(uow, checked, changes, actor=actor, expected_version=if_match)),
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
    checked, actor, now = _checked_id(proposal_id), _actor(principal), datetime.now(UTC)
    return await run_command(
        request,
        principal,
        lambda uow: _answered(commands.submit_proposal(uow, checked, actor=actor, now=now, expected_version=if_match)),
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
    checked, actor, now = _checked_id(proposal_id), _actor(principal), datetime.now(UTC)
    return await run_command(
        request,
        principal,
        lambda uow: _answered(
            commands.withdraw_proposal(
                uow, checked, reason=body.reason, actor=actor, now=now, expected_version=if_match
            )
        ),
    )


@router.get("/proposals/{proposal_id}/history", response_model=ProposalHistory, responses=PROBLEMS)
async def proposal_history(proposal_id: str, _principal: CurrentPrincipal, request: Request) -> ProposalHistory:
    """Every event of the proposal in order, with who, when and what."""
    runtime = service_runtime(request)
    recorded = await queries.proposal_history(runtime.db, runtime.store, _checked_id(proposal_id))
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

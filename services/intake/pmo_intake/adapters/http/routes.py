"""Intake's HTTP API: draft, edit, submit, withdraw, list and read proposals, their history and related lessons."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from pmo_events.runtime import Changed, UnitOfWork
from pmo_intake.adapters.http.problems import proposal_not_found
from pmo_intake.adapters.http.responses import ProposalHistory, ProposalPage, ProposalView, StatusFilter
from pmo_intake.adapters.http.schemas import PRINTABLE, ProposalChanges, ProposalDraft, Withdrawal
from pmo_intake.application import commands, queries
from pmo_intake.domain.lifecycle import STEWARD_ROLES, Actor, DraftProposal, check_may_see
from pmo_intake.domain.proposal import CONTENT_FIELDS, Proposal
from pmo_servicekit.access import Ownership, allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.lessons import (
    LessonAcknowledgementBody,
    LessonAcknowledgementView,
    RelatedLessonPage,
    RelatedLessonView,
)
from pmo_servicekit.contract.paging import Paging, bad_cursor, keyset_page, slice_page
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.contract.shared import HistoryEntry
from pmo_servicekit.http import IfMatch, PathId, RequiredIfMatch, answer, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

#: Dependencies solved from a plan made once per route (`pmo_servicekit.routing.FlatRoute`, issue 17).
router = APIRouter(tags=["proposals"], route_class=FlatRoute)
#: Object-level rules of intake's routes (`pmo_servicekit.access.allow`), checked in the domain (`lifecycle`).
OWN_DRAFTS = Ownership(
    "own-drafts",
    "a draft is seen only by its requester (and pmo_analysts, admins): lists leave others' drafts out, a direct "
    "read answers 404; once submitted, a proposal is seen by anyone who may read",
)
REQUESTER = Ownership(
    "proposal-requester",
    "the proposal's own requester (pmo_analysts and admins too); someone else's draft answers 404",
)
READ = allow("viewer", owner=OWN_DRAFTS, exempt=["pmo_analyst", "admin"])
CHANGE = allow("requester", "pmo_analyst", "admin", owner=REQUESTER, exempt=["pmo_analyst", "admin"])
Filter = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)]
NOT_FOUND = {404: "no such proposal"}
#: The content a draft takes from its body besides `title` and `portfolio_id`.
_DRAFTED_CONTENT = frozenset(CONTENT_FIELDS) - {"title", "portfolio_id"}
STATE = {409: "the proposal's state forbids this (`type`: `proposal-state-conflict`)"}


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.roles)


def _checked_id(proposal_id: str) -> str:
    """Proposal ids are UUIDs; anything else cannot name one."""
    try:
        return str(uuid.UUID(proposal_id))
    except ValueError:
        raise proposal_not_found(proposal_id) from None


async def _answered(outcome: Awaitable[Changed[Proposal]], *, status_code: int = 200) -> Response:
    """The proposal after a command, with its ETag (and `Location` when it was just drafted)."""
    changed = await outcome
    view = ProposalView.of(changed.state.model_dump(mode="json"), changed.version)
    location = f"/proposals/{view.id}" if status_code == 201 else None
    return answer(view, changed.version, status_code=status_code, location=location)  # pydantic writes the JSON


@router.post(
    "/proposals",
    status_code=201,
    summary="Draft a new proposal",
    response_model=ProposalView,
    responses=answers(status=201, etag=True, location=True),
    **allow("requester", "pmo_analyst", "admin"),
)
async def create_proposal(
    body: ProposalDraft, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """Draft a proposal; only `title` and `portfolio_id` are needed to start."""
    command = DraftProposal(
        proposal_id=str(uuid.uuid4()),
        requester=principal.subject,
        title=body.title,
        portfolio_id=body.portfolio_id,
        # A field the body left out is `DraftProposal`'s own default, which is the body's default converted
        # (tests/test_draft_command.py): no dump and validation of an empty business case or timeline per draft.
        **body.values(body.model_fields_set & _DRAFTED_CONTENT),
    )
    return await run_command(
        request, principal, lambda uow: _answered(commands.draft_proposal(uow, command), status_code=201)
    )


@router.get("/proposals", summary="List proposals, newest first", response_model=ProposalPage, **READ)
async def list_proposals(
    principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    status: StatusFilter | None = None,
    portfolio_id: Filter = None,
    requester: Filter = None,
    q: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description="searches title and summary")] = None,
) -> ProposalPage:
    """Proposals, newest first, filtered by status, portfolio, requester and text; others' drafts are left out."""
    drafts_of = None if principal.has_any(*STEWARD_ROLES) else principal.subject
    filters = queries.ProposalFilter(
        status=status, portfolio_id=portfolio_id, requester=requester, q=q, drafts_of=drafts_of
    )
    after = paging.after(1)
    position = after[0] if after else None
    if position is not None and not isinstance(position, int):
        raise bad_cursor()
    rows = await queries.list_proposals(service_runtime(request).db, filters, limit=paging.limit + 1, after=position)
    page, next_cursor = keyset_page(rows, paging, key=lambda row: [row[2]])
    return ProposalPage(items=[ProposalView.of(state, version) for state, version, _ in page], next_cursor=next_cursor)


@router.get(
    "/proposals/{proposal_id}",
    summary="Read one proposal",
    response_model=ProposalView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **READ,
)
async def read_proposal(proposal_id: PathId, principal: CurrentPrincipal, request: Request, response: Response) -> Any:
    state, version = await queries.get_proposal(service_runtime(request).db, _checked_id(proposal_id))
    check_may_see(Proposal.model_validate(state), _actor(principal))
    response.headers["ETag"] = etag(version)
    return ProposalView.of(state, version)


@router.patch(
    "/proposals/{proposal_id}",
    summary="Change a proposal's content",
    response_model=ProposalView,
    responses=answers(403, 404, 409, 412, 428, etag=True, notes={**NOT_FOUND, **STATE}),
    **CHANGE,
)
async def update_proposal(
    proposal_id: PathId,
    body: ProposalChanges,
    principal: CurrentPrincipal,
    request: Request,
    if_match: RequiredIfMatch,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Change a draft (or a deferred or changes-requested proposal); needs the ETag you read as `If-Match`.

    Only the proposal's requester, a `pmo_analyst` or an `admin` may change it."""
    checked, actor, changes = _checked_id(proposal_id), _actor(principal), body.changes()
    return await run_command(
        request,
        principal,
        lambda uow: _answered(commands.edit_proposal(uow, checked, changes, actor=actor, expected_version=if_match)),
    )


@router.post(
    "/proposals/{proposal_id}/submit",
    summary="Submit a proposal to its board",
    response_model=ProposalView,
    responses=answers(
        403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **STATE, 422: "invalid input, or every completeness finding"}
    ),
    **CHANGE,
)
async def submit_proposal(
    proposal_id: PathId,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Submit for the board: answers 422 listing every completeness problem at once (`location: record`)."""
    checked, actor, now = _checked_id(proposal_id), _actor(principal), datetime.now(UTC)
    return await run_command(
        request,
        principal,
        lambda uow: _answered(commands.submit_proposal(uow, checked, actor=actor, now=now, expected_version=if_match)),
    )


@router.post(
    "/proposals/{proposal_id}/withdraw",
    summary="Withdraw a proposal with a reason",
    response_model=ProposalView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **STATE}),
    **CHANGE,
)
async def withdraw_proposal(
    proposal_id: PathId,
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


@router.get(
    "/proposals/{proposal_id}/history",
    summary="List a proposal's history of events",
    response_model=ProposalHistory,
    responses=answers(404, notes=NOT_FOUND),
    **READ,
)
async def list_proposal_history(
    proposal_id: PathId, principal: CurrentPrincipal, request: Request, paging: Paging
) -> ProposalHistory:
    """Every event of the proposal in order, with who, when and what."""
    runtime = service_runtime(request)
    state, _ = await queries.get_proposal(runtime.db, _checked_id(proposal_id))
    check_may_see(Proposal.model_validate(state), _actor(principal))
    recorded = await queries.proposal_history(runtime.db, runtime.store, _checked_id(proposal_id))
    page, next_cursor = slice_page(recorded, paging, key=lambda r: [r.sequence])
    entries = [
        HistoryEntry.of(
            event_id=r.event_id,
            subject=r.stream_id,
            sequence=r.sequence,
            type=r.type,
            occurred_at=r.time,
            actor=r.actor,
            correlation_id=r.correlation_id,
            causation_id=r.causation_id,
            data=r.data,
        )
        for r in page
    ]
    return ProposalHistory(id=recorded[0].stream_id, items=entries, next_cursor=next_cursor)


@router.get(
    "/proposals/{proposal_id}/related-lessons",
    summary="List the lessons most relevant to a proposal",
    response_model=RelatedLessonPage,
    responses=answers(404, notes=NOT_FOUND),
    **READ,
)
async def list_related_lessons(
    proposal_id: PathId, principal: CurrentPrincipal, request: Request, paging: Paging
) -> RelatedLessonPage:
    """Lessons other teams recorded that share the proposal's category words, tags or wording, best first."""
    runtime, checked = service_runtime(request), _checked_id(proposal_id)
    state, _ = await queries.get_proposal(runtime.db, checked)
    check_may_see(Proposal.model_validate(state), _actor(principal))
    related = await queries.related_lessons(runtime.db, runtime.store, checked)
    page, next_cursor = slice_page(related, paging, key=lambda r: [r[0].lesson.lesson_id])
    return RelatedLessonPage(items=[RelatedLessonView.of(r, said) for r, said in page], next_cursor=next_cursor)


@router.post(
    "/proposals/{proposal_id}/related-lessons/{lesson_id}/acknowledge",
    summary="Acknowledge a lesson: whether it applies to the proposal, and why",
    response_model=LessonAcknowledgementView,
    responses=answers(403, 404, etag=True, notes={404: "no such proposal, or no such lesson"}),
    **CHANGE,
)
async def acknowledge_lesson(
    proposal_id: PathId,
    lesson_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    body: LessonAcknowledgementBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The proposal's requester (or a pmo_analyst, an admin) says whether the lesson applies; the latest word counts.

    Recorded as `LessonAcknowledged` with who, when, why and whether it applies; the ETag is the version of
    the proposal's lesson stream."""
    checked, actor, now = _checked_id(proposal_id), _actor(principal), datetime.now(UTC)

    async def action(uow: UnitOfWork) -> Response:
        changed = await commands.acknowledge_lesson(
            uow, checked, lesson_id, applies=body.applies, note=body.note, actor=actor, now=now
        )
        said = changed.state.acknowledged[lesson_id].model_dump(mode="json")
        return answer(LessonAcknowledgementView.model_validate(said).model_dump(mode="json"), changed.version)

    return await run_command(request, principal, action)

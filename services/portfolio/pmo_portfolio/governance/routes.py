"""HTTP API of governance: the board's charter and members, motions, votes and declared conflicts.

Who may call each operation is declared on the route (`allow`) and checked again where the facts are: the
owner (or an admin) changes the board, never their own place on it; only members of THIS board vote, and
never on what they requested or sponsor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import DelegatedAuthority
from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.funding import PortfolioView
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.governance import commands, queries
from pmo_portfolio.governance.domain import charter, motions
from pmo_portfolio.governance.domain.charter import CharterTerms, Governor
from pmo_portfolio.governance.domain.motions import Motion
from pmo_portfolio.governance.responses import LapseSweep, MotionPage, MotionView
from pmo_portfolio.governance.schemas import BoardMemberAdd, CharterReplace, ConflictIn, VoteIn
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import PORTFOLIO_BOARD, PORTFOLIO_OWNER
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, PathText, answer, answered, metadata_for, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
NOT_FOUND = {404: "no such portfolio (or motion)"}
RULES = {
    409: "a rule forbids it now (`type` names it: the motion is no longer open, a vote already cast, "
    "`voting-closed` after the deadline, with `deadline`, ...)"
}
FORBIDDEN = {
    403: "not your decision: `not-authorised` (only the owner or an admin changes the board), `separation-of-duties` "
    "(your own place on the board), `not-board-member`, `conflict-of-interest` (you requested, sponsor or declared)"
}
OWNER_OR_ADMIN = allow("viewer", "admin", owner=PORTFOLIO_OWNER, exempt=["admin"])
BOARD_MEMBER = allow("board_member", owner=PORTFOLIO_BOARD)


def _governor(principal: Principal) -> Governor:
    return Governor(principal.subject, is_admin=principal.has_any("admin"))


@router.put(
    "/portfolios/{portfolio_id}/charter",
    tags=["board"],
    summary="Set the board's charter (a new version)",
    response_model=PortfolioView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **OWNER_OR_ADMIN,
)
async def set_charter(
    portfolio_id: PathId,
    body: CharterReplace,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Members and chair, quorum, the voting rule and the delegated authority; only the portfolio's owner or an
    admin sets it, and never changing their own place (member, chair, portfolio manager)."""
    delegation = body.delegated_authority
    terms = CharterTerms(
        members=tuple(body.members),
        chair=body.chair,
        quorum=body.quorum,
        rule=body.rule,
        qualified_share=body.qualified_share,
        voting_days=body.voting_days,
        delegated_authority=DelegatedAuthority(portfolio_manager=delegation.portfolio_manager, up_to=delegation.up_to)
        if delegation
        else None,
    )
    governor, now = _governor(principal), datetime.now(UTC)

    def rule(state: Portfolio) -> list[Event]:
        return charter.set_charter(state, terms, governor, now, body.reason)

    return await _changed(request, principal, portfolio_id, rule, if_match)


@router.post(
    "/portfolios/{portfolio_id}/board",
    tags=["board"],
    summary="Add a member to the board",
    response_model=PortfolioView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **OWNER_OR_ADMIN,
)
async def add_board_member(
    portfolio_id: PathId,
    body: BoardMemberAdd,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A new charter version with one more member; the owner or an admin, never adding themself."""
    governor = _governor(principal)
    return await _changed(
        request, principal, portfolio_id, lambda state: charter.add_board_member(state, body.subject, governor)
    )


@router.delete(
    "/portfolios/{portfolio_id}/board/{subject}",
    tags=["board"],
    summary="Remove a member from the board",
    response_model=PortfolioView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **OWNER_OR_ADMIN,
)
async def remove_board_member(
    portfolio_id: PathId,
    subject: PathText,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A new charter version without the member; the chair stays until another chair is set."""
    governor = _governor(principal)
    return await _changed(
        request, principal, portfolio_id, lambda state: charter.remove_board_member(state, subject, governor)
    )


@router.get(
    "/portfolios/{portfolio_id}/motions",
    tags=["board"],
    summary="List the board's motions",
    response_model=MotionPage,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def list_motions(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    status: Literal["open", "carried", "defeated", "lapsed"] | None = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
) -> MotionPage:
    """Motions by id, with their votes, conflicts and the tally as it stands."""
    db = service_runtime(request).db
    await funding.load_portfolio(db, portfolio_id)
    after = paging.after(1)
    items, _ = await queries.list_motions(
        db,
        portfolio_id,
        status=status,
        subject_id=subject_id,
        limit=paging.limit + 1,
        cursor=str(after[0]) if after else None,
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return MotionPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/portfolios/{portfolio_id}/motions/{motion_id}",
    tags=["board"],
    summary="Read one motion with its votes",
    response_model=MotionView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_motion(
    portfolio_id: PathId, motion_id: PathId, _principal: CurrentPrincipal, request: Request
) -> MotionView:
    found = await queries.get_motion(service_runtime(request).db, motion_id)
    if found["portfolio_id"] != portfolio_id:
        raise NotFound(f"motion {motion_id} in portfolio {portfolio_id}")
    return MotionView.model_validate(found)


@router.post(
    "/portfolios/{portfolio_id}/motions/{motion_id}/votes",
    tags=["board"],
    summary="Vote on a motion",
    response_model=MotionView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **BOARD_MEMBER,
)
async def cast_vote(
    portfolio_id: PathId,
    motion_id: PathId,
    body: VoteIn,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A member of the board the motion was put to votes once, with a rationale; the vote that meets the
    charter's rule carries the motion and the decision is taken in the same transaction (or the motion is
    defeated). A vote after the deadline is not taken: 409 `voting-closed`, its `deadline` named (the lapse
    sweep, `POST /motions/lapse-due`, ends the motion)."""
    now = datetime.now(UTC)
    return await _on_motion(
        request,
        principal,
        portfolio_id,
        motion_id,
        lambda motion: motions.cast_vote(motion, principal.subject, body.vote, body.rationale, now),
    )


@router.post(
    "/portfolios/{portfolio_id}/motions/{motion_id}/conflicts",
    tags=["board"],
    summary="Declare a conflict of interest on a motion",
    response_model=MotionView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **BOARD_MEMBER,
)
async def declare_conflict(
    portfolio_id: PathId,
    motion_id: PathId,
    body: ConflictIn,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A member declares a conflict before voting: their vote is refused from then on, and the motion may be
    decided by the others."""
    now = datetime.now(UTC)
    return await _on_motion(
        request,
        principal,
        portfolio_id,
        motion_id,
        lambda motion: motions.declare_conflict(motion, principal.subject, body.reason, now),
    )


@router.post(
    "/motions/lapse-due",
    tags=["board"],
    summary="Lapse every open motion past its deadline",
    response_model=LapseSweep,
    **allow("pmo_analyst", "admin"),
)
async def lapse_due(principal: CurrentPrincipal, request: Request) -> LapseSweep:
    """The deadline's trigger, by hand (the scheduler runs the same sweep: `python -m pmo_portfolio sweep lapse-due`):
    each due motion lapses once, whoever else runs it, recorded as by the caller."""
    meta = metadata_for(request, principal)
    return LapseSweep(**await commands.lapse_due_motions(service_runtime(request).commands, datetime.now(UTC), meta))


async def _on_motion(
    request: Request, principal: Principal, portfolio_id: str, motion_id: str, rule: commands.MotionRule
) -> Response:
    def in_portfolio(motion: Motion) -> list[Event]:
        if motion.portfolio_id != portfolio_id:
            raise NotFound(f"motion {motion_id} in portfolio {portfolio_id}")
        return list(rule(motion))

    async def action(uow: UnitOfWork) -> Response:
        _, after, version = await commands.apply_to_motion(uow, motion_id, in_portfolio)
        view = queries.motion_view(after, version, await queries.currency_in(uow.session, after.portfolio_id))
        return answer(MotionView.model_validate(view).model_dump(mode="json"), version)

    return await run_command(request, principal, action)


async def _changed(
    request: Request, principal: Principal, portfolio_id: str, rule: funding.PortfolioRule, if_match: int | None = None
) -> Response:
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(PortfolioView, funding.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
        ),
    )

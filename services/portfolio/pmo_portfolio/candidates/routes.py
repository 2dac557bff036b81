"""HTTP API of candidates: listing, the scoring model, scores, ranking and the board's decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.candidates import commands, queries
from pmo_portfolio.candidates.domain import scoring
from pmo_portfolio.candidates.domain.decisions import DecideInvestment
from pmo_portfolio.candidates.domain.scoring import CriterionInput, ScoreCandidate
from pmo_portfolio.candidates.responses import (
    CandidatePage,
    DecisionPage,
    DecisionView,
    Ranking,
    ScoreRecorded,
    spoken,
)
from pmo_portfolio.candidates.schemas import DecisionRequest, ScoresSubmit, ScoringModelReplace
from pmo_portfolio.funding import PortfolioView
from pmo_portfolio.governance.responses import MotionView
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import ANALYST, BOARD_OR_DELEGATE, PORTFOLIO_BOARD, amounts_of
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, bad_cursor, keyset_page, slice_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.contract.shared import OUTCOME_VERBS
from pmo_servicekit.http import IfMatch, PathId, answer, answered, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.problems import Problem, invalid_field
from pmo_servicekit.routing import FlatRoute

router = APIRouter(route_class=FlatRoute)
Status = Literal["awaiting_decision", "approved", "rejected", "deferred", "changes_requested", "withdrawn"]
NOT_FOUND = {404: "no such portfolio (or candidate)"}
RULES = {
    409: "a rule forbids it now (`type` names it; `envelope-exceeded` names the period and what remains; "
    "`board-vote-needed`: the board decides it by a motion)"
}
FORBIDDEN = {
    403: "not yours to decide: `not-board-member` (not on THIS board, nor its portfolio manager), "
    "`conflict-of-interest` (you requested or sponsor the candidate)"
}


@router.get(
    "/portfolios/{portfolio_id}/candidates",
    tags=["candidates"],
    summary="List the board's candidates",
    response_model=CandidatePage,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def list_candidates(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request, paging: Paging, status: Status | None = None
) -> CandidatePage:
    """The portfolio's candidates (submitted proposals) in id order, with their latest decision."""
    db = service_runtime(request).db
    currency = (await funding.load_portfolio(db, portfolio_id))[0].currency
    items = await queries.list_candidates(db, portfolio_id, status, paging.limit + 1, paging.after_id())
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    shown = [_in_currency(c, currency) for c in page]
    return CandidatePage.model_validate({"items": shown, "next_cursor": next_cursor})


@router.put(
    "/portfolios/{portfolio_id}/scoring-model",
    tags=["scoring"],
    summary="Replace the portfolio's scoring model",
    response_model=PortfolioView,
    responses=answers(404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **ANALYST,
)
async def replace_scoring_model(
    portfolio_id: PathId,
    body: ScoringModelReplace,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Weighted criteria, or an AHP pairwise matrix (weights = principal eigenvector; CR must be below 0.1)."""
    criteria = tuple(CriterionInput(c.key, c.name, c.weight) for c in body.criteria)
    matrix = body.pairwise_matrix
    if matrix is None:
        missing = next((i for i, c in enumerate(criteria) if c.weight is None), None)
        if missing is not None:
            message = "give every criterion a weight, or give a pairwise_matrix"
            raise invalid_field(f"criteria.{missing}.weight", message)
        rule: funding.PortfolioRule = lambda state: scoring.set_weighted_model(state, criteria, principal.subject)  # noqa: E731
    else:
        judgements: list[list[object]] = [list(row) for row in matrix]
        rule = lambda state: scoring.set_pairwise_model(state, criteria, judgements, principal.subject)  # noqa: E731
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(PortfolioView, funding.change_portfolio(uow, portfolio_id, rule, if_match=if_match))
        ),
    )


@router.post(
    "/portfolios/{portfolio_id}/candidates/{candidate_id}/scores",
    status_code=201,
    tags=["scoring"],
    summary="Score a candidate on every criterion",
    response_model=ScoreRecorded,
    responses=answers(403, 404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES}),
    **allow("pmo_analyst", "board_member", owner=PORTFOLIO_BOARD, exempt=["pmo_analyst"]),
)
async def score_candidate(
    portfolio_id: PathId,
    candidate_id: PathId,
    body: ScoresSubmit,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A PMO analyst or a board member of THIS portfolio scores every criterion from 1 to 5."""
    command = ScoreCandidate(
        candidate_id=candidate_id,
        assessor=principal.subject,
        assessor_is_analyst=principal.has_any("pmo_analyst"),
        scores=body.scores,
        comment=body.comment,
        scored_at=datetime.now(UTC),
    )
    location = f"/portfolios/{portfolio_id}/ranking"
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(ScoreRecorded, commands.score_candidate(uow, portfolio_id, command)),
            status_code=201,
            location=location,
        ),
    )


@router.get(
    "/portfolios/{portfolio_id}/ranking",
    tags=["scoring"],
    summary="Rank the undecided candidates",
    response_model=Ranking,
    responses=answers(404, notes=NOT_FOUND),
    **allow("viewer"),
)
async def rank_candidates(
    portfolio_id: PathId, _principal: CurrentPrincipal, request: Request, paging: Paging
) -> Ranking:
    """Undecided candidates by weighted score, with strategic alignment, cost per period and value per cost."""
    async with service_runtime(request).db.sessions() as session:
        ranked = await queries.ranking(session, portfolio_id)
    items, next_cursor = slice_page(ranked["items"], paging, key=lambda item: [item["id"]])
    return Ranking.model_validate({**ranked, "items": items, "next_cursor": next_cursor})


@router.post(
    "/portfolios/{portfolio_id}/decisions",
    status_code=201,
    tags=["decisions"],
    summary="Decide a candidate now (delegated, or a board of one)",
    response_model=DecisionView,
    responses=answers(403, 404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **allow("board_member", "pmo_analyst", owner=BOARD_OR_DELEGATE),
)
async def decide_investment(
    portfolio_id: PathId,
    body: DecisionRequest,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The ladder: the charter's portfolio manager decides alone below the delegated threshold (`authority:
    delegated`); a board member of THIS portfolio decides when their own vote meets the charter's rule (a board
    of one: `authority: board`, with the motion and its vote). Otherwise 409 `board-vote-needed` and nothing is
    recorded: put it to the board with `POST /portfolios/{id}/motions`. Nobody decides on what they requested or
    sponsor; approving an unscored candidate needs an `override_reason`; approvals stay within the envelope."""
    command = _decision(body, principal.subject)
    currency = await _currency_of(request, portfolio_id)

    async def action(uow: UnitOfWork) -> Response:
        decision, version = await commands.decide_investment(uow, portfolio_id, command)
        location = f"/portfolios/{portfolio_id}/decisions/{decision['id']}"
        view = DecisionView.model_validate(spoken(decision, currency)).model_dump(mode="json")
        return answer(view, version, status_code=201, location=location)

    return await run_command(request, principal, action)


@router.post(
    "/portfolios/{portfolio_id}/motions",
    status_code=201,
    tags=["board"],
    summary="Put a candidate's decision to the board's vote",
    response_model=MotionView,
    responses=answers(403, 404, 409, status=201, etag=True, location=True, notes={**NOT_FOUND, **RULES, **FORBIDDEN}),
    **allow("board_member", owner=PORTFOLIO_BOARD),
)
async def move_investment(
    portfolio_id: PathId,
    body: DecisionRequest,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A board member of THIS portfolio moves the decision as a motion and votes for it; the others vote
    (`POST .../motions/{id}/votes`) until the charter's rule is met, the motion is defeated, or it lapses at its
    deadline. The requester and sponsor are recorded as conflicted: their votes are refused."""
    command = _decision(body, principal.subject)

    async def action(uow: UnitOfWork) -> Response:
        motion, version = await commands.move_investment(uow, portfolio_id, command)
        location = f"/portfolios/{portfolio_id}/motions/{motion['id']}"
        view = MotionView.model_validate(motion).model_dump(mode="json")
        return answer(view, version, status_code=201, location=location)

    return await run_command(request, principal, action)


def _decision(body: DecisionRequest, who: str) -> DecideInvestment:
    return DecideInvestment(
        candidate_id=body.candidate_id,
        outcome=OUTCOME_VERBS[body.outcome],
        rationale=body.rationale,
        decided_by=who,
        decided_at=datetime.now(UTC),
        approved_budget=tuple(p.value() for p in body.approved_budget),
        review_on=body.review_on.isoformat() if body.review_on else None,
        override_reason=body.override_reason,
        project_manager=body.project_manager,
        programme_id=body.programme_id,
        join_requested_programme=body.join_requested_programme,
        exceeds_request_reason=body.exceeds_request_reason,
    )


@router.get(
    "/portfolios/{portfolio_id}/decisions",
    tags=["decisions"],
    summary="List the board's decisions, oldest first",
    response_model=DecisionPage,
    **allow("viewer"),
)
async def list_decisions(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    candidate_id: Annotated[str | None, Query(max_length=64)] = None,
) -> DecisionPage:
    """The decision audit trail, oldest first: who, when, why, and the evidence in front of the board."""
    after = paging.after(1)
    position = after[0] if after else None
    if position is not None and not isinstance(position, int):
        raise bad_cursor()
    rows = await queries.list_decisions(
        service_runtime(request).db, portfolio_id, candidate_id, paging.limit + 1, position
    )
    page, next_cursor = keyset_page(rows, paging, key=lambda row: [row[0]])
    currency = await _currency_of(request, portfolio_id)
    items = [spoken(d, currency) for _, d in page]
    return DecisionPage.model_validate({"items": items, "next_cursor": next_cursor})


@router.get(
    "/portfolios/{portfolio_id}/decisions/{decision_id}",
    tags=["decisions"],
    summary="Read one board decision",
    response_model=DecisionView,
    responses=answers(404, notes={404: "no such decision in this portfolio"}),
    **allow("viewer"),
)
async def read_decision(
    portfolio_id: PathId, decision_id: PathId, _principal: CurrentPrincipal, request: Request
) -> DecisionView:
    found = await queries.get_decision(service_runtime(request).db, portfolio_id, decision_id)
    if found is None:
        raise Problem(404, "not-found", f"no decision {decision_id} in portfolio {portfolio_id}")
    return DecisionView.model_validate(spoken(found, await _currency_of(request, portfolio_id)))


def _in_currency(candidate: dict[str, Any], currency: str) -> dict[str, Any]:
    """A candidate's amounts at its portfolio's currency scale."""
    shown = {**candidate, "costs": amounts_of(candidate["costs"], currency)}
    if candidate.get("decision"):
        decision = candidate["decision"]
        shown["decision"] = spoken({"id": decision["decision_id"], **decision}, currency)
    return shown


async def _currency_of(request: Request, portfolio_id: str) -> str | None:
    """The portfolio's currency (it never changes); None for a portfolio not known here (its lists are empty)."""
    try:
        return (await funding.load_portfolio(service_runtime(request).db, portfolio_id))[0].currency
    except NotFound:
        return None

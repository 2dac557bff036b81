"""HTTP API of programmes: create, read (with its status rolled up), list, tranches and their reviews,
projects joining by decision, the programme manager's status report, the benefits map."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import BenefitProfilePoint, ProgrammeRag
from pmo_events.runtime import UnitOfWork
from pmo_portfolio.programmes import commands, queries
from pmo_portfolio.programmes import domain as programme_rules
from pmo_portfolio.programmes.domain import BenefitPlan, Programme, ProgrammeDefinition, TranchePlan
from pmo_portfolio.programmes.responses import ProgrammePage, ProgrammeView
from pmo_portfolio.programmes.schemas import (
    ContributionBody,
    ProgrammeBenefitBody,
    ProgrammeCreate,
    ProgrammeJoin,
    ProgrammeStatusBody,
    TranchePlanBody,
    TrancheReviewBody,
)
from pmo_portfolio.shared.errors import NotFound
from pmo_portfolio.shared.http import ANALYST, PROGRAMME_LEADER
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, PathText, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

#: Tranches, the tranche review, the programme's projects and status: its leaders (the domain says which).
LEADER = allow("viewer", owner=PROGRAMME_LEADER)
router = APIRouter(tags=["programmes"], route_class=FlatRoute)
NOT_FOUND = {404: "no such programme (or tranche, or programme benefit)"}
RULES = {
    403: "only the SRO (reviews), the programme manager (status) or either (tranches, projects) may",
    409: "the programme is closed, or a rule forbids it (`ring-fence-exceeded`, `envelope-exceeded`)",
}
Answer = Callable[[UnitOfWork], Awaitable[tuple[dict[str, Any], int]]]


def _now() -> datetime:
    return datetime.now(UTC)


async def _changed(request: Request, principal: Principal, work: Answer) -> Response:
    return await run_command(request, principal, lambda uow: answered(typed(ProgrammeView, work(uow))))


def _rule(programme_id: str, rule: Callable[[Programme], list[Event]], if_match: int | None) -> Answer:
    return lambda uow: commands.change_programme(uow, programme_id, rule, if_match=if_match)


@router.post(
    "/programmes",
    status_code=201,
    summary="Create a programme in a portfolio",
    response_model=ProgrammeView,
    responses=answers(404, 409, status=201, etag=True, location=True, notes={404: "no such portfolio", **RULES}),
    **ANALYST,
)
async def create_programme(
    body: ProgrammeCreate, principal: CurrentPrincipal, request: Request, _key: IdempotencyKeyHeader = None
) -> Response:
    """The ring-fence per fiscal period is a share of the portfolio's envelope: with the portfolio's other
    open programmes' ring-fences it may not exceed the envelope (409 `envelope-exceeded` naming the period).
    Objectives must be active strategic objectives."""
    programme_id = str(uuid.uuid4())
    definition = ProgrammeDefinition(
        name=body.name,
        vision=body.vision,
        senior_responsible_owner=body.senior_responsible_owner,
        programme_manager=body.programme_manager,
        objective_ids=tuple(body.objective_ids),
        ring_fence=tuple(line.value() for line in body.ring_fence),
    )
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(
                ProgrammeView,
                commands.create_programme(uow, programme_id, body.portfolio_id, definition, principal.subject, _now()),
            ),
            status_code=201,
            location=f"/programmes/{programme_id}",
        ),
    )


@router.get("/programmes", summary="List the programmes", response_model=ProgrammePage, **allow("viewer"))
async def list_programmes(
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    portfolio_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Literal["active", "closed"] | None = None,
) -> ProgrammePage:
    """Programmes in id order, filtered by portfolio and status."""
    items = await queries.list_programmes(
        service_runtime(request).db,
        portfolio_id=portfolio_id,
        status=status,
        limit=paging.limit + 1,
        after=paging.after_id(),
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return ProgrammePage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/programmes/{programme_id}",
    summary="Read a programme with its rolled-up status",
    response_model=ProgrammeView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_programme(
    programme_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    """Its ring-fence (held, drawn, remaining), tranches, projects, and its status: the worst RAG of its
    projects' latest reports, their earned value summed, and the programme manager's own report."""
    view, version = await queries.read_programme(service_runtime(request).db, programme_id)
    response.headers["ETag"] = etag(version)
    return {**view, "version": version}


@router.post(
    "/programmes/{programme_id}/tranches",
    summary="Plan the programme's next tranche",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def plan_tranche(
    programme_id: PathId,
    body: TranchePlanBody,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A tranche starts after the previous one ends and groups projects already in the programme."""
    plan = TranchePlan(str(uuid.uuid4()), body.name, body.start, body.end, tuple(body.project_ids))

    def rule(programme: Programme) -> list[Event]:
        return programme_rules.plan_tranche(programme, plan, principal.subject, _now())

    return await _changed(request, principal, _rule(programme_id, rule, if_match))


@router.put(
    "/programmes/{programme_id}/tranches/{tranche_id}",
    summary="Plan a tranche again after a re-plan",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def replace_tranche(
    programme_id: PathId,
    tranche_id: PathId,
    body: TranchePlanBody,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """New dates and projects for a tranche not yet closed (one sent back by a `re_plan` review opens again)."""
    plan = TranchePlan(tranche_id, body.name, body.start, body.end, tuple(body.project_ids))

    def rule(programme: Programme) -> list[Event]:
        if tranche_id not in programme.tranches:
            raise NotFound(f"tranche {tranche_id} of programme {programme_id}")
        return programme_rules.plan_tranche(programme, plan, principal.subject, _now())

    return await _changed(request, principal, _rule(programme_id, rule, if_match))


@router.post(
    "/programmes/{programme_id}/tranches/{tranche_id}/review",
    summary="Decide the end-of-tranche review",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def review_tranche(
    programme_id: PathId,
    tranche_id: PathId,
    body: TrancheReviewBody,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The SRO records the programme board's decision: `continue` (the tranche closes), `re_plan` (plan it
    again, then review it) or `close_programme`. Tranches are reviewed in order."""

    def rule(programme: Programme) -> list[Event]:
        return programme_rules.review_tranche(
            programme, tranche_id, body.decision, body.rationale, principal.subject, _now()
        )

    return await _changed(request, principal, _rule(programme_id, rule, if_match))


@router.post(
    "/programmes/{programme_id}/projects",
    summary="Bring a project into the programme",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def join_programme(
    programme_id: PathId,
    body: ProgrammeJoin,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The SRO or programme manager decides, with a rationale, that a live project of the same portfolio
    (in no other programme) joins; its budget draws on the ring-fence (409 `ring-fence-exceeded`).
    A project can also join at approval: the board's decision names `programme_id`."""
    return await _changed(
        request,
        principal,
        lambda uow: commands.join_programme(
            uow, programme_id, body.project_id, body.rationale, principal.subject, _now()
        ),
    )


@router.post(
    "/programmes/{programme_id}/status-reports",
    summary="Record the programme manager's status report",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def record_programme_status(
    programme_id: PathId,
    body: ProgrammeStatusBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The programme manager's own RAG and summary, shown next to the status rolled up from the projects."""
    rag = ProgrammeRag(**body.rag.model_dump())
    report_id = str(uuid.uuid4())

    def rule(programme: Programme) -> list[Event]:
        return programme_rules.report_status(
            programme, report_id, body.period_end, rag, body.summary, principal.subject, _now()
        )

    return await _changed(request, principal, _rule(programme_id, rule, None))


def _benefit_plan(benefit_id: str, body: ProgrammeBenefitBody) -> BenefitPlan:
    profile = tuple(BenefitProfilePoint(on=p.on, planned_value=p.planned_value) for p in body.profile)
    return BenefitPlan(benefit_id, body.description, body.owner, body.unit, profile)


@router.post(
    "/programmes/{programme_id}/benefits",
    summary="Put a benefit on the programme's benefits map",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def define_programme_benefit(
    programme_id: PathId,
    body: ProgrammeBenefitBody,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """The SRO or programme manager names the benefit, the person who owns its realisation, its unit and its
    realisation profile: the value planned to be realised in total by each date (dates forward, values never
    down). The answer's `benefits_map` gives the new benefit's `benefit_id`."""
    plan = _benefit_plan(str(uuid.uuid4()), body)

    def rule(programme: Programme) -> list[Event]:
        return programme_rules.define_benefit(programme, plan, principal.subject, _now())

    return await _changed(request, principal, _rule(programme_id, rule, if_match))


@router.put(
    "/programmes/{programme_id}/benefits/{benefit_id}",
    summary="Restate a benefit of the programme's benefits map",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def restate_programme_benefit(
    programme_id: PathId,
    benefit_id: PathText,
    body: ProgrammeBenefitBody,
    principal: CurrentPrincipal,
    request: Request,
    if_match: IfMatch = None,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A new description, owner or profile (its contributions stay; the unit changes only while none feeds it)."""
    plan = _benefit_plan(benefit_id, body)

    def rule(programme: Programme) -> list[Event]:
        if benefit_id not in programme.benefits:
            raise NotFound(f"benefit {benefit_id} of programme {programme_id}")
        return programme_rules.define_benefit(programme, plan, principal.subject, _now())

    return await _changed(request, principal, _rule(programme_id, rule, if_match))


@router.post(
    "/programmes/{programme_id}/benefits/{benefit_id}/contributions",
    summary="Feed a programme benefit with a share of a project benefit",
    response_model=ProgrammeView,
    responses=answers(403, 404, 409, etag=True, notes={**NOT_FOUND, **RULES}),
    **LEADER,
)
async def set_benefit_contribution(
    programme_id: PathId,
    benefit_id: PathText,
    body: ContributionBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """A planned benefit of one of the programme's projects, measured in the programme benefit's unit, gives
    it `share` (more than 0, at most 1) of what it realises; set again, the share is replaced. Across the
    programme's benefits a project benefit gives at most 1 (422 naming `share`)."""
    return await _changed(
        request,
        principal,
        lambda uow: commands.set_benefit_contribution(
            uow,
            programme_id,
            benefit_id,
            body.project_id,
            body.project_benefit_id,
            body.share,
            by=principal.subject,
            at=_now(),
        ),
    )

"""HTTP API of the RAID log: raise risks, assumptions and issues at a project, a programme or the portfolio;
score, respond, act, validate, close; escalation by tolerance and delegation back; the risk heatmap."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import LevelTolerance, RaidAction
from pmo_portfolio.raid import commands, queries
from pmo_portfolio.raid import domain as raid_rules
from pmo_portfolio.raid.domain import Ladder, RaidItem, RaiseItem
from pmo_portfolio.raid.responses import RaidItemPage, RaidItemView, RiskHeatmap, TolerancesView
from pmo_portfolio.raid.schemas import (
    AssumptionCheck,
    Closing,
    RaidItemCreate,
    Rationale,
    RiskAssessment,
    RiskResponseBody,
    TolerancesBody,
)
from pmo_portfolio.shared.errors import NotAuthorised
from pmo_portfolio.shared.http import ANALYST, RAID_OWNER
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal, Principal
from pmo_servicekit.commands import run_command
from pmo_servicekit.contract.paging import Paging, keyset_page
from pmo_servicekit.contract.responses import answers, typed
from pmo_servicekit.http import IfMatch, PathId, answered, etag, service_runtime
from pmo_servicekit.idempotency import IdempotencyKeyHeader
from pmo_servicekit.routing import FlatRoute

#: Changing an item: its owner, or a pmo_analyst or admin.
ITEM_OWNER = allow("viewer", owner=RAID_OWNER, exempt=["pmo_analyst", "admin"])
router = APIRouter(tags=["raid"], route_class=FlatRoute)
NOT_FOUND = {404: "no such RAID item in this portfolio"}
RULES = {403: "only the item's owner or an analyst", 409: "the item is closed, or not of that kind"}
CHANGE: dict[str, Any] = {
    "response_model": RaidItemView,
    "responses": answers(403, 404, 409, 412, etag=True, notes={**NOT_FOUND, **RULES}),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _owner_or_analyst(item: RaidItem, principal: Principal) -> None:
    if principal.subject != item.owner and not principal.has_any("pmo_analyst", "admin"):
        raise NotAuthorised(f"only the owner ({item.owner}) or an analyst may change RAID item {item.raid_item_id}")


async def _change(
    request: Request,
    principal: Principal,
    portfolio_id: str,
    raid_item_id: str,
    decide: Any,
    if_match: int | None,
) -> Response:
    def rule(item: RaidItem, ladder: Ladder) -> Sequence[Event]:
        _owner_or_analyst(item, principal)
        return decide(item, ladder)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(RaidItemView, commands.change_item(uow, portfolio_id, raid_item_id, rule, if_match=if_match))
        ),
    )


@router.post(
    "/portfolios/{portfolio_id}/raid-items",
    status_code=201,
    summary="Raise a risk, assumption or issue",
    response_model=RaidItemView,
    responses=answers(404, status=201, etag=True, location=True, notes={404: "no such portfolio"}),
    **allow("viewer"),
)
async def create_raid_item(
    portfolio_id: PathId, body: RaidItemCreate, principal: CurrentPrincipal, request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """A risk is scored 1..5 for probability and impact (score = their product); an issue has a priority. An
    item whose score (or cost impact) exceeds its level's tolerance escalates at once: a project's to its
    programme (or the portfolio), a programme's to the portfolio (`RaidItemEscalated`)."""
    raid_item_id = str(uuid.uuid4())
    command = RaiseItem(raid_item_id=raid_item_id, raised_by=principal.subject, raised_at=_now(), **body.model_dump())
    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(RaidItemView, commands.raise_item(uow, portfolio_id, command)),
            status_code=201,
            location=f"/portfolios/{portfolio_id}/raid-items/{raid_item_id}",
        ),
    )


@router.get(
    "/portfolios/{portfolio_id}/raid-items", summary="List the RAID log", response_model=RaidItemPage, **allow("viewer")
)
async def list_raid_items(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    paging: Paging,
    kind: Literal["risk", "assumption", "issue"] | None = None,
    level: Literal["project", "programme", "portfolio"] | None = None,
    level_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["open", "closed"] | None = None,
    escalated: bool | None = None,
) -> RaidItemPage:
    """By id; `level` and `level_id` say where an item sits now (an escalated item is visible at the higher
    level); `escalated=true` lists what came up from below."""
    filters = {"kind": kind, "level": level, "level_id": level_id, "status": status, "escalated": escalated}
    items = await queries.list_items(
        service_runtime(request).db, portfolio_id, filters, paging.limit + 1, paging.after_id(), _now().date()
    )
    page, next_cursor = keyset_page(items, paging, key=lambda item: [item["id"]])
    return RaidItemPage.model_validate({"items": page, "next_cursor": next_cursor})


@router.get(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}",
    summary="Read a RAID item with its score history",
    response_model=RaidItemView,
    responses=answers(404, etag=True, notes=NOT_FOUND),
    **allow("viewer"),
)
async def read_raid_item(
    portfolio_id: PathId, raid_item_id: PathId, _principal: CurrentPrincipal, request: Request, response: Response
) -> dict[str, Any]:
    view, version = await queries.get_item(service_runtime(request).db, portfolio_id, raid_item_id, _now().date())
    response.headers["ETag"] = etag(version)
    return view


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/assessments",
    summary="Score a risk again",
    **CHANGE,
    **ITEM_OWNER,
)
async def assess_risk(
    portfolio_id: PathId, raid_item_id: PathId, body: RiskAssessment, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """The new score joins the history; beyond the level's tolerance the risk escalates."""

    def decide(item: RaidItem, ladder: Ladder) -> list[Event]:
        return raid_rules.assess(item, body.probability, body.impact, body.rationale, principal.subject, _now(),
                                 ladder, body.proximity, body.cost_impact)  # fmt: skip

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/response",
    summary="Plan a risk's response and actions",
    **CHANGE,
    **ITEM_OWNER,
)
async def plan_risk_response(
    portfolio_id: PathId, raid_item_id: PathId, body: RiskResponseBody, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Avoid, reduce, transfer, accept or exploit, with actions (owner, due date); replaces the earlier plan."""
    actions = tuple(
        RaidAction(action_id=str(uuid.uuid4()), description=a.description, owner=a.owner, due_on=a.due_on)
        for a in body.actions
    )

    def decide(item: RaidItem, _ladder: Ladder) -> list[Event]:
        return raid_rules.plan_response(item, body.response, actions, principal.subject, _now())

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/actions/{action_id}/complete",
    summary="Complete a risk action",
    **CHANGE,
    **ITEM_OWNER,
)
async def complete_raid_action(
    portfolio_id: PathId, raid_item_id: PathId, action_id: PathId, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    def decide(item: RaidItem, _ladder: Ladder) -> list[Event]:
        return raid_rules.complete_action(item, action_id, principal.subject, _now())

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/delegate",
    summary="Delegate an escalated item back down",
    **CHANGE,
    **ITEM_OWNER,
)
async def delegate_raid_item(
    portfolio_id: PathId, raid_item_id: PathId, body: Rationale, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    """Back to the level it was raised at, with a rationale (`RaidItemDelegated`)."""

    def decide(item: RaidItem, _ladder: Ladder) -> list[Event]:
        return raid_rules.delegate(item, body.rationale, principal.subject, _now())

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/validation",
    summary="Record an assumption's validation",
    **CHANGE,
    **ITEM_OWNER,
)
async def validate_assumption(
    portfolio_id: PathId, raid_item_id: PathId, body: AssumptionCheck, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    def decide(item: RaidItem, _ladder: Ladder) -> list[Event]:
        return raid_rules.validate_assumption(item, body.valid, body.note, principal.subject, _now())

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.post(
    "/portfolios/{portfolio_id}/raid-items/{raid_item_id}/close",
    summary="Close a RAID item with its resolution",
    **CHANGE,
    **ITEM_OWNER,
)
async def close_raid_item(
    portfolio_id: PathId, raid_item_id: PathId, body: Closing, principal: CurrentPrincipal, request: Request,
    if_match: IfMatch = None, _key: IdempotencyKeyHeader = None,
) -> Response:  # fmt: skip
    def decide(item: RaidItem, _ladder: Ladder) -> list[Event]:
        return raid_rules.close(item, body.resolution, principal.subject, _now())

    return await _change(request, principal, portfolio_id, raid_item_id, decide, if_match)


@router.get(
    "/portfolios/{portfolio_id}/risk-heatmap",
    summary="Read the risk heatmap",
    response_model=RiskHeatmap,
    **allow("viewer"),
)
async def read_risk_heatmap(
    portfolio_id: PathId,
    _principal: CurrentPrincipal,
    request: Request,
    level: Literal["project", "programme", "portfolio"] | None = None,
    level_id: Annotated[str | None, Query(max_length=64)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RiskHeatmap:
    """Open risks where they sit now (filter by `level`, `level_id`): 5x5 counts and items, the top by score."""
    return RiskHeatmap.model_validate(
        await queries.heatmap(service_runtime(request).db, portfolio_id, level, level_id, top)
    )


@router.put(
    "/portfolios/{portfolio_id}/raid-tolerances",
    summary="Set the RAID escalation tolerances",
    response_model=TolerancesView,
    responses=answers(404, notes={404: "no such portfolio"}),
    **ANALYST,
)
async def replace_raid_tolerances(
    portfolio_id: PathId,
    body: TolerancesBody,
    principal: CurrentPrincipal,
    request: Request,
    _key: IdempotencyKeyHeader = None,
) -> Response:
    """Above the project's score (1..25) or cost an item escalates from a project; above the programme's, from a
    programme to the portfolio. Until set: 12 and 16, no cost limit. Applies to the next score or change."""
    project = LevelTolerance(score=body.project.score, cost=body.project.cost)
    programme = LevelTolerance(score=body.programme.score, cost=body.programme.cost)

    return await run_command(
        request,
        principal,
        lambda uow: answered(
            typed(
                TolerancesView,
                commands.set_tolerances(uow, portfolio_id, project, programme, principal.subject, _now()),
            )
        ),
    )

"""RAID command handlers: load the item and its escalation ladder (the portfolio's tolerances, the project's
programme) → decide → append."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import LevelTolerance, RaidTolerancesSet, StatusReported, raid_tolerances_id
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import AggregateType, UnitOfWork, fold, on_prepared, reacts_to
from pmo_portfolio import delivery, funding, programmes
from pmo_portfolio.raid import domain as raid_rules
from pmo_portfolio.raid.domain import DEFAULT_TOLERANCES, Ladder, RaidItem, RaiseItem
from pmo_portfolio.raid.queries import item_view, tolerance_view
from pmo_portfolio.shared.errors import InvalidCommand, NotFound


def _today() -> date:
    return datetime.now(UTC).date()


RAID_ITEM = AggregateType("raid_item", raid_rules.initial, raid_rules.evolve, RaidItem)
RaidRule = Callable[[RaidItem, Ladder], Sequence[Event]]


class Tolerances(BaseModel):
    tolerances_id: str
    levels: dict[str, LevelTolerance] = dict(DEFAULT_TOLERANCES)


def _tolerances_evolve(state: Tolerances, event: Event) -> Tolerances:
    if isinstance(event, RaidTolerancesSet):
        return state.model_copy(update={"levels": {"project": event.project, "programme": event.programme}})
    return state


TOLERANCES = AggregateType("raid_tolerances", lambda i: Tolerances(tolerances_id=i), _tolerances_evolve, Tolerances)


async def ladder(uow: UnitOfWork, portfolio_id: str, level: str, level_id: str) -> Ladder:
    tolerances = (await uow.load(TOLERANCES, raid_tolerances_id(portfolio_id))).state
    programme = await programmes.programme_of(uow.session, level_id) if level == "project" else None
    return Ladder(portfolio_id=portfolio_id, programme_of_project=programme, tolerances=tolerances.levels)


async def _check_level(uow: UnitOfWork, portfolio_id: str, level: str, level_id: str) -> None:
    """The item belongs to a project or a programme of this portfolio, or to the portfolio itself."""
    if level == "portfolio":
        if level_id != portfolio_id:
            raise InvalidCommand("level_id", "a portfolio-level item names this portfolio")
        return
    if level == "project":
        project = (await uow.load(delivery.PROJECT, level_id)).state
        found = project.status != "none" and project.portfolio_id == portfolio_id
    else:
        found = await programmes.programme_portfolio(uow.session, level_id) == portfolio_id
    if not found:
        raise InvalidCommand("level_id", f"no {level} {level_id} in portfolio {portfolio_id}")


async def raise_item(uow: UnitOfWork, portfolio_id: str, command: RaiseItem) -> tuple[dict[str, Any], int]:
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    await _check_level(uow, portfolio_id, command.level, command.level_id)
    steps = await ladder(uow, portfolio_id, command.level, command.level_id)
    new_events = raid_rules.raise_item(portfolio_id, command, steps)
    await uow.append(RAID_ITEM, command.raid_item_id, 0, new_events)
    state = fold(RAID_ITEM, raid_rules.initial(command.raid_item_id), new_events)
    view = item_view(state, _today(), portfolio.state.currency)
    return {**view, "version": len(new_events)}, len(new_events)


async def change_item(
    uow: UnitOfWork, portfolio_id: str, raid_item_id: str, rule: RaidRule, *, if_match: int | None = None
) -> tuple[dict[str, Any], int]:
    loaded = await uow.load(RAID_ITEM, raid_item_id)
    if not loaded.state.exists or loaded.state.portfolio_id != portfolio_id:
        raise NotFound(f"RAID item {raid_item_id}")
    loaded.expect(if_match, f"RAID item {raid_item_id}")
    steps = await ladder(uow, portfolio_id, loaded.state.raised_level, loaded.state.raised_level_id)
    new_events = list(rule(loaded.state, steps))
    after = fold(RAID_ITEM, loaded.state, new_events)
    await uow.append(RAID_ITEM, raid_item_id, loaded.version, new_events, after)
    version = loaded.version + len(new_events)
    currency = (await uow.load(funding.PORTFOLIO, portfolio_id)).state.currency
    return {**item_view(after, _today(), currency), "version": version}, version


async def set_tolerances(
    uow: UnitOfWork, portfolio_id: str, project: LevelTolerance, programme: LevelTolerance, by: str, at: datetime
) -> tuple[dict[str, Any], int]:
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    if not portfolio.state.exists:
        raise NotFound(f"portfolio {portfolio_id}")
    if programme.score < project.score:
        raise InvalidCommand("programme.score", "a programme tolerates at least what its projects do")
    stream = raid_tolerances_id(portfolio_id)
    loaded = await uow.load(TOLERANCES, stream)
    event = RaidTolerancesSet(
        tolerances_id=stream, portfolio_id=portfolio_id, project=project, programme=programme, set_by=by, set_at=at
    )
    await uow.append(TOLERANCES, stream, loaded.version, [event])
    currency = portfolio.state.currency
    view = {"portfolio_id": portfolio_id, "project": tolerance_view(project, currency),
            "programme": tolerance_view(programme, currency)}  # fmt: skip
    return view, loaded.version + 1


# It reads only aggregates (the RAID items): it may refuse a report before the report is written.
@on_prepared
@reacts_to(StatusReported)
async def check_reported_raid_items(uow: UnitOfWork, recorded: RecordedEvent) -> None:
    """Policy: a status report refers only to RAID items of its own portfolio (else 422 naming the item, and
    the report is not recorded: this runs in the report's transaction)."""
    if recorded.type != StatusReported.type_name():
        return
    report = recorded.decode()
    if not isinstance(report, StatusReported):
        return
    for index, raid_item_id in enumerate(report.raid_item_ids):
        item = (await uow.load(RAID_ITEM, raid_item_id)).state
        if not item.exists or item.portfolio_id != report.portfolio_id:
            raise InvalidCommand(f"raid_item_ids.{index}", f"no RAID item {raid_item_id} in this portfolio")

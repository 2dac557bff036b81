"""What-if scenarios: optimise on the portfolio as it stands; store the answer only when asked to."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pmo_events.contracts.portfolio import ScenarioPeriodTotal, ScenarioSaved
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_portfolio.application.commands import change_portfolio
from pmo_portfolio.application.queries import load_portfolio
from pmo_portfolio.domain.errors import RuleViolation
from pmo_portfolio.domain.scenario import ScenarioAnswer, frontier, optimise
from pmo_portfolio.domain.scenario_setup import ScenarioRequest, build_question

VALUE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class ScenarioAsk:
    request: ScenarioRequest
    with_frontier: bool = False
    save_as: str | None = None


def _money(value: Decimal) -> str:
    return format(value, "f")


def _limits_view(answer: ScenarioAnswer) -> dict[str, list[dict[str, Any]]]:
    totals = [
        {"fiscal_period": x.fiscal_period, "budget": _money(x.limit), "cost": _money(x.used),
         "remaining": _money(x.limit - x.used)}
        for x in answer.limits if x.kind == "budget"
    ]  # fmt: skip
    capacity = [
        {"role": x.role, "fiscal_period": x.fiscal_period, "capacity": _money(x.limit), "demand": _money(x.used)}
        for x in answer.limits if x.kind == "capacity"
    ]  # fmt: skip
    binding = [
        {"kind": x.kind, "fiscal_period": x.fiscal_period, "role": x.role, "limit": _money(x.limit),
         "used": _money(x.used)}
        for x in answer.limits if x.binding
    ]  # fmt: skip
    return {"totals": totals, "capacity": capacity, "binding_constraints": binding}


def _value(answer: ScenarioAnswer) -> str:
    return _money(Decimal(str(answer.total_value)).quantize(VALUE_PLACES))


def _answer_view(answer: ScenarioAnswer, titles: dict[str, str]) -> dict[str, Any]:
    return {
        "feasible": answer.feasible,
        "selected": [{"id": c, "title": titles.get(c, "")} for c in answer.selected],
        "total_value": _value(answer),
        "proven_optimal": answer.proven_optimal,
        "optimality_gap": f"{answer.gap:.6f}",
        **_limits_view(answer),
    }


async def run_scenario(runtime: CommandRuntime, portfolio_id: str, ask: ScenarioAsk, meta: Metadata) -> dict[str, Any]:
    state, version, weights = await load_portfolio(runtime.db, portfolio_id)
    question = build_question(state, ask.request, weights)
    answer = await asyncio.to_thread(optimise, question)
    if not answer.feasible:
        raise RuleViolation(
            "no selection satisfies the scenario: the forced-in candidates (and approved projects kept in) "
            "break a budget or capacity limit, or a dependency or exclusion contradicts them"
        )
    titles = {c.candidate_id: c.title for c in state.candidates.values()}
    body: dict[str, Any] = {"portfolio_id": portfolio_id, "as_of_version": version, "value": ask.request.value}
    body.update(_answer_view(answer, titles))
    if ask.with_frontier:
        points = await asyncio.to_thread(frontier, question)
        body["frontier"] = [
            {"budget_level": _money(level), "feasible": point.feasible, "total_value": _value(point),
             "selected": list(point.selected), "budget": _limits_view(point)["totals"]}
            for level, point in points
        ]  # fmt: skip
    body["saved"] = await _save(runtime, portfolio_id, ask, answer, version, meta) if ask.save_as else None
    return body


async def _save(
    runtime: CommandRuntime, portfolio_id: str, ask: ScenarioAsk, answer: ScenarioAnswer, version: int, meta: Metadata
) -> dict[str, Any]:
    saved = ScenarioSaved(
        scenario_id=str(uuid.uuid4()),
        portfolio_id=portfolio_id,
        name=ask.save_as or "",
        saved_by=meta.actor or "",
        saved_at=datetime.now(UTC),
        value_measure=ask.request.value,
        parameters={**_parameters(ask), "as_of_version": version},
        selected=answer.selected,
        total_value=Decimal(_value(answer)),
        totals=tuple(
            ScenarioPeriodTotal(fiscal_period=x.fiscal_period, budget=x.limit, cost=x.used)
            for x in answer.limits
            if x.kind == "budget"
        ),
        binding_constraints=tuple(f"{x.kind}:{x.fiscal_period}:{x.role or ''}" for x in answer.limits if x.binding),
    )
    await change_portfolio(runtime, portfolio_id, lambda _state, _weights: [saved], meta)
    return {"id": saved.scenario_id, "name": saved.name, "saved_at": saved.saved_at.isoformat()}


def _parameters(ask: ScenarioAsk) -> dict[str, Any]:
    request = asdict(ask.request)
    request["budget"] = {k: _money(v) for k, v in (ask.request.budget or {}).items()} or None
    request["capacity"] = [
        {"role": c.role, "fiscal_period": c.fiscal_period, "fte": _money(c.fte)} for c in ask.request.capacity
    ]
    request["frontier"] = ask.with_frontier
    return request

"""Saving a scenario: the question asked and the optimal answer at that moment, kept as an event."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pmo_events.contracts.portfolio import ScenarioPeriodTotal, ScenarioSaved
from pmo_events.runtime import UnitOfWork
from pmo_portfolio import funding
from pmo_portfolio.scenarios.domain.optimiser import ScenarioAnswer
from pmo_portfolio.scenarios.queries import ScenarioAsk, money, total_value


async def save_scenario(
    uow: UnitOfWork, portfolio_id: str, ask: ScenarioAsk, answer: ScenarioAnswer, version: int
) -> tuple[dict[str, Any], int]:
    """Keep the scenario (asked on the portfolio at `version`) on the portfolio's stream; answer the portfolio's
    version after it."""
    saved = ScenarioSaved(
        scenario_id=str(uuid.uuid4()),
        portfolio_id=portfolio_id,
        name=ask.save_as or "",
        saved_by=uow.meta.actor or "",
        saved_at=datetime.now(UTC),
        value_measure=ask.request.value,
        parameters={**_parameters(ask), "as_of_version": version},
        selected=answer.selected,
        total_value=Decimal(total_value(answer)),
        totals=tuple(
            ScenarioPeriodTotal(fiscal_period=x.fiscal_period, budget=x.limit, cost=x.used)
            for x in answer.limits
            if x.kind == "budget"
        ),
        binding_constraints=tuple(f"{x.kind}:{x.fiscal_period}:{x.role or ''}" for x in answer.limits if x.binding),
    )
    changed = await funding.apply_to_portfolio(uow, portfolio_id, lambda _state: [saved])
    return {"id": saved.scenario_id, "name": saved.name, "saved_at": saved.saved_at.isoformat()}, changed.version


def _parameters(ask: ScenarioAsk) -> dict[str, Any]:
    request = asdict(ask.request)
    request["budget"] = {k: money(v) for k, v in (ask.request.budget or {}).items()} or None
    request["capacity"] = [
        {"role": c.role, "fiscal_period": c.fiscal_period, "fte": money(c.fte)} for c in ask.request.capacity
    ]
    request["frontier"] = ask.with_frontier
    return request

"""What-if scenarios: optimise on the portfolio as it stands; the saved ones, in the order they were saved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pmo_events.envelope import loads
from pmo_events.runtime import Database, EventStore
from pmo_portfolio.calendar import calendar_in
from pmo_portfolio.candidates import scorecard
from pmo_portfolio.funding import load_portfolio_in
from pmo_portfolio.scenarios.domain.optimiser import ScenarioAnswer
from pmo_portfolio.scenarios.domain.question import ScenarioRequest, build_question
from pmo_portfolio.scenarios.views import scenarios
from pmo_portfolio.shared.errors import RuleViolation
from pmo_servicekit.contract.wire import fte_text, money_text, ratio_text
from pmo_servicekit.worker_process import WorkerProcess

#: The module whose `optimise` and `frontier` the solver process runs (numpy, scipy and HiGHS live there only).
OPTIMISER = "pmo_portfolio.scenarios.domain.optimiser"
#: The scenario solver's process: started by the first scenario, gone after PMO_WORKER_IDLE_SECONDS idle.
SOLVER = WorkerProcess("scenario-solver", warm_up=(OPTIMISER, "warm_up"))

VALUE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class ScenarioAsk:
    request: ScenarioRequest
    with_frontier: bool = False
    save_as: str | None = None


def money(value: Decimal) -> str:
    return format(value, "f")


def _limits_view(answer: ScenarioAnswer, currency: str) -> dict[str, list[dict[str, Any]]]:
    def cash(value: Decimal) -> str:
        return money_text(value, currency)

    totals = [
        {"fiscal_period": x.fiscal_period, "budget": cash(x.limit), "cost": cash(x.used),
         "remaining": cash(x.limit - x.used)}
        for x in answer.limits if x.kind == "budget"
    ]  # fmt: skip
    capacity = [
        {"role": x.role, "fiscal_period": x.fiscal_period, "capacity": fte_text(x.limit), "demand": fte_text(x.used)}
        for x in answer.limits if x.kind == "capacity"
    ]  # fmt: skip
    binding = [
        {"kind": x.kind, "fiscal_period": x.fiscal_period, "role": x.role,
         "limit": cash(x.limit) if x.kind == "budget" else fte_text(x.limit),
         "used": cash(x.used) if x.kind == "budget" else fte_text(x.used)}
        for x in answer.limits if x.binding
    ]  # fmt: skip
    return {"totals": totals, "capacity": capacity, "binding_constraints": binding}


def total_value(answer: ScenarioAnswer) -> str:
    return money(Decimal(str(answer.total_value)).quantize(VALUE_PLACES))


def _answer_view(answer: ScenarioAnswer, titles: dict[str, str], currency: str) -> dict[str, Any]:
    return {
        "feasible": answer.feasible,
        "selected": [{"id": c, "title": titles.get(c, "")} for c in answer.selected],
        "total_value": total_value(answer),
        "proven_optimal": answer.proven_optimal,
        "optimality_gap": ratio_text(Decimal(str(answer.gap))),
        **_limits_view(answer, currency),
    }


async def run_scenario(
    db: Database, store: EventStore, portfolio_id: str, ask: ScenarioAsk
) -> tuple[dict[str, Any], ScenarioAnswer, int]:
    """The best selection (and the frontier when asked), with the portfolio version it was computed on."""
    async with db.sessions() as session:
        state, version = await load_portfolio_in(session, portfolio_id)
        board_scores = await scorecard(session, portfolio_id)
        calendar = await calendar_in(session, store)
    question = build_question(state, ask.request, board_scores, calendar)
    answer = await SOLVER.run(OPTIMISER, "optimise", question)
    if not answer.feasible:
        raise RuleViolation(
            "no selection satisfies the scenario: the forced-in candidates (and approved projects kept in) "
            "break a budget or capacity limit, or a dependency or exclusion contradicts them"
        )
    titles = {c.candidate_id: c.title for c in state.candidates.values()}
    body: dict[str, Any] = {"portfolio_id": portfolio_id, "as_of_version": version, "value": ask.request.value}
    body.update(_answer_view(answer, titles, state.currency))
    if ask.with_frontier:
        points = await SOLVER.run(OPTIMISER, "frontier", question)
        body["frontier"] = [
            {"budget_level": ratio_text(level), "feasible": point.feasible,
             "total_value": total_value(point), "selected": list(point.selected),
             "budget": _limits_view(point, state.currency)["totals"]}
            for level, point in points
        ]  # fmt: skip
    return body, answer, version


async def list_scenarios(db: Database, portfolio_id: str) -> list[dict[str, Any]]:
    query = select(scenarios.c.payload).where(scenarios.c.portfolio_id == portfolio_id).order_by(scenarios.c.position)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [{"id": loads(r.payload)["scenario_id"], **loads(r.payload)} for r in rows]

"""Scenario optimisation: the MILP optimum against brute force, and every kind of constraint."""

from __future__ import annotations

import itertools
import random
from datetime import date
from decimal import Decimal

import pytest

from pmo_events.contracts.common import RoleEstimate
from pmo_events.figures.fiscal import CALENDAR_YEAR, FiscalCalendar
from pmo_portfolio.candidates.domain import Scorecard
from pmo_portfolio.candidates.domain.decisions import decide
from pmo_portfolio.scenarios.domain.optimiser import ScenarioOption, ScenarioQuestion, frontier, optimise
from pmo_portfolio.scenarios.domain.question import CapacityLine, ScenarioRequest, build_question
from pmo_portfolio.shared.errors import InvalidCommand

from .support import created, given, model_set, registered, scored
from .test_decisions import CARD, SCORED, _decide

PERIODS = ("2027", "2028")
SLOTS = (("dev", "2027"), ("dev", "2028"), ("analyst", "2027"))


def _random_question(rng: random.Random, size: int) -> ScenarioQuestion:
    options = tuple(
        ScenarioOption(
            f"c{i}",
            value=rng.randint(1, 50) / 10,
            costs={p: Decimal(rng.randint(0, 40)) for p in PERIODS},
            demand={s: Decimal(rng.randint(0, 3)) for s in SLOTS},
        )
        for i in range(size)
    )
    ids = [o.candidate_id for o in options]
    pairs = [tuple(rng.sample(ids, 2)) for _ in range(2)]
    return ScenarioQuestion(
        options=options,
        budget={p: Decimal(rng.randint(40, 120)) for p in PERIODS},
        capacity={s: Decimal(rng.randint(2, 8)) for s in SLOTS},
        force_in=frozenset(rng.sample(ids, 1)) if rng.random() < 0.3 else frozenset(),
        force_out=frozenset(rng.sample(ids, 1)) if rng.random() < 0.3 else frozenset(),
        dependencies=(pairs[0],),  # type: ignore[arg-type]
        exclusions=(pairs[1],),  # type: ignore[arg-type]
    )


def _brute_force(question: ScenarioQuestion) -> float | None:
    best = None
    options = question.options
    for picks in itertools.product((0, 1), repeat=len(options)):
        chosen = {o.candidate_id for o, x in zip(options, picks, strict=True) if x}
        if not question.force_in <= chosen or chosen & question.force_out:
            continue
        if any(a in chosen and b not in chosen for a, b in question.dependencies):
            continue
        if any(a in chosen and b in chosen for a, b in question.exclusions):
            continue
        if any(
            sum(o.costs.get(p, 0) for o in options if o.candidate_id in chosen) > b for p, b in question.budget.items()
        ):
            continue
        if any(
            sum(o.demand.get(s, 0) for o in options if o.candidate_id in chosen) > c
            for s, c in question.capacity.items()
        ):
            continue
        value = sum(o.value for o in options if o.candidate_id in chosen)
        best = value if best is None or value > best else best
    return best


@pytest.mark.parametrize("seed", range(25))
def test_the_milp_optimum_equals_brute_force_on_small_random_instances(seed: int) -> None:
    question = _random_question(random.Random(seed), size=rng_size(seed))
    expected = _brute_force(question)
    answer = optimise(question)
    assert answer.feasible == (expected is not None)
    if expected is not None:
        assert answer.total_value == pytest.approx(expected)
        for limit in answer.limits:
            assert limit.used <= limit.limit


def rng_size(seed: int) -> int:
    return 6 + seed % 5  # 6 to 10 candidates: up to 1,024 subsets each


def _option(candidate_id: str, value: float, cost: str, dev: str = "0") -> ScenarioOption:
    return ScenarioOption(candidate_id, value, {"2027": Decimal(cost)}, {("dev", "2027"): Decimal(dev)})


OPTIONS = (_option("a", 5, "60", "2"), _option("b", 4, "50", "1"), _option("c", 3, "40", "1"))


def test_budget_picks_the_best_combination_not_the_greedy_one() -> None:
    answer = optimise(ScenarioQuestion(OPTIONS, {"2027": Decimal(100)}))
    assert set(answer.selected) == {"a", "c"}  # 8 beats b + c (7); greedy by value/cost would pick b, c
    [budget] = answer.limits
    assert (budget.used, budget.binding) == (Decimal(100), True)


def test_force_in_force_out_dependencies_and_exclusions() -> None:
    budget = {"2027": Decimal(100)}
    assert optimise(ScenarioQuestion(OPTIONS, budget, force_in=frozenset({"b"}))).selected == ("b", "c")
    assert set(optimise(ScenarioQuestion(OPTIONS, budget, force_out=frozenset({"a"}))).selected) == {"b", "c"}
    assert optimise(ScenarioQuestion(OPTIONS, budget, dependencies=(("a", "b"),))).selected == ("b", "c")
    generous = {"2027": Decimal(1000)}
    assert optimise(ScenarioQuestion(OPTIONS, generous, exclusions=(("a", "c"),))).selected == ("a", "b")
    impossible = ScenarioQuestion(OPTIONS, budget, force_in=frozenset({"a", "b"}))
    assert not optimise(impossible).feasible


def test_capacity_per_role_and_period_binds() -> None:
    question = ScenarioQuestion(OPTIONS, {"2027": Decimal(1000)}, capacity={("dev", "2027"): Decimal(3)})
    answer = optimise(question)
    assert set(answer.selected) == {"a", "b"}
    capacity = next(limit for limit in answer.limits if limit.kind == "capacity")
    assert (capacity.role, capacity.used, capacity.binding) == ("dev", Decimal(3), True)
    budget = next(limit for limit in answer.limits if limit.kind == "budget")
    assert not budget.binding


def test_the_frontier_runs_from_half_to_one_and_a_half_envelopes_and_never_loses_value() -> None:
    points = frontier(ScenarioQuestion(OPTIONS, {"2027": Decimal(100)}))
    assert [level for level, _ in points] == [Decimal(n) / 100 for n in range(50, 151, 10)]
    values = [answer.total_value for _, answer in points]
    assert values == sorted(values)
    assert values[0] == 4 and values[5] == 8 and values[-1] == 12


def test_the_question_comes_from_the_portfolio_with_approved_projects_kept_in() -> None:

    approved = decide(given(*SCORED), _decide(), CARD)
    state = given(*SCORED, *approved)
    question = build_question(state, ScenarioRequest(), CARD)
    assert question.force_in == frozenset({"c-1"})
    assert {o.candidate_id: o.costs for o in question.options}["c-1"] == {"2027": Decimal(400)}
    assert build_question(state, ScenarioRequest(keep_approved=False), CARD).force_in == frozenset()


def test_benefits_value_capacity_from_resource_estimates_and_registered_dependencies() -> None:
    dev = RoleEstimate(role="dev", fte=Decimal("1.5"), start=date(2027, 2, 1), end=date(2027, 5, 31))
    state = given(
        created(),
        model_set(("value", "1")),
        registered("c-1", benefits=("900", "100"), estimates=(dev,), dependencies=("c-2", "elsewhere")),
        registered("c-2"),
        scored("c-1", "bea", value=3),
    )
    request = ScenarioRequest(
        value="benefits",
        capacity=(CapacityLine("dev", "2027-Q1", Decimal(2)), CapacityLine("dev", "2027-Q3", Decimal(2))),
    )
    question = build_question(state, request, Scorecard())
    options = {o.candidate_id: o for o in question.options}
    assert options["c-1"].value == 1000.0
    assert options["c-1"].demand == {("dev", "2027-Q1"): Decimal("1.5")}
    assert question.dependencies == (("c-1", "c-2"),)


def test_bad_scenario_input_names_the_field() -> None:
    state = given(created(), registered("c-1"))
    with pytest.raises(InvalidCommand) as refused:
        build_question(state, ScenarioRequest(force_in=("c-9",)), Scorecard())
    assert refused.value.field == "force_in.0"
    with pytest.raises(InvalidCommand) as refused:
        build_question(state, ScenarioRequest(capacity=(CapacityLine("dev", "next year", Decimal(1)),)), Scorecard())
    assert refused.value.field == "capacity.0.fiscal_period"
    with pytest.raises(InvalidCommand):
        build_question(state, ScenarioRequest(force_in=("c-1",), force_out=("c-1",)), Scorecard())


@pytest.mark.parametrize(
    ("period", "span"),
    [("2027", (date(2027, 1, 1), date(2027, 12, 31))), ("FY2027-Q4", (date(2027, 10, 1), date(2027, 12, 31))),
     ("2028-H1", (date(2028, 1, 1), date(2028, 6, 30))), ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
     ("someday", None)],
)  # fmt: skip
def test_fiscal_periods_are_dated(period: str, span) -> None:
    dates = CALENDAR_YEAR.span(period)
    assert (dates.start, dates.end) == span if dates else span is None


def test_capacity_periods_follow_the_organisations_fiscal_calendar() -> None:
    """With an April year, FY2027-Q1 is April to June 2027: the estimate (Jan to Mar 2027) misses it."""
    estimate = RoleEstimate(role="dev", fte=Decimal("1.5"), start=date(2027, 1, 1), end=date(2027, 3, 31))
    state = given(created(), registered("c-1", estimates=(estimate,)))
    request = ScenarioRequest(capacity=(CapacityLine("dev", "FY2027-Q1", Decimal(2)),))
    assert build_question(state, request, Scorecard()).options[0].demand == {("dev", "FY2027-Q1"): Decimal("1.5")}
    april = build_question(state, request, Scorecard(), FiscalCalendar(year_start_month=4))
    assert april.options[0].demand == {}


def test_a_candidate_cannot_depend_on_or_exclude_itself() -> None:
    state = given(created(), registered("c-1"), registered("c-2"))
    for field, request in (("dependencies.0", ScenarioRequest(dependencies=(("c-1", "c-1"),))),
                           ("exclusions.0", ScenarioRequest(exclusions=(("c-2", "c-2"),)))):  # fmt: skip
        with pytest.raises(InvalidCommand) as refused:
            build_question(state, request, Scorecard())
        assert refused.value.field == field

"""Scenario optimisation: the set of candidates with the most value under budget and capacity (MILP, HiGHS).

numpy and scipy (some 54 MB of a process's memory, and HiGHS's working memory) are imported by `optimise`,
not when the module is: the service runs `optimise` and `frontier` in a worker process of their own
(`scenarios.queries.SOLVER`), so its own process never imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Slot = tuple[str, str]  # (role, fiscal period)
FRONTIER_LEVELS = tuple(Decimal(n) / 100 for n in range(50, 151, 10))
#: Stop proving optimality once the best selection is within 0.01% of the bound.
RELATIVE_GAP = 1e-4
#: Seconds the solver may spend on one scenario; past that it answers its best selection and the proven gap.
TIME_LIMIT = 1.5
FRONTIER_TIME_LIMIT = 0.4
_TIME_LIMIT_REACHED = 1


@dataclass(frozen=True)
class ScenarioOption:
    """One candidate (or already approved project) as the optimiser sees it."""

    candidate_id: str
    value: float
    costs: dict[str, Decimal]
    demand: dict[Slot, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioQuestion:
    options: tuple[ScenarioOption, ...]
    budget: dict[str, Decimal]
    capacity: dict[Slot, Decimal] = field(default_factory=dict)
    force_in: frozenset[str] = frozenset()
    force_out: frozenset[str] = frozenset()
    #: (a, b): a can only be chosen with b.
    dependencies: tuple[tuple[str, str], ...] = ()
    exclusions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Limit:
    """One budget (role None) or capacity line and how much of it the selection uses."""

    kind: str
    fiscal_period: str
    role: str | None
    limit: Decimal
    used: Decimal
    binding: bool


@dataclass(frozen=True)
class ScenarioAnswer:
    feasible: bool
    selected: tuple[str, ...] = ()
    total_value: float = 0.0
    limits: tuple[Limit, ...] = ()
    #: True when proven optimal (within RELATIVE_GAP); False when the time limit stopped the proof.
    proven_optimal: bool = True
    #: Relative distance between the selection's value and the best bound the solver proved.
    gap: float = 0.0


def _limit_rows(question: ScenarioQuestion, scale: Decimal) -> list[tuple[str, str, str | None, Decimal, list[float]]]:
    periods = sorted(set(question.budget) | {p for o in question.options for p in o.costs})
    rows: list[tuple[str, str, str | None, Decimal, list[float]]] = [
        (
            "budget",
            p,
            None,
            question.budget.get(p, Decimal(0)) * scale,
            [float(o.costs.get(p, 0)) for o in question.options],
        )
        for p in periods
    ]
    rows += [
        ("capacity", period, role, cap, [float(o.demand.get((role, period), 0)) for o in question.options])
        for (role, period), cap in sorted(question.capacity.items())
    ]
    return rows


def optimise(question: ScenarioQuestion, scale: Decimal = Decimal(1), time_limit: float = TIME_LIMIT) -> ScenarioAnswer:
    """Maximise Σ value·x subject to every period's budget * scale, capacity, forced choices and links."""
    options = question.options
    if not options:
        return ScenarioAnswer(feasible=True, limits=_limits(question, scale, ()))
    import numpy as np  # imported when first needed: memory at start (issue 17)
    from scipy.optimize import Bounds, LinearConstraint, milp

    index = {o.candidate_id: i for i, o in enumerate(options)}
    rows = _limit_rows(question, scale)
    matrix = [coefficients for *_, coefficients in rows]
    upper = [float(limit) for _, _, _, limit, _ in rows]
    for needs, needed in question.dependencies:
        matrix.append(_pair(len(options), index[needs], 1.0, index[needed], -1.0))
        upper.append(0.0)
    for one, other in question.exclusions:
        matrix.append(_pair(len(options), index[one], 1.0, index[other], 1.0))
        upper.append(1.0)
    lower_bounds = np.array([1.0 if o.candidate_id in question.force_in else 0.0 for o in options])
    upper_bounds = np.array([0.0 if o.candidate_id in question.force_out else 1.0 for o in options])
    if np.any(lower_bounds > upper_bounds):
        return ScenarioAnswer(feasible=False)
    result = milp(
        c=-np.array([o.value for o in options]),
        integrality=np.ones(len(options)),
        bounds=Bounds(lower_bounds, upper_bounds),
        constraints=[LinearConstraint(np.array(matrix), -np.inf, np.array(upper))] if matrix else [],
        options={"mip_rel_gap": RELATIVE_GAP, "time_limit": time_limit},
    )
    if result.x is None or result.status not in (0, _TIME_LIMIT_REACHED):
        return ScenarioAnswer(feasible=False)
    chosen = tuple(o.candidate_id for o, x in zip(options, result.x, strict=True) if x > 0.5)
    total = sum(o.value for o in options if o.candidate_id in chosen)
    return ScenarioAnswer(
        feasible=True,
        selected=chosen,
        total_value=total,
        limits=_limits(question, scale, chosen),
        proven_optimal=result.status == 0,
        gap=float(getattr(result, "mip_gap", 0.0) or 0.0),
    )


def warm_up() -> None:
    """What the first scenario would import (a new solver process runs this while the first call waits)."""
    import numpy  # noqa: F401
    import scipy.optimize  # noqa: F401


def _pair(size: int, first: int, first_coefficient: float, second: int, second_coefficient: float) -> list[float]:
    row = [0.0] * size
    row[first] += first_coefficient
    row[second] += second_coefficient
    return row


def _limits(question: ScenarioQuestion, scale: Decimal, chosen: Sequence[str]) -> tuple[Limit, ...]:
    """Used amounts, exact in Decimal; a limit binds when it keeps out a candidate that is otherwise free to join."""
    picked = set(chosen)
    outside = [o for o in question.options if o.candidate_id not in picked and _could_join(question, o, picked)]
    limits = []
    for kind, period, role, limit, _ in _limit_rows(question, scale):
        used = sum((_amount(o, kind, period, role) for o in question.options if o.candidate_id in picked), Decimal(0))
        blocks = any(used + _amount(o, kind, period, role) > limit for o in outside if _amount(o, kind, period, role))
        limits.append(Limit(kind, period, role, limit, used, blocks or (used == limit and limit > 0)))
    return tuple(limits)


def _amount(option: ScenarioOption, kind: str, period: str, role: str | None) -> Decimal:
    if kind == "budget":
        return option.costs.get(period, Decimal(0))
    return option.demand.get((role or "", period), Decimal(0))


def _could_join(question: ScenarioQuestion, option: ScenarioOption, picked: set[str]) -> bool:
    """Not forced out, not excluded by a chosen candidate, and whatever it needs is chosen."""
    if option.candidate_id in question.force_out:
        return False
    for one, other in question.exclusions:
        if (one == option.candidate_id and other in picked) or (other == option.candidate_id and one in picked):
            return False
    return all(needed in picked for needs, needed in question.dependencies if needs == option.candidate_id)


def frontier(question: ScenarioQuestion) -> list[tuple[Decimal, ScenarioAnswer]]:
    """The best value at each budget level from 50% to 150% of every period's envelope."""
    return [(level, optimise(question, level, FRONTIER_TIME_LIMIT)) for level in FRONTIER_LEVELS]

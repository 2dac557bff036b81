"""Benchmark (not a test): scenario optimisation on 200 candidates, 5 periods and 10 roles.

Run: `.venv/bin/python services/portfolio/benchmarks/scenario_benchmark.py [--repeat 5] [--seed 7]`.
Prints the solve time of one scenario and of a whole efficient frontier (11 budget levels).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal

from pmo_portfolio.scenarios.domain.optimiser import ScenarioOption, ScenarioQuestion, frontier, optimise

PERIODS = [f"2027-Q{q}" for q in range(1, 5)] + ["2028-Q1"]
ROLES = [f"role-{r}" for r in range(10)]


def realistic_question(rng: random.Random, candidates: int = 200) -> ScenarioQuestion:
    """Costs and demand spread over a few periods and roles; budget and capacity fit about a third."""
    options = []
    for i in range(candidates):
        start = rng.randrange(len(PERIODS))
        active = PERIODS[start : start + rng.randint(1, 3)]
        roles = rng.sample(ROLES, rng.randint(1, 4))
        options.append(
            ScenarioOption(
                f"c{i:03d}",
                value=rng.randint(100, 500) / 100,
                costs={p: Decimal(rng.randint(50, 400) * 1000) for p in active},
                demand={(r, p): Decimal(rng.randint(1, 8)) / 2 for r in roles for p in active},
            )
        )
    per_period = {p: sum(o.costs.get(p, Decimal(0)) for o in options) for p in PERIODS}
    per_slot: dict[tuple[str, str], Decimal] = {}
    for option in options:
        for slot, fte in option.demand.items():
            per_slot[slot] = per_slot.get(slot, Decimal(0)) + fte
    ids = [o.candidate_id for o in options]
    return ScenarioQuestion(
        options=tuple(options),
        budget={p: (total / 3).quantize(Decimal(1)) for p, total in per_period.items()},
        capacity={slot: (total / 2).quantize(Decimal("0.5")) for slot, total in per_slot.items()},
        force_in=frozenset(ids[:3]),
        force_out=frozenset(ids[3:6]),
        dependencies=tuple((ids[i], ids[i + 1]) for i in range(10, 30, 2)),
        exclusions=tuple((ids[i], ids[i + 1]) for i in range(40, 60, 2)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    single, whole = [], []
    for run in range(args.repeat):
        question = realistic_question(random.Random(args.seed + run))
        started = time.perf_counter()
        answer = optimise(question)
        single.append(time.perf_counter() - started)
        started = time.perf_counter()
        frontier(question)
        whole.append(time.perf_counter() - started)
        print(
            f"run {run}: {len(answer.selected)} of 200 selected, value {answer.total_value:.2f}, "
            f"{sum(1 for x in answer.limits if x.binding)} binding limits, "
            f"{'proven optimal' if answer.proven_optimal else f'within {answer.gap:.3%} of the proven bound'}; "
            f"solve {single[-1] * 1000:.0f} ms, frontier {whole[-1] * 1000:.0f} ms"
        )
    print(
        f"200 candidates x 5 periods x 10 roles ({len(question.capacity)} capacity lines): "
        f"solve median {statistics.median(single) * 1000:.0f} ms (max {max(single) * 1000:.0f} ms); "
        f"frontier of 11 levels median {statistics.median(whole) * 1000:.0f} ms (max {max(whole) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()

"""What decoding a stored event costs a replay, per event type of `replay.py`'s history, in CPU µs per event.

For each registered (current) type in the history, over the payloads as a store holds them (the JSON text of
`model_dump(mode="json")`), in-process and without a database:
- `validate_json`: what a replay does today (`EventRegistry.decode_json`: pydantic's JSON validation);
- `orjson.loads`: parsing alone, the floor of any decode from text;
- `loads + construct`: `orjson.loads` and pydantic's `model_construct` of the top level, its nested models left
  as dicts: less than any decode that builds the same contract without validating it would do, so its
  figure is a lower bound for such a decode written in Python.

    .venv/bin/python benchmarks/decode_cost.py [--scale 0.5] [--sample 3000] [--rounds 3]

CPU time (`time.process_time`), the fastest of `--rounds` alternated rounds: the figures hold on a loaded
machine better than wall time does, and the ratios between columns hold best.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from history import generate, scaled

from pmo_events.contracts import registry
from pmo_events.envelope import dumps


def cpu_us(step: Callable[[bytes], Any], texts: list[bytes]) -> float:
    started = time.process_time()
    for text in texts:
        step(text)
    return (time.process_time() - started) / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.5, help="replay.py's history scale (0.5 ≈ 65,500 events)")
    parser.add_argument("--sample", type=int, default=3000, help="payloads of each type decoded per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds; the fastest counts")
    args = parser.parse_args()
    history = generate(scaled(args.scale))
    current = registry.classes()
    texts: dict[str, list[bytes]] = defaultdict(list)
    for event in history:
        if event.type in current:  # the history's made-up status reports are no contract's
            texts[event.type].append(dumps(event.data))
    print(f"history: {len(history)} events; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'type':<42} {'events':>7} {'bytes':>6} {'validate_json':>14} {'orjson.loads':>13} {'loads+construct':>16}")
    by_service: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for type_name, payloads in sorted(texts.items(), key=lambda item: -len(item[1])):
        cls = current[type_name]
        validate = cls.__pydantic_validator__.validate_json
        sample = payloads[: args.sample]
        steps: dict[str, Callable[[bytes], Any]] = {
            "validate": validate,
            "loads": orjson.loads,
            "construct": lambda text, cls=cls: cls.model_construct(**orjson.loads(text)),  # type: ignore[misc]
        }
        best = dict.fromkeys(steps, float("inf"))
        for _ in range(args.rounds):
            for name, step in steps.items():
                best[name] = min(best[name], cpu_us(step, sample))
        size = sum(map(len, payloads)) / len(payloads)
        print(
            f"{type_name:<42} {len(payloads):>7} {size:>6.0f} {best['validate']:>11.1f} µs "
            f"{best['loads']:>10.1f} µs {best['construct']:>13.1f} µs"
        )
        by_service[type_name.split(".")[1]].append((len(payloads), best["validate"], best["loads"]))
    print("\nweighted by the history's events, µs per event (validate_json / orjson.loads):")
    for service, rows in sorted(by_service.items()):
        events = sum(n for n, _, _ in rows)
        validate = sum(n * v for n, v, _ in rows) / events
        loads = sum(n * parse for n, _, parse in rows) / events
        print(f"  {service:<11} {events:>7} events  {validate:5.1f} / {loads:4.1f}")


if __name__ == "__main__":
    main()

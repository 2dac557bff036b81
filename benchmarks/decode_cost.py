"""What decoding a stored event costs a replay, per event type of `replay.py`'s history, in CPU µs per event.

For each registered (current) type in the history, over the payloads as a store holds them (the JSON text of
`model_dump(mode="json")`), in-process and without a database:
- `validate_json`: what a replay does today (`EventRegistry.decode_json`: pydantic's JSON validation);
- `orjson.loads`: parsing alone, the floor of any decode from text;
- `loads + construct`: `orjson.loads` and pydantic's `model_construct` of the top level, its nested models left
  as dicts: less than any decode that builds the same contract without validating it would do, so its
  figure is a lower bound for such a decode written in Python;
- `compiled`: `compiled_decoder.py`'s decoder derived from the contract's core schema (msgspec's checked structs,
  then the same contract made as pydantic-core makes it; pydantic for what the fast path refuses). Every timed
  payload's contract is compared with `validate_json`'s (`same`: type, values' reprs, fields set, nested too);
  a type whose schema it does not translate shows `-`;
- `structs`: msgspec's checked structs alone (decimals and instants left as their text, no contract made): the
  floor of a fold that would read structs instead of the contracts.

`--differential N` also decodes, for the first N payloads of each type, every payload made by putting each of
~30 awkward JSON values (wrong types, `1e999999`, `NaN`, JSON numbers for decimals, naive and offset times, seven
digits of a second, a lone surrogate, ...) in place of each field (nested ones too), dropping each field,
adding an unknown one and repeating a key, with both decoders, and counts where they differ (accepted by one,
refused by the other, or a different contract). `--hypothesis N` has hypothesis generate N payloads of each
type around a stored one (each field kept, dropped or given a generated value: text, decimal and time strings of
any form, integers, floats, booleans, null, lists; unknown fields added; nested objects likewise) and counts the
same.

    .venv/bin/python benchmarks/decode_cost.py [--scale 0.5] [--history delivered] [--sample 3000] [--rounds 3]
        [--differential 20] [--hypothesis 300]

`--history` is `replay.py`'s (`delivered`, the default since session 15, or `legacy`, the default before).
CPU time (`time.process_time`), the fastest of `--rounds` alternated rounds: the figures hold on a loaded
machine better than wall time does, and the ratios between columns hold best.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting" / "benchmarks"))

from compiled_decoder import compile_decoder
from history import generate, scaled

from pmo_events.contracts import registry
from pmo_events.envelope import dumps

#: Values put in place of each field by `--differential` (raw JSON text: `1e999999` is no Python float).
AWKWARD = [
    b"null",
    b"0",
    b"1",
    b"-1",
    b"1.5",
    b"1e5",
    b"1e999999",
    b"-0",
    b"true",
    b"false",
    b'""',
    b'"x"',
    b'"1"',
    b'" 35 "',
    b'"1_000"',
    b'"NaN"',
    b'"Infinity"',
    b'"1e999999"',
    b'"0.10"',
    b'"2024-01-01"',
    b'"2024-01-01T00:00:00"',
    b'"2024-01-01T00:00:00Z"',
    b'"2024-01-01T00:00:00.1234567Z"',
    b'"2024-01-01T00:00:00+01:00"',
    b'"2024-01-01 00:00:00Z"',
    b'"2024-01-01T00:00:00-00:00"',
    b'"2024-02-30"',
    b'"\\ud800"',
    b"[]",
    b"{}",
    b'["x"]',
    b'"green"',
    b'"derived"',
    b"12345678901234567890123",
]


def cpu_us(step: Callable[[bytes], Any], texts: list[bytes]) -> float:
    started = time.process_time()
    for text in texts:
        step(text)
    return (time.process_time() - started) / len(texts) * 1e6


def same(a: Any, b: Any) -> bool:
    """The same value, made the same way: types, reprs (a Decimal's exponent, a time's zone), fields set."""
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        return (
            a.__pydantic_fields_set__ == b.__pydantic_fields_set__
            and a.__pydantic_extra__ == b.__pydantic_extra__
            and a.__pydantic_private__ == b.__pydantic_private__
            and list(a.__dict__) == list(b.__dict__)
            and all(same(x, y) for x, y in zip(a.__dict__.values(), b.__dict__.values(), strict=True))
        )
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return repr(a) == repr(b) and (getattr(a, "tzinfo", None).__class__ is getattr(b, "tzinfo", None).__class__)


def outcome(decode: Callable[[bytes], Any], text: bytes) -> Any:
    try:
        return decode(text)
    except ValidationError as error:
        return ("refused", str(error))


def mutants(text: bytes) -> Iterator[bytes]:
    """`text` with each field (at any depth) replaced by each awkward value, dropped, and with an unknown field
    and a repeated key added; built on the parsed payload with placeholders so the raw values stay raw."""
    data = orjson.loads(text)
    yield text[:-1] + b',"zz_unknown":1}' if text.endswith(b"}") and len(text) > 2 else text
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                paths.append((*path, key))
                walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value[:2]):
                paths.append((*path, index))
                walk(inner, (*path, index))

    walk(data, ())
    for path in paths:
        for raw in (*AWKWARD, None):
            copy = orjson.loads(text)
            parent = copy
            for step in path[:-1]:
                parent = parent[step]
            if raw is None:
                if isinstance(parent, dict):
                    del parent[path[-1]]
                else:
                    continue
            else:
                parent[path[-1]] = "\x00placeholder\x00"
            out = orjson.dumps(copy)
            yield out.replace(b'"\\u0000placeholder\\u0000"', raw) if raw is not None else out
        if len(path) == 1:  # a repeated key: the first value, then the stored one
            yield b'{"' + str(path[0]).encode() + b'":"zz",' + text[1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.5, help="replay.py's history scale (0.5 ≈ 80,000 events)")
    parser.add_argument("--history", choices=("delivered", "legacy"), default="delivered", help="as replay.py's")
    parser.add_argument("--sample", type=int, default=3000, help="payloads of each type decoded per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds; the fastest counts")
    parser.add_argument("--differential", type=int, default=0, help="payloads of each type mutated and compared")
    parser.add_argument("--hypothesis", type=int, default=0, help="generated payloads of each type compared")
    args = parser.parse_args()
    history = generate(replace(scaled(args.scale), delivery=args.history == "delivered"))
    current = registry.classes()
    texts: dict[str, list[bytes]] = defaultdict(list)
    for event in history:
        if event.type in current:  # the legacy history's made-up status reports are no contract's
            texts[event.type].append(dumps(event.data))
    compiled = {name: compile_decoder(cls) for name, cls in current.items()}
    print(
        f"history ({args.history}): {len(history)} events; compiled decoders for {sum(map(bool, compiled.values()))}"
        f" of {len(current)} contracts; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"{'type':<42} {'events':>7} {'bytes':>6} {'validate_json':>14} {'orjson.loads':>13} {'loads+construct':>16}"
        f" {'compiled':>10} {'structs':>9}"
    )
    by_service: dict[str, list[tuple[int, float, float, float]]] = defaultdict(list)
    differ = 0
    for type_name, payloads in sorted(texts.items(), key=lambda item: -len(item[1])):
        cls = current[type_name]
        validate = cls.__pydantic_validator__.validate_json
        decode = compiled[type_name]
        sample = payloads[: args.sample]
        steps: dict[str, Callable[[bytes], Any]] = {
            "validate": validate,
            "loads": orjson.loads,
            "construct": lambda text, cls=cls: cls.model_construct(**orjson.loads(text)),  # type: ignore[misc]
        }
        if decode is not None:
            steps |= {"compiled": decode, "structs": decode.parse}  # type: ignore[attr-defined]
            differ += sum(not same(validate(text), decode(text)) for text in sample)
        best = dict.fromkeys(steps, float("inf"))
        for _ in range(args.rounds):
            for name, step in steps.items():
                best[name] = min(best[name], cpu_us(step, sample))
        size = sum(map(len, payloads)) / len(payloads)
        fast = f"{best['compiled']:>7.1f} µs {best['structs']:>6.1f} µs" if decode else f"{'-':>10} {'-':>9}"
        print(
            f"{type_name:<42} {len(payloads):>7} {size:>6.0f} {best['validate']:>11.1f} µs "
            f"{best['loads']:>10.1f} µs {best['construct']:>13.1f} µs {fast}"
        )
        by_service[type_name.split(".")[1]].append(
            (len(payloads), best["validate"], best["loads"], best.get("compiled", best["validate"]))
        )
    print(f"\ncompiled decoder's contracts differing from validate_json's on the timed payloads: {differ}")
    print(
        "\nweighted by the history's events, µs per event (validate_json / orjson.loads / compiled, `-` types as"
        " validate_json):"
    )
    for service, rows in sorted(by_service.items()):
        events = sum(n for n, *_ in rows)
        validate = sum(n * v for n, v, _, _ in rows) / events
        loads = sum(n * parse for n, _, parse, _ in rows) / events
        fast = sum(n * c for n, _, _, c in rows) / events
        print(f"  {service:<11} {events:>7} events  {validate:5.1f} / {loads:4.1f} / {fast:5.1f}")
    if args.differential:
        checked, refused, fast_taken, mismatched = 0, 0, 0, []
        for type_name, payloads in sorted(texts.items()):
            decode = compiled[type_name]
            if decode is None:
                continue
            validate = current[type_name].__pydantic_validator__.validate_json
            for text in payloads[: args.differential]:
                for mutant in mutants(text):
                    checked += 1
                    expected, got = outcome(validate, mutant), outcome(decode, mutant)
                    if isinstance(expected, tuple):
                        refused += 1
                        if expected != got:
                            mismatched.append((type_name, mutant, expected, got))
                    elif not same(expected, got):
                        mismatched.append((type_name, mutant, expected, got))
                    try:
                        decode.parse(mutant)  # type: ignore[attr-defined]
                        fast_taken += 1
                    except Exception:
                        pass
        print(
            f"\n--differential {args.differential}: {checked:,} payloads, {refused:,} refused by validate_json,"
            f" {fast_taken:,} parsed by msgspec's structs; the decoders differ on {len(mismatched)}"
        )
        for type_name, mutant, expected, got in mismatched[:10]:
            print(
                f"  {type_name}: {mutant[:160]!r}\n    validate_json: {str(expected)[:200]}"
                f"\n    compiled: {str(got)[:200]}"
            )
    if args.hypothesis:
        generated(texts, current, compiled, args.hypothesis)


def generated(texts: dict[str, list[bytes]], current: dict[str, Any], compiled: dict[str, Any], examples: int) -> None:
    """`--hypothesis`: payloads generated around a stored one of each type, decoded by both decoders."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    times = st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat())
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.decimals(allow_nan=True).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
        st.dates().map(lambda d: d.isoformat()),
        times,
        times.map(lambda t: t.replace("+00:00", "Z")),
        st.sampled_from(["green", "amber", "red", "derived", "manual", "proposed", "confirmed", "EUR"]),
        st.lists(st.text(max_size=4), max_size=2),
    )

    def around(value: Any, depth: int = 0) -> st.SearchStrategy[Any]:
        if isinstance(value, dict) and depth < 3:
            fields = {
                key: st.one_of(st.just(inner), around(inner, depth + 1), leaf, st.just(DROP))
                for key, inner in value.items()
            }
            extra = st.dictionaries(st.text(max_size=6), leaf, max_size=2)
            return st.builds(
                lambda kept, added: {**added, **{k: v for k, v in kept.items() if v is not DROP}},
                st.fixed_dictionaries(fields),
                extra,
            )
        if isinstance(value, list) and value and depth < 3:
            return st.lists(around(value[0], depth + 1), max_size=3)
        return st.one_of(st.just(value), leaf)

    checked, refused, differ = 0, 0, []

    def run(type_name: str, validate: Any, decode: Any) -> None:
        @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(around(orjson.loads(texts[type_name][0])))
        def compare(data: Any) -> None:
            nonlocal checked, refused
            text = orjson.dumps(data)
            expected, got = outcome(validate, text), outcome(decode, text)
            checked += 1
            refused += isinstance(expected, tuple)
            if (expected != got) if isinstance(expected, tuple) else not same(expected, got):
                differ.append((type_name, text, expected, got))

        compare()

    for type_name in sorted(texts):
        if compiled[type_name] is not None:
            run(type_name, current[type_name].__pydantic_validator__.validate_json, compiled[type_name])
    print(
        f"\n--hypothesis {examples}: {checked:,} payloads, {refused:,} refused by validate_json;"
        f" the decoders differ on {len(differ)}"
    )
    for type_name, text, expected, got in differ[:10]:
        print(
            f"  {type_name}: {text[:160]!r}\n    validate_json: {str(expected)[:200]}\n    compiled: {str(got)[:200]}"
        )


#: A field `--hypothesis` leaves out.
DROP = object()


if __name__ == "__main__":
    main()

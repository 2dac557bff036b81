"""What one record's signature check costs, by verifier, and whether the checker thread's checks overlap a busy
event loop thread.

Part 1: thread CPU per Ed25519 verification of 400-byte messages with one key, the verifiers alternated in one
process: PyNaCl (libsodium, what `PublicKeyDirectory` uses), `cryptography` (OpenSSL), and, when installed in the
interpreter running this (neither is a dependency), pysodium (the system's libsodium through ctypes) and
py-ed25519-zebra-bindings (ed25519-zebra, Rust: ZIP 215 rules, which accept signatures libsodium refuses).

Part 2: wall time per PyNaCl verification in a thread, alone and beside a thread running pure Python (as the
event loop's thread does while a handler folds), at the default switch interval (5 ms) and at 0.5 ms: libsodium
releases the GIL for the check, but the checking thread needs it back between records.

    .venv/bin/python benchmarks/verify_cost.py [--rounds 5] [--verifies 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.signing import VerifyKey

KEY = Ed25519PrivateKey.generate()
RAW = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
MESSAGES = [os.urandom(400) for _ in range(200)]
SIGNATURES = [KEY.sign(message) for message in MESSAGES]


def verifiers() -> dict[str, Callable[[int], object]]:
    nacl_key, openssl_key = VerifyKey(RAW), KEY.public_key()
    found: dict[str, Callable[[int], object]] = {
        "pynacl": lambda i: nacl_key.verify(MESSAGES[i], SIGNATURES[i]),
        "cryptography": lambda i: openssl_key.verify(SIGNATURES[i], MESSAGES[i]),
    }
    try:
        import pysodium  # type: ignore[import-not-found]

        found["pysodium"] = lambda i: pysodium.crypto_sign_verify_detached(SIGNATURES[i], MESSAGES[i], RAW)
    except ImportError:
        pass
    try:
        import ed25519_zebra  # type: ignore[import-not-found]

        found["ed25519-zebra"] = lambda i: ed25519_zebra.ed_verify(SIGNATURES[i], MESSAGES[i], RAW)
    except ImportError:
        pass
    return found


def per_verify(verify: Callable[[int], object], count: int) -> float:
    started = time.thread_time()
    for i in range(count):
        verify(i % len(MESSAGES))
    return (time.thread_time() - started) / count * 1e6


def wall_per_verify(count: int, beside_busy: bool) -> tuple[float, float]:
    """Wall and thread CPU µs per PyNaCl verification in a thread, with or without a pure-Python thread beside."""
    nacl_key, out, stop = VerifyKey(RAW), [], threading.Event()

    def check() -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        for i in range(count):
            nacl_key.verify(MESSAGES[i % len(MESSAGES)], SIGNATURES[i % len(MESSAGES)])
        out.append(((time.perf_counter() - wall) / count * 1e6, (time.thread_time() - cpu) / count * 1e6))

    def busy() -> None:
        while not stop.is_set():
            sum(range(50))

    other = threading.Thread(target=busy)
    if beside_busy:
        other.start()
    checker = threading.Thread(target=check)
    checker.start()
    checker.join()
    stop.set()
    if beside_busy:
        other.join()
    return out[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verifies", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    found = verifiers()
    times: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(args.rounds):
        for name, verify in found.items():  # alternated, so a busy moment hurts each alike
            times[name].append(per_verify(verify, args.verifies))
    for name, of_name in times.items():
        print(f"  {name:<14} µs of thread CPU per verify: median {statistics.median(of_name):.1f} "
              f"({' '.join(f'{t:.1f}' for t in of_name)})")  # fmt: skip
    for switch in (0.005, 0.0005, 0.005, 0.0005):
        sys.setswitchinterval(switch)
        alone, beside = wall_per_verify(500, False), wall_per_verify(500, True)
        print(f"  switch interval {switch * 1e3:.1f} ms: a checking thread alone {alone[0]:.0f} µs of wall per "
              f"verify ({alone[1]:.0f} of CPU); beside a busy Python thread {beside[0]:.0f} ({beside[1]:.0f}); "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

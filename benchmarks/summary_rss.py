"""Reporting alone on a prepared 200,000-event database (`asof.py --keep`): its RSS when ready, while the live
portfolio summary of pf-0 is asked once a second, and after; with the process CPU per answer.

The service runs under the caller's environment: for the image's allocator set LD_PRELOAD to libjemalloc.so.2,
PYTHONMALLOC=malloc and MALLOC_CONF as the Dockerfile does. `--code DIR` puts DIR (a checkout's
services/reporting) first on the service's PYTHONPATH, to run another version of reporting's code side by side
(A/B alternated in one session). Each answer's ETag is printed once, so two versions' answers can be compared.

    .venv/bin/python benchmarks/summary_rss.py --database-url URL [--seconds 30] [--code DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from load import rss_mb

from pmo_devstack.broker import free_port
from pmo_devstack.keys import dev_key_paths, mint_token
from pmo_devstack.stack import Stack

SUMMARY = "/reports/portfolios/pf-0/summary"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--code", help="a services/reporting directory put first on the service's PYTHONPATH")
    args = parser.parse_args()
    env = {"PMO_DATABASE_URL": args.database_url}
    if args.code:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (args.code, os.environ.get("PYTHONPATH")) if p)
    data = Path(tempfile.mkdtemp(prefix="pmo-summary-rss-"))
    stack = Stack(data, ports={"reporting": free_port()}, services=["reporting"], log=lambda _l: None,
                  extra_env={"PMO_LOG_LEVEL": "warning"}, service_env={"reporting": env})  # fmt: skip
    stack.start()
    try:
        process = stack.process("reporting")
        assert process is not None
        pid = process.pid
        token = mint_token(dev_key_paths(data)[0].read_bytes(), subject="bench", roles=["viewer"])
        time.sleep(5)
        print(f"code: {args.code or 'this checkout'}; ready: {rss_mb(pid):.1f} MB", flush=True)
        samples: list[float] = []
        cpu: list[float] = []
        with httpx.Client(base_url=stack.url("reporting"), headers={"Authorization": f"Bearer {token}"},
                          timeout=60, trust_env=False) as client:  # fmt: skip
            end = time.perf_counter() + args.seconds
            while time.perf_counter() < end:
                before = cpu_seconds(pid)
                answer = client.get(SUMMARY)
                answer.raise_for_status()
                cpu.append(cpu_seconds(pid) - before)
                if len(cpu) == 1:
                    digest = hashlib.sha256(answer.content).hexdigest()[:16]
                    print(f"  answer: ETag {answer.headers.get('etag')}, body sha256 {digest}", flush=True)
                time.sleep(0.5)
                samples.append(rss_mb(pid))
                time.sleep(0.5)
        print(f"a summary each second for {args.seconds:.0f} s ({len(cpu)} answers): RSS min {min(samples):.1f}, "
              f"median {statistics.median(samples):.1f}, max {max(samples):.1f} MB (0.5 s after each answer); "
              f"process CPU per answer median {statistics.median(cpu) * 1000:.0f} ms "
              f"(mean {statistics.mean(cpu) * 1000:.0f})")  # fmt: skip
        for wait, after in ((2, 2), (3, 5), (5, 10)):
            time.sleep(wait)
            print(f"  {after} s after the last answer: {rss_mb(pid):.1f} MB", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

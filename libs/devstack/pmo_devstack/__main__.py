"""`python -m pmo_devstack run|token|demo|reset`: the embedded stack (`make run`), dev tokens, the demo data set."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from pmo_devstack import keys
from pmo_devstack.stack import Stack, StackError


class _Shutdown(Exception):
    """Raised by the signal handler while the stack is still starting."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pmo_devstack", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run_cmd = commands.add_parser("run", help="start the broker and the four services; Ctrl-C stops all")
    run_cmd.add_argument("--data-dir", type=Path, help="data folder (default: $PMO_DATA_DIR or ./var)")
    run_cmd.set_defaults(func=_cmd_run)
    token = commands.add_parser("token", help="print a development bearer token (and nothing else)")
    token.add_argument("--roles", default="admin", help=f"comma-separated, of: {','.join(keys.ROLES)}")
    token.add_argument("--sub", default="alice", help="the subject: the actor recorded on events")
    token.add_argument("--ttl-hours", type=float, default=8.0)
    token.add_argument("--data-dir", type=Path, help="data folder (default: $PMO_DATA_DIR or ./var)")
    token.set_defaults(func=_cmd_token)
    demo = commands.add_parser("demo", help="load a demo data set into the running stack over HTTP")
    demo.add_argument("--data-dir", type=Path, help="data folder (default: $PMO_DATA_DIR or ./var)")
    demo.set_defaults(func=_cmd_demo)
    reset = commands.add_parser("reset", help="delete the stack's data (databases), keep the dev keys and .venv")
    reset.add_argument("--data-dir", type=Path, help="data folder (default: $PMO_DATA_DIR or ./var)")
    reset.set_defaults(func=_cmd_reset)
    return parser


def _data_dir(args: argparse.Namespace) -> Path:
    return args.data_dir or Path(os.environ.get("PMO_DATA_DIR") or "var")


def _cmd_token(args: argparse.Namespace) -> int:
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = sorted(set(roles) - set(keys.ROLES))
    if unknown:
        print(f"token: unknown role(s) {', '.join(unknown)}; known: {', '.join(keys.ROLES)}", file=sys.stderr)
        return 2
    if not args.sub.strip():
        print("token: the subject (SUB=...) is the actor recorded on every event; it cannot be empty", file=sys.stderr)
        return 2
    ttl = timedelta(hours=args.ttl_hours)
    _compose_event_keys(_data_dir(args))
    print(keys.dev_token(_data_dir(args), subject=args.sub, roles=roles, ttl=ttl))
    return 0


def _compose_event_keys(data_dir: Path) -> None:
    """The development event-signing keys docker compose mounts. Its containers run as uid 10001 and a
    bind-mounted file keeps the host's owner and mode, so these development-only keys are made readable."""
    keys.ensure_event_keys(data_dir)
    for service in keys.PUBLISHERS:
        keys.event_key_paths(data_dir, service)[0].chmod(0o644)


def _cmd_demo(args: argparse.Namespace) -> int:
    import httpx

    from pmo_devstack.demo import load
    from pmo_devstack.stack import DEFAULT_PORTS

    urls = {name: f"http://127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
    try:
        for line in load(urls, _data_dir(args)):
            print(f"demo: {line}")
    except httpx.TransportError as exc:
        print(f"demo: cannot reach the stack ({exc}); start it with `make run` first", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as exc:  # a person reads this: say what failed, no traceback
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    from pmo_devstack.reset import reset_data

    try:
        removed = reset_data(_data_dir(args))
    except StackError as exc:
        print(f"reset: {exc}", file=sys.stderr)
        return 1
    print(f"reset: removed {len(removed)} file(s) from {_data_dir(args)}; dev keys and .venv kept")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    # The services run their sweeps (motions lapse, overdue reviews are published, due review cycles run) every
    # minute, as CronJobs do in a cluster; PMO_SWEEP_EVERY_SECONDS=0 turns that off.
    every = os.environ.get("PMO_SWEEP_EVERY_SECONDS") or "60"
    return run(Stack.from_env(data_dir=_data_dir(args), extra_env={"PMO_SWEEP_EVERY_SECONDS": every}))


def run(stack: Stack, poll_interval: float = 0.5) -> int:
    """Start `stack`, print how to use it, watch it until SIGINT or SIGTERM, then stop everything."""
    requested = threading.Event()
    starting = True

    def on_signal(signum: int, _frame: object) -> None:
        first = not requested.is_set()
        requested.set()
        if starting and first:
            raise _Shutdown(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.start()
        starting = False
        print(banner(stack), flush=True)
        while not requested.wait(poll_interval):
            _report_exits(stack)
        return 0
    except _Shutdown:
        return 0
    except StackError as exc:
        print(f"\nthe embedded stack did not start: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        starting = False
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report_exits(stack: Stack) -> None:
    for name, code in stack.exited():
        stack.log(
            f"{name} exited unexpectedly (code {code}); the others keep running, "
            "nothing is restarted automatically: Ctrl-C and `make run` again"
        )


def banner(stack: Stack) -> str:
    """What a newcomer needs after `make run`: where the services are and how to get a token."""
    width = max(len(name) for name in stack.services)
    lines = ["", "PMO embedded stack is up. Data folder: " + str(stack.data_dir), ""]
    lines += [f"  {name.ljust(width)}  {stack.url(name)}/docs" for name in stack.services]
    kind = "embedded Tansu, memory only" if stack.broker else "external Kafka"
    lines.append(f"  {'broker'.ljust(width)}  {stack.bootstrap_servers} ({kind})")
    example = "reporting" if "reporting" in stack.services else stack.services[0]
    path = "/reports/decisions" if example == "reporting" else "/health/ready"
    lines += [
        "",
        "A bearer token (roles: " + ", ".join(keys.ROLES) + "):",
        "  make token ROLES=board_member SUB=alice",
        '  curl -H "Authorization: Bearer $(make -s token ROLES=board_member SUB=alice)" \\',
        f"       {stack.url(example)}{path}",
        "",
        "Ctrl-C stops every process started here.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

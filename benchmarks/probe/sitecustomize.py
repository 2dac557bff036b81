"""The stage probe of `benchmarks/propagation.py --trace`, loaded by the services it starts (PYTHONPATH).

Inert unless `PMO_PROPAGATION_TRACE` names a directory. Then it wraps, at the class level, the few calls
that mark the stages of a command's way to reporting, and each process appends one line per stamp to
`<dir>/<pid>.log` (wall-clock seconds; written at once, so a killed process keeps what it stamped):

- `fetch <start> <end> <0|1>`: one fetch round trip of aiokafka's fetcher (1: it brought records);
- `poll <start> <end> <records> <calls>`: a subscription applying one poll (`Subscription._apply_batch`),
  with the PostgreSQL calls made on this thread while it ran (statements, prepared executions, COPYs: each a
  round trip; the load-independent figure);
- `stages <start> <oldest handed> <newest handed> <call start> <call end> ...`: the same poll's records' Kafka
  timestamps (when the relay handed them to its producer; whole milliseconds) and each of its PostgreSQL
  calls' start and end, in order;
- `wake <t>`: a commit woke the relay (as the committing thread saw it);
- `read <start> <end> <rows>`: the relay read the outbox; `sent <start> <end> <rows>`: it handed rows to its
  producer and had the broker's acknowledgements.

It costs a few microseconds per stamp; read its stage times as the shape of the path, not as the lag figures
(those come from the benchmark's own client and watcher, with or without `--trace`).
"""

from __future__ import annotations

import os

_DIR = os.environ.get("PMO_PROPAGATION_TRACE")


def _install(directory: str) -> None:
    import contextvars
    import functools
    import threading
    import time

    out = open(os.path.join(directory, f"{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115 (process-long)
    lock = threading.Lock()
    local = threading.local()

    def stamp(*fields: object) -> None:
        line = " ".join(f"{f:.6f}" if isinstance(f, float) else str(f) for f in fields) + "\n"
        with lock:
            out.write(line)

    inside = contextvars.ContextVar("pmo_probe_inside", default=False)

    def counted(function):
        """One round trip per outermost call (`execute` with arguments calls `_execute`, a COPY calls
        `_copy_in_records`: the same round trip); per task, so concurrent tasks count apart."""

        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            if inside.get():
                return await function(*args, **kwargs)
            token = inside.set(True)
            spans = getattr(local, "spans", None)
            if getattr(local, "calls", None) is not None:
                local.calls += 1
            start = time.time()
            try:
                return await function(*args, **kwargs)
            finally:
                inside.reset(token)
                if spans is not None:
                    spans.append((start, time.time()))

        return wrapper

    import asyncpg.connection
    import asyncpg.prepared_stmt

    connection = asyncpg.connection.Connection
    # `prepare`: SQLAlchemy's statement cache missed (a round trip of its own).
    for name in ("execute", "_execute", "prepare", "copy_records_to_table", "_copy_in_records"):
        if hasattr(connection, name):
            setattr(connection, name, counted(getattr(connection, name)))
    prepared = asyncpg.prepared_stmt.PreparedStatement
    name = "_PreparedStatement__bind_execute"
    setattr(prepared, name, counted(getattr(prepared, name)))

    from aiokafka.consumer.fetcher import Fetcher

    proc_fetch = Fetcher._proc_fetch_request

    async def fetch(self, assignment, node_id, request):
        start = time.time()
        brought = await proc_fetch(self, assignment, node_id, request)
        stamp("fetch", start, time.time(), int(bool(brought)))
        return brought

    Fetcher._proc_fetch_request = fetch

    from pmo_events.runtime.subscription import Subscription

    apply_batch = Subscription._apply_batch

    async def poll(self, batch, checked=None):
        start, local.calls, local.spans = time.time(), 0, []
        try:
            return await apply_batch(self, batch, checked)
        finally:
            calls, local.calls, spans, local.spans = local.calls, None, local.spans, None
            end = time.time()
            stamp("poll", start, end, sum(len(records) for records in batch.values()), calls)
            handed = [r.timestamp / 1000 for records in batch.values() for r in records]
            # `stages <poll start> <oldest record handed> <newest handed> <call start> <call end> ...`
            stamp("stages", start, min(handed), max(handed), *[t for span in spans for t in span])

    Subscription._apply_batch = poll

    from pmo_events.runtime import relay

    wake = relay.OutboxRelay.wake
    hopped = threading.local()  # set while RelayThread hands a wake-up it stamped to the relay on its loop

    def woken(self):
        if not getattr(hopped, "on", False):
            stamp("wake", time.time())
        return wake(self)

    relay.OutboxRelay.wake = woken
    threaded = getattr(relay, "RelayThread", None)
    if threaded is not None:  # the relay on its own thread (PMO_RELAY_THREAD): the commit's thread stamps
        thread_wake, thread_woken = threaded.wake, threaded._woken

        def woken_across(self):
            stamp("wake", time.time())
            return thread_wake(self)

        def handed_over(self):
            hopped.on = True
            try:
                return thread_woken(self)
            finally:
                hopped.on = False

        threaded.wake = woken_across
        threaded._woken = handed_over

    pending_rows = relay.OutboxRelay._pending_rows

    async def read(self, connection):
        start = time.time()
        rows = await pending_rows(self, connection)
        stamp("read", start, time.time(), len(rows))
        return rows

    relay.OutboxRelay._pending_rows = read
    send = relay.OutboxRelay._send

    async def sent(self, producer, rows):
        start = time.time()
        result = await send(self, producer, rows)
        stamp("sent", start, time.time(), len(rows))
        return result

    relay.OutboxRelay._send = sent


if _DIR:
    _install(_DIR)

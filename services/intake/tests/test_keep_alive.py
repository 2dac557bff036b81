"""The test harness's server keeps an idle connection longer than its clients do (`running_service`).

Flaky `httpx.ReadError`s under load (portfolio's `test_rebuild[sqlite-objectives-scenarios]` and `[postgres-raid]`)
had this cause, likely, not proven: httpx's pool keeps an idle connection 5 s (`keepalive_expiry`) counted from when
the client took the response, uvicorn closes it after 5 s (`timeout_keep_alive`) counted from when the server sent
it, earlier. A loop stalled across that instant (a loaded machine: server and test share it) runs, in one turn, the
test's next request on the connection (not expired for the client, not closed yet) and then the server's keep-alive
timer, which closes the socket with the request unread: the client reads a reset. Here the stall is made on
purpose; the server now keeps idle connections 60 s."""

from __future__ import annotations

import asyncio
import time

from pmo_devstack.testing import RunningService


async def test_a_request_on_a_connection_idle_past_the_server_s_keep_alive_is_answered(
    intake: RunningService,
) -> None:
    async with intake.client("ann", "pmo_analyst") as client:
        async with client.stream("GET", "/health/live") as first:
            await asyncio.sleep(1.0)  # the client takes the answer 1 s after the server sent it (a busy loop)
            await first.aread()
        assert first.status_code == 200
        time.sleep(4.2)  # noqa: ASYNC251 (the point) the loop stalls past the server's 5 s: its keep-alive timer is due, not run
        await asyncio.sleep(0)  # the next request and that timer in one turn of the loop, the request first
        second = await client.get("/health/live")
        assert second.status_code == 200

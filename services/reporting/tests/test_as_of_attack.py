"""Hostile `as_of` values (attack review of the persisted as_of checkpoints, issue 17): every report and console
page answers odd instants with a 4xx problem naming `as_of`, or the report as it stood, never a 5xx; an instant
exactly at an event counts that event, and asking again (from a kept checkpoint) gives the same answer."""

from __future__ import annotations

import pytest

from pmo_devstack.html_checks import patient

from .test_api import all_logged, publish
from .test_api import reporting as reporting  # the fixture
from .test_console import history_with_status_reports

pytestmark = pytest.mark.integration

ODD = [
    "1e999999", "NaN", "nan", "inf", "-1", "0", "", " ", "null", "true", "[]",
    "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59-23:59",
    "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00", "2026-01-01", "2026-01-01T00:00:00.1234567891Z",
    "+002026-01-01T00:00:00Z", "2026-01-01T00:00:60Z", "\u0662\u0660\u0662\u0666-01-01T00:00:00Z", "x" * 41,
    "2999-12-31T23:59:59Z", "2026-01-01T00:00:00\u0000Z",
]  # fmt: skip
PATHS = [
    "/reports/portfolios/pf-1/summary", "/reports/pipeline", "/reports/risks", "/reports/dependencies",
    "/reports/programmes", "/console/portfolios/pf-1", "/console/portfolios/pf-1/risks",
]  # fmt: skip
SCOPE = {"portfolio_id": "pf-1"}


async def test_odd_instants_are_named_4xx_problems_or_answers_never_server_errors(reporting) -> None:
    history = history_with_status_reports()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with patient(reporting, "vera", "viewer") as client:
        for path in PATHS:
            assert (await client.get(path, params=SCOPE)).status_code == 200, path
            for value in ODD:
                answer = await client.get(path, params={**SCOPE, "as_of": value})
                assert answer.status_code < 500, (path, value, answer.status_code, answer.text[:300])
                if answer.status_code >= 400:
                    assert "as_of" in answer.text, (path, value, answer.text[:300])
        for event in history.events[::7]:
            instant = event.time.isoformat().replace("+00:00", "Z")
            first = await client.get(PATHS[0], params={"as_of": instant})
            again = await client.get(PATHS[0], params={"as_of": instant})
            assert first.status_code == again.status_code == 200, (instant, first.text[:300])
            assert first.json() == again.json()

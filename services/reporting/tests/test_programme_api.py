"""The programme dashboard over real HTTP, fed over the real broker: live, `as_of`, CSV, the portfolio's list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from .support import T0
from .test_api import all_logged, publish, reporting
from .test_programme_dashboard import PROGRAMME, programme_history

pytestmark = pytest.mark.integration
__all__ = ["reporting"]


async def test_the_programme_dashboard_live_as_of_and_as_csv(reporting) -> None:
    history = programme_history()
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with reporting.client("vera", "viewer") as client:
        now = (await client.get(f"/reports/programmes/{PROGRAMME}")).json()
        assert (now["known"], now["name"], now["currency"]) == (True, "Customer 360", "EUR")
        assert now["status_rollup"]["worst_rag"] == "red" and now["escalated_raid"][0]["id"] == "r-1"
        assert [p["project_id"] for p in now["items"]] == ["p-1", "p-2", "p-4"]
        assert now["status_rollup"]["manager_report"]["reported_at"].endswith("Z")

        before = (T0 + timedelta(days=30)).isoformat()
        then = (await client.get(f"/reports/programmes/{PROGRAMME}", params={"as_of": before})).json()
        assert then["status_rollup"]["worst_rag"] == "amber" and then["escalated_raid"] == []
        assert not any(p["at_risk"] for p in then["items"])
        not_yet = (T0 + timedelta(days=5)).isoformat()
        unborn = await client.get(f"/reports/programmes/{PROGRAMME}", params={"as_of": not_yet})
        assert unborn.status_code == 200 and unborn.json()["known"] is False and unborn.json()["items"] == []

        paged = (await client.get(f"/reports/programmes/{PROGRAMME}", params={"limit": 2})).json()
        assert len(paged["items"]) == 2 and paged["next_cursor"]
        rest = await client.get(f"/reports/programmes/{PROGRAMME}", params={"cursor": paged["next_cursor"]})
        assert [p["project_id"] for p in rest.json()["items"]] == ["p-4"]

        as_csv = await client.get(f"/reports/programmes/{PROGRAMME}", headers={"Accept": "text/csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [(r["project_id"], r["rag"], r["at_risk"]) for r in rows] == [
            ("p-1", "red", "false"), ("p-2", "amber", "true"), ("p-4", "", "false"),
        ]  # fmt: skip

        listed = (await client.get("/reports/programmes", params={"portfolio_id": "pf-1"})).json()
        assert [(p["id"], p["projects"], p["worst_rag"]) for p in listed["items"]] == [(PROGRAMME, 3, "red")]
        earlier = await client.get("/reports/programmes", params={"portfolio_id": "pf-1", "as_of": not_yet})
        assert earlier.json()["items"] == []
        listed_csv = await client.get("/reports/programmes", params={"portfolio_id": "pf-1"},
                                      headers={"Accept": "text/csv"})  # fmt: skip
        assert "ring_fence" in next(csv.reader(io.StringIO(listed_csv.text)))

        risks = {"portfolio_id": "pf-1", "programme_id": PROGRAMME}
        assert (await client.get("/reports/risks", params=risks)).json()["items"] == []  # it went to the portfolio
        risks_then = (await client.get("/reports/risks", params={**risks, "as_of": before})).json()
        assert [(r["id"], r["level_id"]) for r in risks_then["items"]] == [("r-1", "p-1")]
        assert risks_then["programme_id"] == PROGRAMME

        unknown = await client.get("/reports/programmes/nope")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
        missing = await client.get("/reports/programmes")
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "portfolio_id"
        future = await client.get(f"/reports/programmes/{PROGRAMME}", params={"as_of": "2999-01-01T00:00:00Z"})
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "as_of"

"""Reporting over real HTTP with real tokens, fed over the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService, as_published, running_service
from pmo_events.envelope import RecordedEvent
from pmo_reporting.bootstrap import REPORTING

from .support import History, standard_history, with_lessons
from .test_delivery_projection import delivered

pytestmark = pytest.mark.integration


@dataclass
class Reporting(RunningService):
    """The service, and where the events it reads come from: its topics on this broker, signed with these keys."""

    topics: dict[str, str] = field(default_factory=dict)
    kafka_bootstrap: str = ""
    data_dir: Path = Path()


@pytest.fixture
async def reporting(
    database_url: str, kafka_bootstrap: str, tmp_path: Path, topic_prefix: str
) -> AsyncIterator[Reporting]:
    topics = {s: f"{topic_prefix}.{s}.events" for s in ("intake", "portfolio", "resourcing")}
    definition = replace(REPORTING, consumes=tuple(topics.values()))
    async with running_service(
        definition, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path
    ) as service:
        yield Reporting(**vars(service), topics=topics, kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path)


async def publish(service: Reporting, events: list[RecordedEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=service.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            key, value, headers = as_published(event, service.data_dir)
            topic = service.topics[event.source.rsplit("/", 1)[1]]
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def test_reports_live_as_of_and_as_csv(reporting) -> None:
    history = standard_history()
    # Decisions before the proposals they decide: the portfolio's topic first, intake's last.
    arrival = {"/pmo/portfolio": 0, "/pmo/resourcing": 1, "/pmo/intake": 2}
    await publish(reporting, sorted(history.events, key=lambda e: arrival[e.source]))
    await all_logged(reporting, len(history.events))
    async with reporting.client("vera", "viewer") as client:
        summary = (await client.get("/reports/portfolios/pf-1/summary")).json()
        assert summary["budget"][0]["committed"] == "120000.00"
        assert summary["pipeline"] == {"approved": 1, "deferred": 1, "rejected": 1, "submitted": 1}

        week_one = (history.events[0].time + timedelta(days=7)).isoformat()
        then = (await client.get("/reports/portfolios/pf-1/summary", params={"as_of": week_one})).json()
        assert then["pipeline"] == {"approved": 1, "submitted": 3} and then["as_of"] == week_one.replace("+00:00", "Z")
        before = await client.get("/reports/portfolios/pf-1/summary", params={"as_of": "2001-01-01T00:00:00Z"})
        assert before.status_code == 200 and before.json()["pipeline"] == {} and before.json()["budget"] == []

        future = await client.get("/reports/pipeline", params={"as_of": "2999-01-01T00:00:00Z"})
        assert future.status_code == 422 and [e["field"] for e in future.json()["errors"]] == ["as_of"]
        naive = await client.get("/reports/decisions", params={"from": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
        garbage = await client.get("/reports/objectives", params={"as_of": "yesterday"})
        assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "as_of"

        rejected = (await client.get("/reports/decisions", params={"outcome": "rejected"})).json()["items"]
        assert [(d["subject_id"], d["decided_by"]) for d in rejected] == [("p-2", "bob")]
        as_csv = await client.get("/reports/decisions", headers={"Accept": "text/csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["outcome"] for r in rows] == ["approved", "rejected", "deferred"]

        funnel = (await client.get("/reports/pipeline", params={"portfolio_id": "pf-1"})).json()
        assert funnel["decision_lead_time_days"]["median"] == "10.00"
        stages = {s["stage"]: s["count"] for s in funnel["stages"]}
        assert stages["decided:approved"] == stages["decided:rejected"] == stages["decided:deferred"] == 1
        project = (await client.get("/reports/projects/p-1")).json()
        assert project["bac"] == "120000.00"
        assert (await client.get("/reports/projects/nope")).status_code == 404
        unknown_then = await client.get("/reports/projects/nope", params={"as_of": week_one})
        assert unknown_then.status_code == 200 and unknown_then.json()["known"] is False
        capacity = (await client.get("/reports/capacity", params={"from": "2026-01-01", "to": "2026-06-30"})).json()
        assert [(r["group"], r["period"], r["demand"]) for r in capacity["items"]] == [
            ("developer", "FY2026-P02", "2.0000"),
            ("developer", "FY2026-P03", "2.0000"),
        ]
        assert (
            await client.get("/reports/capacity", params={"from": "2026-06-01", "to": "2026-01-01"})
        ).status_code == 422
        edge = await client.get("/reports/capacity", params={"from": "9999-12-01", "to": "9999-12-31"})
        assert edge.status_code == 422
        assert {(e["field"], e["code"]) for e in edge.json()["errors"]} == {
            ("from", "date_out_of_range"),
            ("to", "date_out_of_range"),
        }
        for path, column in (
            ("/reports/portfolios/pf-1/summary", "fiscal_period"),
            ("/reports/pipeline", "stage"),
            ("/reports/benefits", "benefit_id"),
            ("/reports/objectives", "committed_budget"),
            ("/history/p-1", "type"),
        ):
            listed = await client.get(path, headers={"Accept": "text/csv"})
            assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv"), path
            assert column in next(csv.reader(io.StringIO(listed.text))), path
        history_of = (await client.get("/history/p-1")).json()["items"]
        assert {e["type"].split(".")[2] for e in history_of} >= {"ProposalSubmitted", "InvestmentDecided"}

    async with reporting.client() as anonymous:
        assert (await anonymous.get("/reports/pipeline")).status_code == 401


async def test_a_project_report_speaks_the_contracts_vocabulary(reporting) -> None:
    """A change request's outcome is the status it gives, as in the decision trail; amounts at the currency's
    scale (yen: none) in every report."""
    history = delivered(currency="JPY")
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with reporting.client("vera", "viewer") as client:
        project = (await client.get("/reports/projects/p-1")).json()
        (change,) = project["changes"]
        assert (change["outcome"], change["budget_delta"]) == (
            "approved",
            [{"fiscal_period": "FY2026", "amount": "10000"}],
        )
        budget = [{"fiscal_period": "FY2026", "amount": "130000"}]
        assert (project["current_budget"], project["bac"]) == (budget, "130000")
        assert [b["planned_amount"] for b in project["benefits"]] == ["50000", None]
        trail = (await client.get("/reports/decisions", params={"portfolio_id": "pf-1"})).json()["items"]
        decided = next(d for d in trail if d["kind"] == "change_request")
        assert (decided["outcome"], decided["approved_budget"]) == (
            change["outcome"],
            [{"fiscal_period": "FY2026", "amount": "10000"}],
        )
        investment = next(d for d in trail if d["kind"] == "investment")
        assert investment["evidence"]["remaining_envelope"][0]["committed"] == "0"
        benefits = (await client.get("/reports/benefits")).json()["items"]
        assert benefits[0]["planned_amount"] == "50000"
        objective = (await client.get("/reports/objectives")).json()["items"][0]
        assert (objective["currency"], objective["committed_budget"]) == ("JPY", "130000")


async def test_projections_status_and_online_rebuild(reporting) -> None:
    history = standard_history()
    history.unknown("p-1")  # signed by the portfolio, but not a type this build registers: refused
    await publish(reporting, history.events)
    logged = len(history.events) - 1
    async with reporting.client("ada", "admin") as admin, reporting.client("pat", "pmo_analyst") as analyst:

        async def caught_up():
            status = (await admin.get("/admin/projections")).json()
            return status if status["event_log"]["log_position"] == logged else None

        status = await caught_up_with(caught_up)
        await eventually(lambda: reporting.runtime.subscription.status.rejected == 1)
        names = {p["name"]: p for p in status["projections"]}
        assert set(names) == {"portfolio", "capacity"}
        assert all(p["topic"].startswith("t") for p in names["portfolio"]["partitions"])
        assert sum(p["offset"] for p in status["event_log"]["partitions"]) == logged  # the refused one was last
        before = {path: (await admin.get(path)).json() for path in REPORT_PATHS}

        assert (await analyst.post("/admin/projections/portfolio/rebuild")).status_code == 403
        assert (await admin.post("/admin/projections/nothing/rebuild")).status_code == 404
        started = await admin.post("/admin/projections/portfolio/rebuild")
        assert started.status_code == 202 and started.json()["generation"] == 2

        async def swapped():
            status = (await analyst.get("/admin/projections")).json()
            portfolio = next(p for p in status["projections"] if p["name"] == "portfolio")
            return portfolio if portfolio["generation"] == 2 and portfolio["state"] == "live" else None

        rebuilt = await eventually(swapped, timeout=30)
        assert rebuilt["rebuilt_at"] and rebuilt["last_error"] is None
        assert {path: (await admin.get(path)).json() for path in REPORT_PATHS} == before


async def all_logged(service, count: int) -> None:
    async with service.client("ada", "admin") as admin:

        async def logged():
            return (await admin.get("/admin/projections")).json()["event_log"]["log_position"] == count

        await eventually(logged, timeout=30)


async def caught_up_with(check):
    return await eventually(check, timeout=30)


REPORT_PATHS = (
    "/reports/portfolios/pf-1/summary",
    "/reports/pipeline",
    "/reports/decisions",
    "/reports/projects/p-1",
    "/reports/benefits",
    "/reports/objectives",
    "/reports/lessons",
    "/reports/lessons/feedback",
)


HOSTILE = (
    {"as_of": "0001-01-01T00:00:00Z"},
    {"as_of": "9999-12-31T23:59:59+14:00"},
    {"as_of": "9999-12-31T23:59:59-14:00"},  # in UTC it is past the year 9999: refused before any conversion
    {"as_of": "2026-02-30T00:00:00Z"},
    {"as_of": "2026-01-01T00:00:00-23:59"},
    {"as_of": "\u0000"},
    {"portfolio_id": "ü" * 64, "objective_id": "'; drop table x; --"},
    {"portfolio_id": "x" * 65},
    {"from": "0001-01-01", "to": "0001-12-31"},
    {"from": "2026-01-01T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00", "outcome": "nope"},
    {"q": "%", "category": "_", "tag": "\\"},
    {"acknowledged": "maybe", "subject_id": "x" * 65},
)


async def test_lessons_offered_and_acknowledged_are_reported(reporting) -> None:
    history = with_lessons(standard_history())
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with reporting.client("vera", "viewer") as client:
        library = {lesson["lesson_id"]: lesson for lesson in (await client.get("/reports/lessons")).json()["items"]}
        assert {i: (lesson["times_offered"], lesson["acknowledged_applies"], lesson["acknowledged_does_not_apply"],
                    lesson["unacknowledged"])
                for i, lesson in library.items()} == {"l-1": (2, 1, 0, 0), "l-2": (2, 0, 1, 1)}  # fmt: skip
        assert library["l-2"]["last_offered_at"] == "2026-03-10T09:00:00Z"

        open_ones = await client.get(
            "/reports/lessons/feedback", params={"portfolio_id": "pf-1", "acknowledged": "false"}
        )
        assert open_ones.status_code == 200, open_ones.text
        assert [(r["subject"], r["subject_id"], r["lesson_id"], r["title"]) for r in open_ones.json()["items"]] == [
            ("proposal", "p-4", "l-2", "Freeze scope")
        ]
        feedback = await client.get("/reports/lessons/feedback", params={"portfolio_id": "pf-1", "limit": 2})
        first = feedback.json()
        assert [(r["subject_id"], r["lesson_id"], r["applies"]) for r in first["items"]] == [
            ("p-4", "l-1", True),
            ("p-4", "l-2", None),
        ]
        assert first["items"][0]["relevance"] == "0.50" and first["items"][0]["acknowledged_at"].endswith("Z")
        rest = await client.get(
            "/reports/lessons/feedback", params={"portfolio_id": "pf-1", "cursor": first["next_cursor"]}
        )
        assert [(r["subject"], r["subject_id"], r["applies"]) for r in rest.json()["items"]] == [
            ("project", "p-9", False)
        ]

        # Before the teams answered, every offer was still open.
        then = {"portfolio_id": "pf-1", "as_of": "2026-03-07T12:00:00Z"}
        before = (await client.get("/reports/lessons/feedback", params=then)).json()
        assert before["as_of"] == "2026-03-07T12:00:00Z"
        assert [(r["lesson_id"], r["times_offered"], r["acknowledged"]) for r in before["items"]] == [
            ("l-1", 1, False),
            ("l-2", 1, False),
        ]
        as_csv = await client.get("/reports/lessons/feedback", headers={"Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [(r["subject_id"], r["lesson_id"], r["acknowledged"]) for r in rows] == [
            ("p-4", "l-1", "true"),
            ("p-4", "l-2", "false"),
            ("p-9", "l-2", "true"),
        ]
        library_csv = await client.get("/reports/lessons", headers={"Accept": "text/csv"})
        assert "times_offered" in next(csv.reader(io.StringIO(library_csv.text)))
        bad = await client.get("/reports/lessons/feedback", params={"acknowledged": "maybe"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "acknowledged"


async def test_an_envelope_recorded_before_amounts_were_bounded_still_reports(reporting) -> None:
    """A PortfolioCreated of before the bounds (an envelope of 1e530000, as a 190-byte request once stored)."""
    history = History()
    history.portfolio("pf-huge", {"FY2027": "1e530000", "FY2028": "1000"})
    await publish(reporting, history.events)
    await all_logged(reporting, len(history.events))
    async with reporting.client("vera", "viewer") as client:
        summary = await client.get("/reports/portfolios/pf-huge/summary")
    assert summary.status_code == 200, summary.text[:300]
    budget = {line["fiscal_period"]: line["envelope"] for line in summary.json()["budget"]}
    assert budget["FY2028"] == "1000.00" and budget["FY2027"] == "1" + "0" * 530000


async def test_no_hostile_input_gives_a_server_error(reporting) -> None:
    await publish(reporting, standard_history().events)
    paths = (*REPORT_PATHS, "/reports/capacity", "/history/p-1", "/reports/projects/%00", "/history/%F0%9F%92%A5")
    async with reporting.client("vera", "viewer") as client:
        for path in paths:
            for params in HOSTILE:
                response = await client.get(path, params=params)
                assert response.status_code < 500, (path, params, response.text)
                if response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
        for params in (*HOSTILE, {"from": "9999-12-31"}):  # the console reads as_of by hand: the same bounds
            for page in ("/console/portfolios/pf-1/pipeline", "/console/capacity"):
                response = await client.get(page, params=params)
                assert response.status_code < 500, (page, params, response.text)

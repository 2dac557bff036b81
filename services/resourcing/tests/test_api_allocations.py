"""Allocations, demand coverage and the capacity report over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pmo_events.runtime import Database
from pmo_resourcing.bootstrap import RESOURCING

from .support import MANAGER, active_project, book, register

pytestmark = pytest.mark.integration


async def test_over_allocation_is_409_naming_each_week_unless_accepted_with_a_reason(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        first = await book(client, ada["id"], project, "0.6")
        assert first.status_code == 201, first.text
        assert first.headers["location"] == f"/allocations/{first.json()['id']}" and first.headers["etag"] == '"1"'
        refused = await book(client, ada["id"], project, "1", start="2027-01-13")
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["type"] == "urn:pmo:problem:over-allocation"
        assert problem["weeks"] == [{"week": "2027-W02", "capacity": "1.0000", "load": "1.2000", "excess": "0.2000"}]
        no_reason = await book(client, ada["id"], project, "0.5", allow_overallocation=True)
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
        accepted = await book(client, ada["id"], project, "0.5", allow_overallocation=True, reason="go-live week")
        assert accepted.status_code == 201, accepted.text
        fact = accepted.json()["overallocation"]
        assert (fact["reason"], fact["accepted_by"], [w["excess"] for w in fact["weeks"]]) == (
            "go-live week",
            "maria",
            ["0.1000", "0.1000"],
        )
        assert (await client.get(f"/allocations/{accepted.json()['id']}")).json()["overallocated"] is True


async def test_proposed_confirm_change_and_release(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        soft = (await book(client, ada["id"], project, "0.6", status="proposed")).json()
        assert (await book(client, ada["id"], project, "0.6")).status_code == 409  # soft load counts
        off = {"start": "2027-01-04", "end": "2027-01-08", "reason": "training"}
        assert (await client.post(f"/resources/{ada['id']}/time-off", json=off)).status_code == 201
        path = f"/allocations/{soft['id']}"
        rechecked = await client.post(f"{path}/confirm")
        assert rechecked.status_code == 409 and rechecked.json()["weeks"][0]["week"] == "2027-W01"
        moved = await client.patch(path, json={"start": "2027-01-11"}, headers={"If-Match": '"1"'})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["start"], moved.headers["etag"]) == ("2027-01-11", '"2"')
        assert (await client.patch(path, json={"fte": "0.1"}, headers={"If-Match": '"1"'})).status_code == 412
        assert (await client.patch(path, json={"fte": "0.1"})).status_code == 428
        too_much = await client.patch(path, json={"fte": "1.5"}, headers={"If-Match": '"2"'})
        assert too_much.status_code == 409
        confirmed = await client.post(f"{path}/confirm")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
        released = await client.post(f"{path}/release", json={"reason": "re-planned"})
        assert released.status_code == 200 and released.json()["status"] == "released"
        assert (await client.post(f"{path}/release")).status_code == 200
        assert (await client.post(f"{path}/confirm")).status_code == 409
        listed = (await client.get("/allocations", params={"resource_id": ada["id"], "status": "released"})).json()
        assert [a["id"] for a in listed["items"]] == [soft["id"]]
    async with service.client("pam", "project_manager") as pm:
        assert (await pm.post(f"{path}/confirm")).status_code == 403
        assert (await book(pm, ada["id"], project, "0.1")).status_code == 403
        assert (await pm.get(path)).status_code == 200


async def test_bookings_only_on_active_projects(service) -> None:
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        unknown = await book(client, ada["id"], "no-such-project", "0.5")
        assert unknown.status_code == 409 and "not known to be initiated" in unknown.json()["detail"]
        assert (await book(client, "no-such-resource", "p", "0.5")).status_code == 404
        bad = await book(client, ada["id"], "p", "0.5", end="2027-01-01")
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "end"


async def test_confirmed_bookings_fill_demand_and_capacity_compares_it_by_month(service) -> None:
    project = await active_project(service, ("developer", "1.5", date(2027, 1, 4), date(2027, 1, 15)))
    async with service.client(*MANAGER) as client:
        line = (await client.get("/demands", params={"project_id": project})).json()["items"][0]
        assert (line["fte"], line["filled_fte"], line["status"]) == ("1.5000", "0.0000", "open")
        ada, bo = await register(client, name="Ada"), await register(client, name="Bo")
        assert (await book(client, ada["id"], project, "1", demand_id=line["id"])).status_code == 201
        assert (
            await book(client, bo["id"], project, "0.5", demand_id=line["id"], status="proposed")
        ).status_code == 201
        line = (await client.get("/demands", params={"project_id": project})).json()["items"][0]
        assert (line["filled_fte"], line["proposed_fte"], line["status"]) == ("1.0000", "0.5000", "partially_filled")
        soft = (await client.get("/allocations", params={"resource_id": bo["id"]})).json()["items"][0]
        assert (await client.post(f"/allocations/{soft['id']}/confirm")).status_code == 200
        filled = (await client.get("/demands", params={"status": "filled"})).json()["items"]
        assert [(d["id"], d["filled_fte"]) for d in filled] == [(line["id"], "1.5000")]
        wrong = await book(client, ada["id"], "another-project", "0.1", demand_id=line["id"])
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "demand_id"
        report = await client.get("/capacity", params={"from": "2027-01-01", "to": "2027-01-31", "group_by": "role"})
        assert report.status_code == 200, report.text
        # January 2027 has 21 weekdays; the bookings cover 10 of them.
        assert report.json()["items"] == [
            {
                "period": "FY2027-P01",
                "start": "2027-01-01",
                "end": "2027-01-31",
                "group": "developer",
                "capacity": "2.0000",
                "demand": "0.7143",
                "confirmed": "0.7143",
                "proposed": "0.0000",
                "gap": "1.2857",
                "utilisation": "0.3571",
                "over_allocated": False,
            }
        ]
        by_skill = (
            await client.get("/capacity", params={"from": "2027-01-01", "to": "2027-02-28", "group_by": "skill"})
        ).json()
        assert [(r["period"], r["group"], r["demand"]) for r in by_skill["items"]] == [
            ("FY2027-P01", "python", None),
            ("FY2027-P02", "python", None),
        ]


async def test_views_rebuilt_from_the_event_store_answer_the_same(service) -> None:
    from pmo_events.runtime.projection import rebuild_inline_views

    project = await active_project(service, ("developer", "1", date(2027, 1, 4), date(2027, 1, 15)))
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        line = (await client.get("/demands", params={"project_id": project})).json()["items"][0]
        soft = (await book(client, ada["id"], project, "0.5", demand_id=line["id"], status="proposed")).json()
        await client.post(f"/allocations/{soft['id']}/confirm")
        await book(client, ada["id"], project, "0.7", allow_overallocation=True, reason="crunch")
        await client.post(
            f"/resources/{ada['id']}/time-off", json={"start": "2027-01-05", "end": "2027-01-05", "reason": "x"}
        )
        # A booking's row holds the role as of its own last event: the 0.7 booking keeps "developer", the
        # released one takes "architect" (a rebuild that wrote the resource's final role would differ).
        etag = (await client.get(f"/resources/{ada['id']}")).headers["ETag"]
        patched = await client.patch(f"/resources/{ada['id']}", json={"role": "architect"}, headers={"If-Match": etag})
        assert patched.status_code == 200, patched.text
        await client.post(f"/allocations/{soft['id']}/release", json={"reason": "done"})
        await book(client, ada["id"], project, "0.3", demand_id=line["id"], status="proposed")
        bob = await register(client, name="Bob")
        await book(client, bob["id"], project, "0.5", demand_id=line["id"])
        reads = (f"/resources/{ada['id']}", f"/demands?project_id={project}", f"/allocations?resource_id={ada['id']}")
        before = [(await client.get(path)).json() for path in reads]
        runtime = service.runtime
        written = await view_rows(runtime.db)
        assert written["resourcing_demands"][0][4] != "0", "the test books against the demand: coverage is folded"
        roles = {row[0]: row[4] for row in written["resourcing_allocations"]}
        assert roles[soft["id"]] == "architect" and "developer" in roles.values(), roles
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=RESOURCING.view_tables, projectors=RESOURCING.projectors
        )
        assert replayed >= 6
        assert [(await client.get(path)).json() for path in reads] == before
        # Every row of every view, as the commands wrote them one event at a time (the rebuild folds in memory).
        assert await view_rows(runtime.db) == written


async def view_rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    async with db.sessions() as session:
        return {
            table.name: sorted(tuple(row) for row in await session.execute(select(table)))
            for table in RESOURCING.view_tables
        }


async def test_a_closed_project_frees_its_bookings_from_the_closing_day_and_cancels_its_demand(service) -> None:
    from .support import deliver, portfolio_event

    closing = await active_project(service, ("developer", "1", date(2027, 1, 4), date(2027, 1, 29)))
    other = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        running = (await book(client, ada["id"], closing, "0.5", end="2027-01-29")).json()
        later = (
            await book(client, ada["id"], closing, "0.2", start="2027-01-18", end="2027-01-29", status="proposed")
        ).json()
        kept = (await book(client, ada["id"], other, "0.3")).json()
        closed = {"project_id": closing, "effective_on": "2027-01-11", "reason": "delivered early"}
        await deliver(service, portfolio_event(closing, 2, "pmo.portfolio.ProjectClosed.v1", closed))
        states = {a["id"]: (a["status"], a["end"]) for a in (await client.get("/allocations")).json()["items"]}
        assert states[running["id"]] == ("confirmed", "2027-01-10")
        assert states[later["id"]][0] == "released"
        assert states[kept["id"]] == ("confirmed", "2027-01-15")
        line = (await client.get("/demands", params={"project_id": closing})).json()["items"][0]
        assert (line["status"], line["cancel_reason"]) == ("cancelled", "project closed: delivered early")
        assert (await book(client, ada["id"], closing, "0.1")).status_code == 409


async def test_a_retried_booking_with_the_same_idempotency_key_books_once(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        key = {"Idempotency-Key": "booking-42"}
        first = await book(client, ada["id"], project, "0.6", headers=key)
        again = await book(client, ada["id"], project, "0.6", headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        listed = (await client.get("/allocations", params={"resource_id": ada["id"]})).json()["items"]
        assert [a["id"] for a in listed] == [first.json()["id"]]
        other = await book(client, ada["id"], project, "0.3", headers=key)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"

"""Resources over real HTTP with real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from .support import MANAGER, active_project, book, register

pytestmark = pytest.mark.integration


async def test_register_answers_201_with_location_etag_and_reads_back(service) -> None:
    async with service.client(*MANAGER) as client:
        response = await client.post(
            "/resources",
            json={
                "name": "Bo",
                "role": "analyst",
                "hours_per_week": "30",
                "cost_rate": "95.50",
                "working_days": ["mon", "tue", "wed"],
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"/resources/{body['id']}"
        assert response.headers["etag"] == '"1"'
        assert (body["fte"], body["hours_per_week"], body["cost_rate"], body["status"]) == (
            "0.7500",
            "30.00",
            "95.50",
            "active",
        )
    async with service.client("victor", "viewer") as viewer:
        again = await viewer.get(response.headers["location"])
        assert again.json() == body and again.headers["etag"] == '"1"'
        assert (await viewer.post("/resources", json={"name": "x", "role": "y"})).status_code == 403
        assert (await viewer.get("/resources/nope")).status_code == 404
    async with service.client() as anonymous:
        assert (await anonymous.get("/resources")).status_code == 401


async def test_bad_input_is_a_422_naming_the_field(service) -> None:
    async with service.client(*MANAGER) as client:
        cases = {
            "fte": {"name": "x", "role": "y", "fte": "-1"},
            "hours_per_week": {"name": "x", "role": "y", "fte": "1", "hours_per_week": "40"},
            "working_days.0": {"name": "x", "role": "y", "working_days": ["someday"]},
            "skills.0.level": {"name": "x", "role": "y", "skills": [{"name": "go", "level": 9}]},
        }
        for field, body in cases.items():
            response = await client.post("/resources", json=body)
            assert response.status_code == 422, (field, response.text)
            assert field in [e["field"] for e in response.json()["errors"]]
        bad_window = await client.get("/resources", params={"free_from": "2027-02-01", "free_to": "2027-01-01"})
        assert bad_window.status_code == 422 and bad_window.json()["errors"][0]["field"] == "free_to"


async def test_patch_needs_a_current_if_match_and_re_checks_capacity(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        path = f"/resources/{ada['id']}"
        assert (await book(client, ada["id"], project, "0.8")).status_code == 201
        assert (await client.patch(path, json={"pool": "data"})).status_code == 428
        assert (await client.patch(path, json={"pool": "data"}, headers={"If-Match": '"1"'})).status_code == 412
        cut = await client.patch(path, json={"fte": "0.5"}, headers={"If-Match": '"2"'})
        assert cut.status_code == 409 and cut.json()["type"] == "urn:pmo:problem:over-allocation"
        assert [w["week"] for w in cut.json()["weeks"]] == ["2027-W01", "2027-W02"]
        accepted = await client.patch(
            path,
            json={"fte": "0.5", "allow_overallocation": True, "reason": "sponsor agreed"},
            headers={"If-Match": '"2"'},
        )
        assert accepted.status_code == 200, accepted.text
        assert (accepted.json()["fte"], accepted.headers["etag"]) == ("0.5000", '"4"')


async def test_time_off_lowers_the_weekly_schedule_and_flags_overloaded_weeks(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        assert (await book(client, ada["id"], project, "0.5", status="proposed")).status_code == 201
        assert (await book(client, ada["id"], project, "0.3", end="2027-01-08")).status_code == 201
        off = await client.post(
            f"/resources/{ada['id']}/time-off", json={"start": "2027-01-04", "end": "2027-01-05", "reason": "leave"}
        )
        assert off.status_code == 201, off.text
        assert off.json()["overallocated_weeks"] == [
            {"week": "2027-W01", "capacity": "0.6000", "load": "0.8000", "excess": "0.2000"}
        ]
        schedule = await client.get(
            f"/resources/{ada['id']}/schedule", params={"from": "2027-01-04", "to": "2027-01-17"}
        )
    assert schedule.status_code == 200, schedule.text
    assert [
        (w["week"], w["capacity"], w["proposed"], w["confirmed"], w["free"], w["overallocated"])
        for w in schedule.json()["items"]
    ] == [
        ("2027-W01", "0.6000", "0.5000", "0.3000", "-0.2000", True),
        ("2027-W02", "1.0000", "0.5000", "0.0000", "0.5000", False),
    ]


async def test_retire_refuses_confirmed_future_bookings_unless_released(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        booked = (await book(client, ada["id"], project, "0.5")).json()
        retire = f"/resources/{ada['id']}/retire"
        refused = await client.post(retire, json={"retired_on": "2027-01-11", "reason": "leaves"})
        assert refused.status_code == 409 and booked["id"] in refused.json()["detail"]
        done = await client.post(
            retire, json={"retired_on": "2027-01-11", "release_bookings": True, "reason": "leaves"}
        )
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["retired_on"]) == ("retired", "2027-01-11")
        cut = (await client.get(f"/allocations/{booked['id']}")).json()
        assert (cut["status"], cut["end"]) == ("confirmed", "2027-01-10")
        again = await book(client, ada["id"], project, "0.1")
        assert again.status_code == 409 and "retired" in again.json()["detail"]


async def test_search_finds_who_is_free_with_a_skill_at_a_level(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada")
        bo = await register(client, name="Bo", skills=[{"name": "python", "level": 2}])
        cy = await register(client, name="Cy", pool="data")
        assert (await book(client, cy["id"], project, "0.7")).status_code == 201
        query = {"skill": "python", "min_level": 3, "free_from": "2027-01-04", "free_to": "2027-01-15"}
        found = (await client.get("/resources", params={**query, "min_free_fte": "0.5"})).json()["items"]
        assert [(r["id"], r["free_fte"]) for r in found] == [(ada["id"], "1.0000")]
        found = (await client.get("/resources", params={**query, "min_free_fte": "0.25"})).json()["items"]
        assert {r["id"]: r["free_fte"] for r in found} == {ada["id"]: "1.0000", cy["id"]: "0.3000"}
        by_pool = (await client.get("/resources", params={"pool": "data"})).json()["items"]
        assert [r["id"] for r in by_pool] == [cy["id"]] and bo["id"] not in [r["id"] for r in found]


async def test_no_odd_input_gets_a_5xx(service) -> None:
    project = await active_project(service)
    async with service.client(*MANAGER) as client:
        ada = await register(client)
        allocation = {"resource_id": ada["id"], "project_id": project, "start": "2027-01-04", "end": "2027-01-08"}
        odd = [
            ("POST", "/resources", {"name": "x", "role": "y", "fte": "NaN"}),
            ("POST", "/resources", {"name": "x", "role": "y", "skills": [{"name": "s" * 101, "level": 1}]}),
            ("POST", "/resources", {"name": "x", "role": "y", "working_days": []}),
            ("POST", "/allocations", {**allocation, "fte": "Infinity"}),
            ("POST", "/allocations", {**allocation, "fte": "1", "end": "9999-12-31"}),
            ("POST", "/allocations", {**allocation, "fte": "1", "start": "0001-01-01"}),
            ("POST", "/allocations", {**allocation, "fte": "1", "end": "2040-01-01"}),
            ("POST", "/allocations", {**allocation, "fte": 0.000001}),
            ("POST", f"/resources/{ada['id']}/time-off", {"start": "2027-01-04", "end": "9999-12-31", "reason": "x"}),
            ("POST", f"/resources/{ada['id']}/retire", {"retired_on": "9999-12-31"}),
            ("POST", "/allocations/nope/confirm", None),
            ("PATCH", "/allocations/nope", {"fte": "1"}),
        ]
        for method, path, body in odd:
            response = await client.request(method, path, json=body, headers={"If-Match": '"1"'})
            assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
        for params in ({"from": "9999-12-01", "to": "9999-12-31"}, {"from": "2027-01-01"}, {"from": "x", "to": "y"}):
            for path in ("/capacity", f"/resources/{ada['id']}/schedule"):
                response = await client.get(path, params=params)
                assert response.status_code == 422, (path, params, response.text)
        broken = await client.post("/resources", content=b"{not json", headers={"content-type": "application/json"})
        assert broken.status_code == 422


async def test_a_patch_may_leave_out_name_role_and_working_days_but_not_clear_them(service) -> None:
    """Session 11's review 2, R2-2: `null` for a field every resource has was a 500 (building the event); it is a
    422 naming the field and changes nothing. Fields a resource may lack (`pool`, `cost_rate`) may be cleared."""
    async with service.client(*MANAGER) as client:
        ada = await register(client, name="Ada Lovelace")
        path = f"/resources/{ada['id']}"
        etag = (await client.get(path)).headers["etag"]
        for field in ("name", "role", "working_days"):
            refused = await client.patch(path, json={field: None}, headers={"If-Match": etag})
            assert refused.status_code == 422, (field, refused.status_code, refused.text[:300])
            assert field in [e["field"] for e in refused.json()["errors"]]
        unchanged = await client.get(path)
        assert (unchanged.headers["etag"], unchanged.json()["name"]) == (etag, "Ada Lovelace")
        cleared = await client.patch(path, json={"pool": None, "cost_rate": None}, headers={"If-Match": etag})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["name"] == "Ada Lovelace" and cleared.json()["pool"] is None

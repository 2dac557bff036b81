"""The contract kit: pages and cursors, wire formats, the finished OpenAPI document, offline docs, CORS."""

from __future__ import annotations

import gc
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import MetaData

from pmo_events.runtime import KafkaSettings
from pmo_servicekit.app import create_app
from pmo_servicekit.auth import CurrentPrincipal, Principal, require_roles
from pmo_servicekit.contract.paging import (
    EXAMPLE_CURSOR,
    Page,
    PageRequest,
    Paging,
    decode_cursor,
    encode_cursor,
    slice_page,
)
from pmo_servicekit.contract.responses import PROBLEM_JSON, answers
from pmo_servicekit.contract.wire import Fte, Instant, Money, MoneyInput, fte_text, instant_text, money_text, ratio_text
from pmo_servicekit.problems import Problem
from pmo_servicekit.service import ServiceDefinition
from pmo_servicekit.settings import ServiceSettings

# --- pages and cursors -------------------------------------------------------------------------------


def test_a_cursor_is_opaque_and_round_trips_its_key() -> None:
    cursor = encode_cursor(["2027-01-01T00:00:00Z", "p-1", 3])
    assert re.fullmatch(r"[A-Za-z0-9._-]+", cursor) and "p-1" not in cursor
    assert decode_cursor(cursor, 3) == ("2027-01-01T00:00:00Z", "p-1", 3)


@pytest.mark.parametrize("garbage", ["garbage", "c1.", "c1.!!!", "c1.eyJhIjoxfQ", encode_cursor(["a"]) + "x"])
def test_a_cursor_this_api_did_not_give_is_a_422_naming_cursor(garbage: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_cursor(garbage, 2)
    assert raised.value.status == 422
    assert raised.value.extra["errors"][0]["field"] == "cursor"


def test_a_cursor_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(Problem):
        decode_cursor(encode_cursor(["a", "b"]), 3)


def test_slice_page_gives_every_item_once_and_null_at_the_end() -> None:
    items = [{"id": f"i{n:03}"} for n in range(120)]
    seen: list[dict[str, str]] = []
    cursor = None
    for _ in range(10):
        page, cursor = slice_page(items, PageRequest(50, cursor), lambda item: [item["id"]])
        seen += page
        if cursor is None:
            break
    assert seen == items


def test_slice_page_resumes_after_the_last_item_even_when_items_were_added_before_it() -> None:
    items = [{"id": f"i{n}"} for n in range(5)]
    page, cursor = slice_page(items, PageRequest(2, None), lambda item: [item["id"]])
    assert [i["id"] for i in page] == ["i0", "i1"]
    grown = [{"id": "new"}, *items]
    page, _ = slice_page(grown, PageRequest(2, cursor), lambda item: [item["id"]])
    assert [i["id"] for i in page] == ["i2", "i3"]


# --- wire formats ------------------------------------------------------------------------------------


def test_money_is_a_string_at_its_currency_scale() -> None:
    assert money_text(Decimal("930000"), "EUR") == "930000.00"
    assert money_text(Decimal("500000.0"), "EUR") == "500000.00"
    assert money_text(Decimal("5000"), "JPY") == "5000"
    assert money_text(Decimal("1.5"), "BHD") == "1.500"


def test_fte_ratios_and_instants_have_one_form() -> None:
    assert fte_text(Decimal("0.5")) == "0.5000"
    assert ratio_text(Decimal("1.013888")) == "1.0139"
    assert ratio_text(None) is None
    paris = timezone(timedelta(hours=1))
    assert instant_text(datetime(2027, 3, 1, 10, 30, tzinfo=paris)) == "2027-03-01T09:30:00Z"
    with pytest.raises(ValueError):
        instant_text(datetime(2027, 3, 1))  # a naive time is what is refused


class _Out(BaseModel):
    amount: Money
    fte: Fte
    at: Instant


class _In(BaseModel):
    amount: MoneyInput


def test_response_types_serialise_as_strings() -> None:
    out = _Out(amount=Decimal("10.50"), fte=Decimal("1"), at=datetime(2027, 1, 1, tzinfo=UTC))
    assert out.model_dump(mode="json") == {"amount": "10.50", "fte": "1.0000", "at": "2027-01-01T00:00:00Z"}
    schema = _Out.model_json_schema(mode="serialization")["properties"]
    assert schema["amount"]["type"] == schema["fte"]["type"] == "string"


def test_money_input_takes_strings_never_numbers() -> None:
    assert _In.model_validate({"amount": "120000.00"}).amount == Decimal("120000.00")
    for bad in (120000, 12.5, "12.34567", "1e5", "abc"):
        with pytest.raises(ValidationError):
            _In.model_validate({"amount": bad})
    assert _In.model_json_schema()["properties"]["amount"]["type"] == "string"


# --- the finished document ---------------------------------------------------------------------------


class Thing(BaseModel):
    id: str


class ThingPage(Page[Thing]):
    """Things, a page at a time."""


class ThingIn(BaseModel):
    name: str


router = APIRouter()
Maker = Depends(require_roles("pmo_analyst", "admin"))


@router.get("/things", summary="List the things", response_model=ThingPage)
async def list_things(_principal: CurrentPrincipal, paging: Paging) -> ThingPage:
    page, cursor = slice_page([Thing(id="a")], paging, lambda t: [t.id])
    return ThingPage(items=page, next_cursor=cursor)


@router.post(
    "/things",
    status_code=201,
    summary="Make a new thing",
    response_model=Thing,
    responses=answers(409, status=201, etag=True, location=True),
)
async def make_thing(body: ThingIn, _principal: Principal = Maker) -> Thing:
    """Make one."""
    return Thing(id=body.name)


def _definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="kitdoc",
        title="Kit",
        default_port=0,
        topic=None,
        consumes=(),
        metadata=MetaData(),
        migrations=Path("."),
        routers=[router],
        api_version="2.1.0",
    )


def _app(**settings: Any) -> Any:
    base = ServiceSettings(env="development", database_url="sqlite+aiosqlite:///:memory:", **settings)
    return create_app(_definition(), base, KafkaSettings())


def test_the_document_names_operations_roles_problems_and_headers() -> None:
    doc = _app().openapi()
    assert doc["info"]["version"] == "2.1.0"
    listing, making = doc["paths"]["/things"]["get"], doc["paths"]["/things"]["post"]
    assert (listing["operationId"], making["operationId"]) == ("listThings", "makeThing")
    assert making["x-required-roles"] == ["admin", "pmo_analyst"] and listing["x-required-roles"] == []
    assert "**Roles:** `admin`, `pmo_analyst`." in making["description"]
    assert sorted(making["responses"]) == ["201", "400", "401", "403", "409", "413", "422", "503"]
    assert sorted(listing["responses"]) == ["200", "401", "422", "503"]
    for status, response in making["responses"].items():
        if status >= "400":
            assert response["content"] == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert set(making["responses"]["201"]["headers"]) == {"ETag", "Location"}
    assert "Retry-After" in making["responses"]["503"]["headers"]
    limit, cursor = (p for p in listing["parameters"] if p["name"] in ("limit", "cursor"))
    assert limit["schema"]["default"] == 50 and limit["schema"]["maximum"] == 200
    assert cursor["in"] == "query" and not cursor["required"]
    assert doc["paths"]["/health/live"]["get"]["security"] == []
    schemes = doc["components"]["securitySchemes"]
    assert [s["bearerFormat"] for s in schemes.values()] == ["JWT"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert {"type", "title", "status", "detail", "errors"} <= set(doc["components"]["schemas"]["Problem"]["properties"])


# --- offline docs and CORS, over HTTP in the process (no database needed) ------------------------------


async def test_docs_load_every_asset_from_the_service_itself() -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?'([^']+)'""", html)
            referenced = [u for pair in urls for u in pair if u]
            assert referenced and not [u for u in referenced if not u.startswith("/")], referenced
            assert "https://" not in html.replace("https://fastapi", "")
            for url in referenced:
                asset = await client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url


async def test_cors_is_off_by_default_and_exposes_etag_and_location_when_on() -> None:
    preflight = {"Origin": "https://pmo.example.org", "Access-Control-Request-Method": "POST"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://svc") as client:
        answer = await client.get("/openapi.json", headers={"Origin": "https://pmo.example.org"})
        assert "access-control-allow-origin" not in answer.headers
    app = _app(cors_origins=("https://pmo.example.org",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        allowed = await client.options("/things", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://pmo.example.org"
        refused = await client.options("/things", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in refused.headers
        answer = await client.get("/openapi.json", headers={"Origin": "https://pmo.example.org"})
        exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "location"} <= exposed


class _Thing(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "a thing"}]})

    name: str


class _ThingPage(Page[_Thing]):
    """Things."""


class _ThingReport(Page[_Thing]):
    """Things, with a field of its own."""

    title: str


def test_a_page_shows_its_items_example_unless_it_has_fields_of_its_own() -> None:
    assert _ThingPage.model_json_schema()["examples"] == [
        {"items": [{"name": "a thing"}], "next_cursor": EXAMPLE_CURSOR}
    ]
    assert "examples" not in _ThingReport.model_json_schema()
    assert decode_cursor(EXAMPLE_CURSOR, None) == ("2027-01-01", "abc")


async def test_a_started_service_freezes_what_it_made_for_the_garbage_collector_and_thaws_it_at_shutdown() -> None:
    app = _app()
    gc.unfreeze()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 1000  # modules, routes and models are no longer walked by full collections
    assert gc.get_freeze_count() == 0


async def test_a_service_started_in_a_process_that_froze_its_heap_keeps_that_freeze_and_freezes_nothing() -> None:
    """The process's own freeze (a test session's) is not thawed at the app's shutdown, and what the app makes
    stays with the collector, so that an app started by a test can be collected."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    app = _app()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() <= frozen  # nothing more frozen (frozen objects may still be freed)
    assert frozen - 1000 < gc.get_freeze_count() <= frozen  # and nothing thawed

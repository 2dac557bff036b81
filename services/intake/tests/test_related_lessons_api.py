"""Lessons reach the next team: lessons recorded in portfolio, learned over the broker, offered to proposals."""

from __future__ import annotations

import pytest

from pmo_devstack.polling import eventually
from pmo_devstack.testing import RunningService

from .support import PortfolioFeed, complete_proposal

pytestmark = pytest.mark.integration


async def _offered(client, url: str, count: int) -> list[dict] | None:
    items = (await client.get(f"{url}/related-lessons")).json()["items"]
    return items if len(items) >= count else None


async def test_a_proposal_is_offered_the_relevant_lessons_with_reasons_best_first(
    intake: RunningService, feed: PortfolioFeed, known: tuple[str, str]
) -> None:
    portfolio_id, objective_id = known
    vendor = await feed.lesson(
        portfolio_id, "Vendor contract signed late", "Negotiating the CRM licences took four months", "procurement",
        "vendor",
    )  # fmt: skip
    elsewhere = await feed.lesson("other", "Hosted CRM outage", "Ask the hosted provider for its SLA", "operations")
    await feed.lesson(portfolio_id, "Office move", "Book the rooms early", "facilities")
    body = complete_proposal(
        portfolio_id, objective_id, title="Hosted CRM procurement", summary="Choose a vendor and sign the contract"
    )
    async with intake.client("alice", "requester") as alice:
        url = (await alice.post("/proposals", json=body)).headers["location"]
        items = await eventually(lambda: _offered(alice, url, 2), timeout=30)
        assert [i["lesson_id"] for i in items] == [vendor, elsewhere]
        first = items[0]
        words = "crm, procurement, vendor, sign, contract"
        assert first["reason"] == f"same category: procurement; tags: vendor; words: {words}; same portfolio"
        assert (first["matched_category"], first["matched_tags"], first["same_portfolio"]) == (
            "procurement",
            ["vendor"],
            True,
        )
        assert items[1]["reason"] == "words: hosted, crm"
        assert float(first["relevance"]) > float(items[1]["relevance"]) > 0

        page = (await alice.get(f"{url}/related-lessons", params={"limit": 1})).json()
        assert [i["lesson_id"] for i in page["items"]] == [vendor]
        rest = (await alice.get(f"{url}/related-lessons", params={"cursor": page["next_cursor"]})).json()
        assert ([i["lesson_id"] for i in rest["items"]], rest["next_cursor"]) == ([elsewhere], None)


async def test_related_lessons_of_an_unknown_proposal_or_by_a_bad_cursor_are_4xx(intake: RunningService) -> None:
    async with intake.client("alice", "requester") as alice:
        missing = await alice.get("/proposals/9d2b7c4e-1f3a-4e5b-8c6d-7a8b9c0d1e2f/related-lessons")
        assert missing.status_code == 404
        assert (await alice.get("/proposals/not-an-id/related-lessons")).status_code == 404
        url = (await alice.post("/proposals", json={"title": "x", "portfolio_id": "p"})).headers["location"]
        bad = await alice.get(f"{url}/related-lessons", params={"cursor": "c1.zzz"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        assert (await alice.get(f"{url}/related-lessons")).json() == {"items": [], "next_cursor": None}

"""ONE suite for the full-text adapter, run on SQLite (FTS5) and on PostgreSQL (tsvector, GIN, ts_rank)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, text

from pmo_events.runtime import Database
from pmo_events.runtime.fulltext import TextIndex

pytestmark = pytest.mark.integration

LESSONS = TextIndex("test_lesson_text")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.transaction() as session:
        for statement in LESSONS.create_statements(database.dialect):
            await session.execute(text(statement))
        await LESSONS.put(session, "vendor", "Vendor contract signed late. Procurement took four months.")
        await LESSONS.put(session, "contract", "Read every contract clause before signing")
        await LESSONS.put(session, "training", "Train the users before go-live")
    yield database
    await database.dispose()


async def _search(db: Database, *words: str) -> dict[str, float]:
    async with db.sessions() as session:
        return await LESSONS.search(session, words)


async def test_any_word_finds_a_document_and_more_words_rank_it_higher(db: Database) -> None:
    found = await _search(db, "vendor", "contract")
    assert set(found) == {"vendor", "contract"}
    assert found["vendor"] > 0 and found["contract"] > 0
    assert list(found) == sorted(found, key=lambda doc: -found[doc])


async def test_words_are_stemmed_alike_on_both_engines(db: Database) -> None:
    assert set(await _search(db, "contracts")) == {"vendor", "contract"}
    assert set(await _search(db, "signing")) == {"vendor", "contract"}
    assert set(await _search(db, "trained")) == {"training"}


async def test_nothing_matches_no_words_and_unrelated_words(db: Database) -> None:
    assert await _search(db) == {}
    assert await _search(db, "budget", "forecast") == {}


async def test_search_syntax_in_words_is_only_text(db: Database) -> None:
    found = await _search(db, "vendor' OR 1=1 --", "NEAR(contract", "a:b*", '"')
    assert set(found) == {"vendor", "contract"}


async def test_putting_again_replaces_and_removing_forgets(db: Database) -> None:
    async with db.transaction() as session:
        await LESSONS.put(session, "training", "Vendor onboarding was slow")
        await LESSONS.remove(session, "contract")
    assert set(await _search(db, "vendor")) == {"vendor", "training"}
    assert await _search(db, "users") == {}
    async with db.transaction() as session:
        await session.execute(delete(LESSONS.table))
    assert await _search(db, "vendor") == {}


def test_an_index_is_named_by_a_plain_identifier() -> None:
    with pytest.raises(ValueError):
        TextIndex("lessons; DROP TABLE pmo_events")

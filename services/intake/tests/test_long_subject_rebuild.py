"""A proposal drafted by a token whose subject is longer than the proposals view's `requester` column (String(200);
a JWT `sub` has no bound here, an e-mail may be 254 characters): the view can still be rebuilt, and is rebuilt as
the command wrote it. The command path writes the row through `$n::VARCHAR(200)` (an explicit cast: cut to 200
characters); a rebuild by COPY (4d06bc7, reverted after review 1 of session 9) refused the value instead, and the
rebuild failed. That the requester's own list misses such a draft is older, and noted on issue 17."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmo_events.runtime.projection import rebuild_inline_views
from pmo_intake.bootstrap import INTAKE

from .support import intake_service
from .test_views import view_rows

pytestmark = pytest.mark.integration


async def test_a_view_drafted_by_a_long_subject_is_rebuilt_as_written(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    subject = "a" * 240 + "@example.org"
    async with (
        intake_service(postgres_url, kafka_bootstrap, tmp_path) as intake,
        intake.client(subject, "requester") as alice,
    ):
        body = {"title": "Initiative", "portfolio_id": "p", "summary": "robot"}
        created = await alice.post("/proposals", json=body)
        assert created.status_code == 201, created.text
        runtime = intake.runtime
        written = await view_rows(runtime.db)
        replayed = await rebuild_inline_views(
            runtime.db, runtime.store, tables=INTAKE.view_tables, projectors=INTAKE.projectors
        )
        assert replayed == 1
        assert await view_rows(runtime.db) == written

"""A status report's answer shows the project from the state the command folded with the row's counts spliced in
(`views.written_state`, session 15), not from a parse and validation of the row's text it wrote: the project must
be the one a read of that text validates, field for field and in the answer's bytes, whatever the report said
and whatever the row counted. Folded states of reports of any text (hypothesis), and reports over HTTP of
generated figures, RAG, dates and text with lessons counted in between (PostgreSQL's guarded path; SQLite's
report writes the row through the projector and answers from the text as before)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pmo_devstack.testing import RunningService
from pmo_events.contracts.portfolio import LessonRecorded
from pmo_events.envelope import loads
from pmo_events.runtime import CommandRuntime, Metadata
from pmo_portfolio.delivery import queries, views
from pmo_portfolio.delivery.domain.project import Project, evolve, initial

from .test_api_delivery import approved_project
from .test_rebuild_reports import stored

texts = st.text(st.characters(codec="utf-8"), max_size=40)
#: Text that looks like the counts' place, escaped or not, inside a report's own words.
counts_like = st.sampled_from(['"lessons":7,"realisations":1,', '\\"lessons\\":7,', "lessons:7,realisations:1,"])


def _spliced(state: Project, lessons: int, realisations: int) -> str:
    """The row's text as `guard_report_row` writes it: the state's text with the row's counts in their place."""
    text = state.model_dump_json()
    assert text.count(views._UNCOUNTED) == 1
    return text.replace(views._UNCOUNTED, f'"lessons":{lessons},"realisations":{realisations},', 1)


def _same_project(state: Project, text: str, written_state: Any = views.written_state) -> Project:
    shown: Project = written_state(state, text)
    read = Project.model_validate(loads(text))
    assert shown == read
    assert shown.model_dump_json() == read.model_dump_json() == text
    today = date(2027, 3, 1)
    for currency in ("EUR", "JPY", "BHD"):
        assert orjson.dumps(queries.project_view(shown, 30, today, currency)) == orjson.dumps(
            queries.project_view(read, 30, today, currency)
        )
    return shown


@settings(max_examples=300, deadline=None)
@given(
    summary=st.one_of(texts, counts_like.map(lambda c: f"before {c} after")),
    justification=st.none() | texts,
    risks=st.lists(st.one_of(texts, counts_like), max_size=3),
    report_id=texts,
    lessons=st.integers(min_value=0, max_value=10**6),
    realisations=st.integers(min_value=0, max_value=10**6),
)
@example(
    summary='"lessons":7,"realisations":1,', justification=None, risks=[], report_id="r", lessons=0, realisations=1
)
def test_the_answers_project_is_the_read_of_the_row_it_wrote(
    summary: str, justification: str | None, risks: list[str], report_id: str, lessons: int, realisations: int
) -> None:
    changes = {"summary": summary, "justification": justification, "risks": risks, "report_id": report_id}
    state = initial("p-1")
    for event in (
        stored("ProjectInitiated", {}, 1),
        stored("StatusReported", changes | {"period_end": "2027-01-31"}, 2),
        stored("StatusReported", {"report_id": "r-other", "period_end": "2027-02-28", "summary": summary}, 3),
    ):
        state = evolve(state, event.decode())
    _same_project(state, _spliced(state, lessons, realisations))


def _bodies(seed: int, count: int) -> list[dict[str, Any]]:
    """Report bodies of generated figures (at and off the currency's scale, zero cost: CPI undefined), period ends
    up to today (earlier, later, the same: supersession), manual RAG with a justification, forecast ends, risks
    and text."""
    rng = random.Random(seed)
    words = ["on track", 'said "lessons":3,"realisations":1,', "naïve — ✓ \u2028 tab\t", '\\ back \\"', "x" * 300]
    bodies = []
    for _ in range(count):
        body: dict[str, Any] = {
            "period_end": (datetime.now(UTC).date() - timedelta(days=rng.randrange(0, 330))).isoformat(),
            "percent_complete": rng.choice(["0", "100", f"{rng.uniform(0, 100):.{rng.randrange(0, 3)}f}"]),
            "actual_cost": rng.choice(["0", "0.00", f"{rng.uniform(0, 400000):.{rng.randrange(0, 3)}f}"]),
            "summary": rng.choice(words),
        }
        if rng.random() < 0.3:
            body["rag"] = {"schedule": "green", "cost": rng.choice(["green", "amber", "red"]), "scope": "green"}
            body["justification"] = rng.choice(words)
        if rng.random() < 0.3:
            body["forecast_end"] = (date(2026, 6, 1) + timedelta(days=rng.randrange(0, 900))).isoformat()
        if rng.random() < 0.3:
            body["risks"] = [rng.choice(words) for _ in range(rng.randrange(1, 4))]
        bodies.append(body)
    return bodies


async def test_a_reports_answer_is_what_a_read_of_its_row_shows(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: each answer's project equals a read's; on PostgreSQL every answer went through `written_state`,
    whose project equals the validation of the row's text it was given (checked at each call)."""
    portfolio_id = await approved_project(service, "p-answers")
    shown: list[str] = []
    written_state = views.written_state

    def checked(state: Project, text: str) -> Project:
        shown.append(text)
        return _same_project(state, text, written_state)

    monkeypatch.setattr(views, "written_state", checked)
    mine = service.runtime.commands
    other = CommandRuntime(mine.db, mine.store, projectors=mine.projectors, policies=mine.policies)
    answered = 0
    async with service.client("pam", "project_manager") as pam:
        for n, body in enumerate(_bodies(15, 60)):
            if n % 20 == 10:  # lessons counted on their own streams, by another worker, between reports
                lesson = LessonRecorded(
                    project_id="p-answers", portfolio_id=portfolio_id, lesson_id=f"l-{n}", title="Pilot",
                    description="d", category="delivery", recorded_by="pam", recorded_at=datetime.now(UTC),
                )  # fmt: skip
                async with other.unit_of_work(Metadata(actor="pam")) as uow:
                    await uow.open_stream("lesson", f"l-{n}", [lesson])
            answer = await pam.post("/projects/p-answers/status-reports", json=body)
            if answer.status_code != 201:
                assert answer.status_code in (400, 409, 422), answer.text  # a figure or date refused: never a 5xx
                continue
            answered += 1
            read = await pam.get("/projects/p-answers")
            assert answer.json()["project"] == read.json(), body
    assert answered >= 40
    assert read.json()["lessons"] == 3
    if service.runtime.db.is_postgres:
        assert len(shown) == answered

"""The candidates view, each assessor's latest scores, and the decision log (the board's audit trail),
written in each command's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import CandidateRegistered, CandidateScored, CandidateWithdrawn, InvestmentDecided
from pmo_events.envelope import RecordedEvent, loads
from pmo_events.runtime import pgdirect
from pmo_events.runtime.schema import UtcDateTime, metadata
from pmo_portfolio.candidates.domain.assessments import Assessment, assessment_of
from pmo_portfolio.funding.domain import STATUS_AFTER
from pmo_portfolio.shared.projecting import projects_on

candidates = Table(
    "portfolio_candidates",
    metadata,
    Column("candidate_id", String(36), primary_key=True),
    Column("portfolio_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("submission", Integer, nullable=False),
    Column("registration", Text, nullable=False),
    Column("decision", Text),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_portfolio_candidates_portfolio", candidates.c.portfolio_id, candidates.c.status)

assessments = Table(
    "portfolio_assessments",
    metadata,
    Column("candidate_id", String(64), nullable=False),
    # Text (portfolio_0011): events from before session 10 hold subjects of any length (the edge takes 200).
    Column("assessor", Text, nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("submission", Integer, nullable=False),
    Column("scored_at", UtcDateTime, nullable=False),
    Column("assessment", Text, nullable=False),
    PrimaryKeyConstraint("candidate_id", "assessor"),
)
Index("ix_portfolio_assessments_portfolio", assessments.c.portfolio_id)

decisions = Table(
    "portfolio_decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    # The event's position in the service's store: a stable, chronological cursor.
    Column("position", BigInteger, nullable=False),
    Column("portfolio_id", String(36), nullable=False),
    Column("candidate_id", String(36), nullable=False),
    Column("outcome", String(32), nullable=False),
    # Text (portfolio_0011): events from before session 10 hold subjects of any length (the edge takes 200).
    Column("decided_by", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)
Index("ix_portfolio_decisions_portfolio", decisions.c.portfolio_id, decisions.c.position)


class _CandidateRows:
    """The candidates view's projector: one event (a command's) or a poll's events at once (`many`)."""

    async def __call__(self, session: AsyncSession, event: RecordedEvent) -> None:
        await self.many(session, [event])

    async def many(self, session: AsyncSession, events: Sequence[RecordedEvent]) -> None:
        """Fold `events` in order into what each candidate's row becomes, then one delete and one insert for
        the registered ones and one update per kind of change for the others: the same rows as event by
        event (a registration replaces its row; a decision or a withdrawal updates the row there is)."""
        replaced: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        fold_candidates(events, replaced, changed)
        if replaced and pgdirect.on_asyncpg(session):
            # One statement: each row inserted, or written whole over the row there is (as the delete and insert).
            await pgdirect.fetch(session, _REPLACE, *_REPLACED.arrays(list(replaced.values())))
        elif replaced:
            ids = list(replaced)
            await session.execute(candidates.delete().where(candidates.c.candidate_id.in_(ids)))
            await session.execute(candidates.insert(), list(replaced.values()))
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for candidate_id, values in changed.items():
            by_columns.setdefault(tuple(sorted(values)), []).append({"b_id": candidate_id, **values})
        for names, rows in by_columns.items():
            statement = (
                candidates.update()
                .where(candidates.c.candidate_id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            await session.execute(statement, [{"b_id": r["b_id"], **{f"b_{n}": r[n] for n in names}} for r in rows])


#: A registration's row (every column of the view), and the statement writing such rows over any there are.
_REPLACED = pgdirect.ArrayColumns(candidates, tuple(candidates.c.keys()))
_REPLACE = pgdirect.unnest_insert(candidates, _REPLACED.names) + (
    " ON CONFLICT (candidate_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _REPLACED.names if name != "candidate_id")
)


def fold_candidates(
    events: Iterable[RecordedEvent], replaced: dict[str, dict[str, Any]], changed: dict[str, dict[str, Any]]
) -> None:
    """Fold `events` into `replaced` (the rows registrations write whole) and `changed` (the values changed
    in rows written before `events`); a rebuild folds the whole store into `replaced` alone."""
    for event in events:
        fold_candidate(event, event.decode(), replaced, changed)


def fold_candidate(
    event: RecordedEvent,
    decoded: Event,
    replaced: dict[str, dict[str, Any]],
    changed: dict[str, dict[str, Any]],
    decision: str | None = None,
) -> None:
    """`fold_candidates` of one event (`decoded`: its contract; `decision`: an `InvestmentDecided`'s JSON, when
    the caller has it already, as a rebuild has for the decision log's row)."""
    if isinstance(decoded, CandidateRegistered):
        changed.pop(decoded.candidate_id, None)
        replaced[decoded.candidate_id] = {
            "candidate_id": decoded.candidate_id,
            "portfolio_id": decoded.portfolio_id,
            "status": "awaiting_decision",
            "title": decoded.title,
            "submission": decoded.submission,
            "registration": decoded.model_dump_json(),
            "decision": None,
            "updated_at": event.time,
        }
        return
    if isinstance(decoded, InvestmentDecided):
        values = {"status": STATUS_AFTER[decoded.outcome], "updated_at": event.time,
                  "decision": decision if decision is not None else decoded.model_dump_json()}  # fmt: skip
    elif isinstance(decoded, CandidateWithdrawn):
        values = {"status": "withdrawn", "updated_at": event.time}
    else:
        return
    row = replaced.get(decoded.candidate_id)
    if row is not None:
        row.update(values)
    else:
        changed[decoded.candidate_id] = {**changed.get(decoded.candidate_id, {}), **values}


update_candidates = _CandidateRows()


@projects_on(CandidateScored)
async def update_assessments(session: AsyncSession, event: RecordedEvent) -> None:
    """Each assessor's latest scores of each candidate, wherever the score is recorded (its own stream, or
    the portfolio's for scores recorded before)."""
    scored = event.decode()
    if not isinstance(scored, CandidateScored):
        return
    key = (assessments.c.candidate_id == scored.candidate_id) & (assessments.c.assessor == scored.assessor)
    current = (await session.execute(select(assessments.c.assessment).where(key))).first()
    submission = (
        await session.execute(select(candidates.c.submission).where(candidates.c.candidate_id == scored.candidate_id))
    ).scalar_one_or_none()
    assessment = assessed(scored, submission, Assessment.model_validate(loads(current.assessment)) if current else None)
    if assessment is None:
        return
    row = assessment_columns(scored, assessment)
    if current is None:
        await session.execute(
            assessments.insert().values(candidate_id=scored.candidate_id, assessor=scored.assessor, **row)
        )
    else:
        await session.execute(assessments.update().where(key).values(**row))


def assessed(scored: CandidateScored, submission: int | None, current: Assessment | None) -> Assessment | None:
    """The assessor's assessment after `scored` (on the candidate's `submission`, if it has a row), or None
    when `current` stays their latest word."""
    assessment = assessment_of(scored, submission or 1)
    if current is not None and not assessment.replaces(current):
        return None
    return assessment


def assessment_columns(scored: CandidateScored, assessment: Assessment) -> dict[str, Any]:
    """The assessment row's columns besides its key (the rebuild's fold writes the same)."""
    written = assessment.model_dump_json()
    return {"portfolio_id": scored.portfolio_id, "submission": assessment.submission,
            "scored_at": assessment.scored_at, "assessment": written}  # fmt: skip


def decision_row(decided: InvestmentDecided, event: RecordedEvent) -> dict[str, Any]:
    return {
        "decision_id": decided.decision_id,
        "position": event.position or 0,
        "portfolio_id": decided.portfolio_id,
        "candidate_id": decided.candidate_id,
        "outcome": decided.outcome,
        "decided_by": decided.decided_by,
        "decided_at": decided.decided_at,
        "payload": decided.model_dump_json(),
    }


@projects_on(InvestmentDecided)
async def record_decisions(session: AsyncSession, event: RecordedEvent) -> None:
    """The board's decisions in the order they were recorded."""
    decoded = event.decode()
    if isinstance(decoded, InvestmentDecided):
        await session.execute(decisions.insert().values(**decision_row(decoded, event)))


PROJECTORS = [update_candidates, update_assessments, record_decisions]
VIEW_TABLES = [candidates, assessments, decisions]

"""Assessments: each assessor's latest scores of a candidate, and the scorecard ranking weighs them with.

Scores live on streams of their own (a score moves no envelope), so the Portfolio does not hold them:
whoever ranks or decides passes a `Scorecard` in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import CandidateRegistered, CandidateScored
from pmo_portfolio.funding.domain import Candidate


class Assessment(BaseModel):
    assessor: str
    scores: dict[str, int]
    comment: str | None = None
    scored_at: datetime
    #: The candidate's submission these scores assess; a resubmission starts a fresh assessment.
    submission: int

    def replaces(self, earlier: Assessment) -> bool:
        """The assessor's latest word: a later submission, or on the same one a score given no earlier."""
        return (self.submission, self.scored_at) >= (earlier.submission, earlier.scored_at)


@dataclass(frozen=True)
class Scorecard:
    """What ranking weighs beyond the portfolio: every candidate's assessments, today's objective weights."""

    #: Candidate id → assessor → that assessor's latest assessment.
    assessments: Mapping[str, Mapping[str, Assessment]] = field(default_factory=dict)
    #: Objective id → weight, for the active objectives only.
    objective_weights: Mapping[str, Decimal] = field(default_factory=dict)

    def of(self, candidate: Candidate) -> list[Assessment]:
        """The assessments of the candidate's current submission, by assessor."""
        found = self.assessments.get(candidate.candidate_id, {}).values()
        return sorted((a for a in found if a.submission == candidate.submission), key=lambda a: a.assessor)


def assessment_of(scored: CandidateScored, submission: int) -> Assessment:
    """The assessment a score records; `submission` when the score predates scores naming theirs.

    Built without validating again: every value comes from the validated contract (the same types as
    `Assessment`'s fields; a rebuild makes one per score), and all five fields are set, as `Assessment(...)`
    sets them. The scores are copied, as validation copies a dict."""
    return Assessment.model_construct(
        assessor=scored.assessor,
        scores=dict(scored.scores),
        comment=scored.comment,
        scored_at=scored.scored_at,
        submission=scored.submission if scored.submission is not None else submission,
    )


def scorecard(history: Iterable[Event], objective_weights: Mapping[str, Decimal]) -> Scorecard:
    """Fold registrations and scores, in the order recorded, into each assessor's latest assessment per
    candidate (what the assessments view holds), with today's objective weights."""
    submissions: dict[str, int] = {}
    latest: dict[str, dict[str, Assessment]] = {}
    for event in history:
        if isinstance(event, CandidateRegistered):
            submissions[event.candidate_id] = event.submission
        elif isinstance(event, CandidateScored):
            assessment = assessment_of(event, submissions.get(event.candidate_id, 1))
            by_assessor = latest.setdefault(event.candidate_id, {})
            earlier = by_assessor.get(event.assessor)
            if earlier is None or assessment.replaces(earlier):
                by_assessor[event.assessor] = assessment
    return Scorecard(latest, dict(objective_weights))

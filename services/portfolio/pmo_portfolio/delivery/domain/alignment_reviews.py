"""The board's periodic strategic-alignment review of a project: still aligned, and what to do about it."""

from __future__ import annotations

import uuid

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import AlignmentReviewed
from pmo_events.contracts.portfolio.delivery import ReviewRecommendation
from pmo_portfolio.delivery.domain import board_actions
from pmo_portfolio.delivery.domain.lifecycle import Act, check_board, check_live, existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import Portfolio


def review(
    portfolio: Portfolio, project: Project, still_aligned: bool, recommendation: ReviewRecommendation, act: Act
) -> list[Event]:
    """The board's periodic strategic-alignment review; `act.rationale` holds the notes. A review that finds the
    project misaligned, or recommends other than continue, opens a board action (`board_actions`)."""
    existing(project)
    check_board(portfolio, project, act.by)
    check_live(project, "be reviewed")
    reviewed = AlignmentReviewed(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        review_id=str(uuid.uuid4()),
        still_aligned=still_aligned,
        recommendation=recommendation,
        notes=act.rationale,
        reviewed_by=act.by,
        reviewed_at=act.at,
    )
    return [reviewed, *board_actions.opened_by(portfolio, project, reviewed)]

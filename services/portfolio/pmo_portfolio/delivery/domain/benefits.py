"""Benefits realised: measurements of a project's planned benefits, long after delivery too."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import BenefitRealised
from pmo_portfolio.delivery.domain.lifecycle import existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.shared.errors import NotFound


def realise_benefit(
    project: Project, benefit_id: str, measured_value: str, measured_on: date, note: str | None, by: str, at: datetime
) -> list[Event]:
    """A measurement of one of the project's planned benefits, in any status: also long after closure."""
    existing(project)
    if benefit_id not in project.benefit_ids():
        raise NotFound(f"benefit {benefit_id} of project {project.project_id}")
    return [
        BenefitRealised(
            project_id=project.project_id,
            portfolio_id=project.portfolio_id,
            benefit_id=benefit_id,
            measured_value=measured_value,
            measured_on=measured_on,
            note=note,
            recorded_by=by,
            recorded_at=at,
            realisation_id=str(uuid.uuid4()),
        )
    ]

"""The programme's benefits map, pure: benefits with an owner and a realisation profile, fed by the
benefits of its projects (a share of each). What their realisations roll up to by a date is the shared
rule `pmo_events.figures.benefits.benefit_to_date` (reporting's programme dashboard uses it too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BenefitProfilePoint,
    ProgrammeBenefitContributionSet,
    ProgrammeBenefitDefined,
)
from pmo_portfolio.programmes.domain.programme import Programme
from pmo_portfolio.programmes.domain.rules import check_active, check_leader
from pmo_portfolio.shared.errors import InvalidCommand, NotFound

WHOLE = Decimal(1)
#: A share is written to four places (0.3333), as a qualified majority's is.
SHARE_PLACES = 4


@dataclass(frozen=True)
class BenefitPlan:
    benefit_id: str
    description: str
    owner: str
    unit: str
    profile: tuple[BenefitProfilePoint, ...]


def _check_profile(profile: Sequence[BenefitProfilePoint]) -> None:
    if not profile:
        raise InvalidCommand("profile", "a programme benefit needs a realisation profile: a value by a date")
    for index, point in enumerate(profile):
        if point.planned_value.is_signed():
            raise InvalidCommand(f"profile.{index}.planned_value", "a planned value cannot be negative (nor -0)")
        if index == 0:
            continue
        before = profile[index - 1]
        if point.on <= before.on:
            raise InvalidCommand(f"profile.{index}.on", f"profile dates go forward: after {before.on.isoformat()}")
        if point.planned_value < before.planned_value:
            raise InvalidCommand(
                f"profile.{index}.planned_value",
                f"the profile is cumulative: at least {format(before.planned_value, 'f')} planned by then",
            )


def define_benefit(programme: Programme, plan: BenefitPlan, defined_by: str, defined_at: datetime) -> list[Event]:
    """The SRO or programme manager puts a benefit on the map (or restates one): a description, the person
    who owns its realisation, its unit and a cumulative realisation profile."""
    check_active(programme)
    check_leader(programme, defined_by)
    for field in ("description", "owner", "unit"):
        if not getattr(plan, field).strip():
            raise InvalidCommand(field, f"a programme benefit needs a {field}")
    _check_profile(plan.profile)
    earlier = programme.benefits.get(plan.benefit_id)
    if earlier is not None and earlier.contributions and earlier.unit != plan.unit:
        raise InvalidCommand("unit", f"projects already contribute to it in {earlier.unit}")
    return [
        ProgrammeBenefitDefined(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            defined_by=defined_by,
            defined_at=defined_at,
            **plan.__dict__,
        )
    ]


@dataclass(frozen=True)
class ContributingProject:
    """A project's planned benefits, each with the unit it is measured in (None: measured in words)."""

    project_id: str
    benefit_units: Mapping[str, str | None]


def _check_share(
    programme: Programme, benefit_id: str, project: ContributingProject, benefit: str, share: Decimal
) -> None:
    if not share.is_finite() or share <= 0 or share > WHOLE:
        raise InvalidCommand("share", "a share is more than 0 and at most 1 (100%)")
    if share != share.quantize(Decimal(1).scaleb(-SHARE_PLACES)):
        raise InvalidCommand("share", f"a share has at most {SHARE_PLACES} decimal places")
    given = programme.share_given(project.project_id, benefit, besides=benefit_id)
    if given + share > WHOLE:
        raise InvalidCommand(
            "share",
            f"benefit {benefit} of project {project.project_id} already gives {format(given, 'f')} to the "
            f"programme's other benefits: at most {format(WHOLE - given, 'f')} is left",
        )


def set_contribution(
    programme: Programme,
    benefit_id: str,
    project: ContributingProject,
    project_benefit_id: str,
    share: Decimal,
    *,
    set_by: str,
    set_at: datetime,
) -> list[Event]:
    """A benefit of one of the programme's projects, measured in the programme benefit's unit, feeds it with a
    share of what it realises; across the programme's benefits a project benefit gives at most 100%."""
    check_active(programme)
    check_leader(programme, set_by)
    benefit = programme.benefits.get(benefit_id)
    if benefit is None:
        raise NotFound(f"benefit {benefit_id} of programme {programme.programme_id}")
    if project.project_id not in programme.projects:
        raise InvalidCommand("project_id", f"project {project.project_id} is not in the programme")
    if project_benefit_id not in project.benefit_units:
        missing = f"project {project.project_id} plans no benefit {project_benefit_id}"
        raise InvalidCommand("project_benefit_id", missing)
    unit = project.benefit_units[project_benefit_id]
    if unit != benefit.unit:
        measured = f"in {unit}" if unit else ("in words" if unit is None else "as a number without a unit")
        mismatch = f"it is measured {measured}, the programme benefit in {benefit.unit}"
        raise InvalidCommand("project_benefit_id", mismatch)
    _check_share(programme, benefit_id, project, project_benefit_id, share)
    return [
        ProgrammeBenefitContributionSet(
            programme_id=programme.programme_id,
            portfolio_id=programme.portfolio_id,
            benefit_id=benefit_id,
            project_id=project.project_id,
            project_benefit_id=project_benefit_id,
            share=share,
            set_by=set_by,
            set_at=set_at,
        )
    ]

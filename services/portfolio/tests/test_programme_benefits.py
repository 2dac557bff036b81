"""The programme's benefits map: given events, when a command, then events; and the roll-up by a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pmo_events.contracts.portfolio import (
    BenefitProfilePoint,
    ProgrammeBenefitContributionSet,
    ProgrammeBenefitDefined,
    TrancheReviewed,
)
from pmo_events.figures.benefits import Measured, benefit_to_date
from pmo_portfolio.programmes import domain as rules
from pmo_portfolio.programmes.domain import BenefitPlan, ContributingProject
from pmo_portfolio.shared.errors import InvalidCommand, NotAuthorised, NotFound, RuleViolation

from .support import NOW, PORTFOLIO_ID
from .test_programmes import given, joined, programme_created, tranche

PROFILE = (
    BenefitProfilePoint(on=date(2027, 6, 30), planned_value=Decimal("100")),
    BenefitProfilePoint(on=date(2027, 12, 31), planned_value=Decimal("300")),
)
PLAN = BenefitPlan("b-1", "Cost to serve down", "olga", "EUR", PROFILE)
#: p-1 plans "#1" in EUR and "#2" in words; p-2 plans "#1" in EUR; p-3 is not in the programme.
P1 = ContributingProject("p-1", {"#1": "EUR", "#2": None})
P2 = ContributingProject("p-2", {"#1": "EUR"})


def defined(benefit_id: str = "b-1", unit: str = "EUR") -> ProgrammeBenefitDefined:
    return ProgrammeBenefitDefined(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        benefit_id=benefit_id,
        description="Cost to serve down",
        owner="olga",
        unit=unit,
        profile=PROFILE,
        defined_by="paul",
        defined_at=NOW,
    )


def contribution(project_id: str, share: str, benefit_id: str = "b-1") -> ProgrammeBenefitContributionSet:
    return ProgrammeBenefitContributionSet(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        benefit_id=benefit_id,
        project_id=project_id,
        project_benefit_id="#1",
        share=Decimal(share),
        set_by="paul",
        set_at=NOW,
    )


def feed(state: rules.Programme, project: ContributingProject, share: str, benefit_id: str = "b-1") -> list:
    return rules.set_contribution(state, benefit_id, project, "#1", Decimal(share), set_by="paul", set_at=NOW)


MAPPED = (programme_created(), joined("p-1"), joined("p-2"), defined())


def test_the_sro_or_programme_manager_puts_a_benefit_with_an_owner_and_a_profile_on_the_map() -> None:
    assert rules.define_benefit(given(programme_created()), PLAN, "paul", NOW) == [defined()]
    state = given(programme_created(), defined())
    assert state.benefits["b-1"].owner == "olga" and state.benefits["b-1"].profile == PROFILE
    with pytest.raises(NotAuthorised):
        rules.define_benefit(given(programme_created()), PLAN, "olga", NOW)


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ((), "profile"),
        ((BenefitProfilePoint(on=date(2027, 1, 1), planned_value=Decimal("-1")),), "profile.0.planned_value"),
        ((BenefitProfilePoint(on=date(2027, 1, 1), planned_value=Decimal("-0")),), "profile.0.planned_value"),
        ((PROFILE[1], PROFILE[0]), "profile.1.on"),
        (
            (PROFILE[0], BenefitProfilePoint(on=date(2028, 1, 1), planned_value=Decimal("99"))),
            "profile.1.planned_value",
        ),
    ],
)
def test_a_realisation_profile_goes_forward_in_time_and_never_down(
    profile: tuple[BenefitProfilePoint, ...], field: str
) -> None:
    plan = BenefitPlan("b-1", "Cost to serve down", "olga", "EUR", profile)
    with pytest.raises(InvalidCommand) as refused:
        rules.define_benefit(given(programme_created()), plan, "paul", NOW)
    assert refused.value.field == field


def test_restating_a_benefit_keeps_its_contributions_but_not_a_new_unit_under_them() -> None:
    state = given(*MAPPED, contribution("p-1", "0.5"))
    restated = rules.define_benefit(state, BenefitPlan("b-1", "Cheaper service", "olga", "EUR", PROFILE), "sara", NOW)
    after = given(*MAPPED, contribution("p-1", "0.5"), *restated)
    assert after.benefits["b-1"].description == "Cheaper service"
    assert list(after.benefits["b-1"].contributions) == ["p-1 #1"]
    with pytest.raises(InvalidCommand) as refused:
        rules.define_benefit(state, BenefitPlan("b-1", "x", "olga", "hours", PROFILE), "sara", NOW)
    assert refused.value.field == "unit"


def test_a_project_benefit_feeds_a_programme_benefit_with_a_share() -> None:
    assert feed(given(*MAPPED), P1, "0.6") == [contribution("p-1", "0.6")]


def test_shares_of_one_project_benefit_add_up_to_at_most_100_percent_across_the_map() -> None:
    state = given(*MAPPED, defined("b-2"), contribution("p-1", "0.7"))
    with pytest.raises(InvalidCommand) as refused:
        feed(state, P1, "0.3001", benefit_id="b-2")
    assert refused.value.field == "share" and "at most 0.3 is left" in str(refused.value)
    assert feed(state, P1, "0.3", benefit_id="b-2") == [contribution("p-1", "0.3", "b-2")]
    # setting the same contribution again replaces its share: its old share does not count against it
    assert feed(state, P1, "1") == [contribution("p-1", "1")]


@pytest.mark.parametrize("share", ["0", "-0.1", "1.0001", "0.00001"])
def test_a_share_is_more_than_nothing_and_at_most_the_whole_in_four_places(share: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        feed(given(*MAPPED), P1, share)
    assert refused.value.field == "share"


def test_only_the_programmes_projects_feed_it_with_benefits_they_plan_in_its_unit() -> None:
    state = given(*MAPPED)
    with pytest.raises(InvalidCommand) as outside:
        feed(state, ContributingProject("p-3", {"#1": "EUR"}), "0.5")
    assert outside.value.field == "project_id"
    for project_benefit in ("#9", "#2"):  # not planned; measured in words
        with pytest.raises(InvalidCommand) as refused:
            rules.set_contribution(state, "b-1", P1, project_benefit, Decimal("0.5"), set_by="paul", set_at=NOW)
        assert refused.value.field == "project_benefit_id"
    with pytest.raises(InvalidCommand):
        feed(given(programme_created(), joined("p-1"), defined(unit="hours")), P1, "0.5")
    with pytest.raises(NotFound):
        feed(state, P1, "0.5", benefit_id="b-9")
    with pytest.raises(NotAuthorised):
        rules.set_contribution(state, "b-1", P1, "#1", Decimal("0.5"), set_by="olga", set_at=NOW)


def test_nothing_is_mapped_on_a_closed_programme() -> None:
    closing = tranche("t-1", 1, date(2027, 1, 1), date(2027, 6, 30))
    closed = TrancheReviewed(
        programme_id="pg-1",
        portfolio_id=PORTFOLIO_ID,
        tranche_id="t-1",
        decision="close_programme",
        rationale="done",
        decided_by="sara",
        decided_at=NOW,
    )
    with pytest.raises(RuleViolation):
        feed(given(*MAPPED, closing, closed), P1, "0.5")


def test_realisations_roll_up_by_share_against_the_profile_planned_to_date() -> None:
    """Given p-1 gives 60% and p-2 40% of their benefit "#1"; p-1 measured 100 then 150, p-2 measured 50: the
    folded map read by the shared rule (libs/events/tests/test_figures_benefits.py holds the rule itself)."""
    benefit = given(*MAPPED, contribution("p-1", "0.6"), contribution("p-2", "0.4")).benefits["b-1"]
    measured = {
        ("p-1", "#1"): [Measured(date(2027, 5, 1), Decimal("100")), Measured(date(2027, 8, 1), Decimal("150"))],
        ("p-2", "#1"): [Measured(date(2027, 7, 1), Decimal("50"))],
    }
    before = benefit_to_date(benefit.profile, benefit.contributions.values(), measured, date(2027, 4, 30))
    assert (before.planned, before.realised) == (Decimal(0), Decimal(0))
    assert [c.latest for c in before.contributions] == [None, None]
    june = benefit_to_date(benefit.profile, benefit.contributions.values(), measured, date(2027, 6, 30))
    assert (june.planned, june.realised) == (Decimal("100"), Decimal("60"))  # 0.6 x 100
    later = benefit_to_date(benefit.profile, benefit.contributions.values(), measured, date(2027, 9, 1))
    assert (later.planned, later.realised) == (Decimal("100"), Decimal("110"))  # 0.6 x 150 + 0.4 x 50
    assert [c.contributed for c in later.contributions] == [Decimal("90.0"), Decimal("20.0")]
    year_end = benefit_to_date(benefit.profile, benefit.contributions.values(), measured, date(2028, 1, 1))
    assert year_end.planned == Decimal("300")

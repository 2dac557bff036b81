"""The programme dashboard from the portfolio's programme, delivery, RAID and dependency events, now and as of
before the slip."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from pmo_events.contracts import portfolio
from pmo_events.contracts.common import PeriodAmount
from pmo_events.contracts.portfolio import ProgrammeRag, RagRating
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.programmes import programme_dashboard, programme_list
from pmo_reporting.reports.raid import dependency_map, risk_view

from .support import T0, History, standard_history

PROGRAMME = "prog-1"
GRAPH = "dependencies-pf-1"
DAY = date(2026, 3, 1)


def fold(history: History, until: datetime | None = None) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in history.events:
        if until is None or event.time <= until:
            PORTFOLIO.apply(docs, event)
    return docs


def _fy(amount: str) -> tuple[PeriodAmount, ...]:
    return (PeriodAmount(fiscal_period="FY2026", amount=Decimal(amount)),)


def _rag(overall: str) -> RagRating:
    return RagRating(schedule=overall, cost="green", scope="green", overall=overall)  # type: ignore[arg-type]


def report(h: History, project_id: str, *, bac: str, pv: str | None, ev: str, ac: str, overall: str) -> None:
    h.add(
        portfolio.StatusReported(
            project_id=project_id, portfolio_id="pf-1", report_id=f"r-{project_id}-{h.now:%j}",
            period_end=h.now.date(), percent_complete=Decimal(10), actual_cost=Decimal(ac), bac=Decimal(bac),
            planned_value=Decimal(pv) if pv is not None else None, earned_value=Decimal(ev), spi="x", cpi="y",
            rag=_rag(overall), derived_rag=_rag(overall), rag_source="derived", summary="s", reported_by="pam",
            reported_at=h.now,
        ),
        project_id,
    )  # fmt: skip


def programme_history() -> History:
    """Three projects in one programme with two tranches; at day 40 the provider slips and a risk escalates."""
    h = standard_history()
    h.initiated("p-2", "pf-1", budget="80000")
    h.initiated("p-4", "pf-1", budget="50000")
    h.at(10).add(
        portfolio.ProgrammeCreated(
            programme_id=PROGRAMME, portfolio_id="pf-1", name="Customer 360", vision="One view",
            senior_responsible_owner="sara", programme_manager="pam", ring_fence=_fy("300000"), created_by="sara",
            created_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    for project_id, budget in (("p-1", "120000"), ("p-2", "80000"), ("p-4", "50000")):
        h.add(
            portfolio.ProjectJoinedProgramme(
                programme_id=PROGRAMME, portfolio_id="pf-1", project_id=project_id, budget=_fy(budget),
                via="decision", rationale="shared outcome", decided_by="sara", decided_at=h.now,
            ),
            PROGRAMME,
        )  # fmt: skip
    for n, (name, members) in enumerate((("Foundations", ("p-1",)), ("Rollout", ("p-2", "p-4"))), start=1):
        h.add(
            portfolio.TranchePlanned(
                programme_id=PROGRAMME, portfolio_id="pf-1", tranche_id=f"t-{n}", name=name, sequence=n,
                start=date(2026, 2 * n, 1), end=date(2026, 6 * n, 28), project_ids=members, planned_by="pam",
                planned_at=h.now,
            ),
            PROGRAMME,
        )  # fmt: skip
    h.at(11).add(
        portfolio.DependencyRegistered(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", needed="the API", need_date=date(2026, 6, 30), registered_by="pam",
            registered_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    # p-4 (in the second tranche) needs the first tranche's end: a programme milestone, met at day 45
    h.add(
        portfolio.DependencyRegistered(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-2", dependent_project_id="p-4",
            provider_milestone=portfolio.ProgrammeMilestone(programme_id=PROGRAMME, tranche_id="t-1"),
            needed="the customer data platform", need_date=date(2026, 7, 31), registered_by="pam",
            registered_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    h.add(
        portfolio.RaidItemRaised(
            raid_item_id="r-1", portfolio_id="pf-1", kind="risk", level="project", level_id="p-1", title="Vendor late",
            owner="pam", probability=3, impact=3, score=9, raised_by="pam", raised_at=h.now,
        ),
        "r-1",
    )  # fmt: skip
    report(h.at(20), "p-1", bac="120000", pv="30000", ev="24000", ac="30000", overall="green")
    report(h, "p-2", bac="80000", pv="20000", ev="20000", ac="16000", overall="amber")
    # the slip: p-1 forecasts past the need date, p-2 is at risk, the risk goes to the portfolio
    h.at(40).add(
        portfolio.DependencyAtRisk(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", need_date=date(2026, 6, 30), cause="forecast_after_need_date",
            provider_forecast_end=date(2026, 9, 30), flagged_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    h.add(portfolio.RiskAssessed(raid_item_id="r-1", portfolio_id="pf-1", probability=5, impact=4, score=20,
                                 rationale="slipped", assessed_by="pam", assessed_at=h.now), "r-1")  # fmt: skip
    h.add(
        portfolio.RaidItemEscalated(
            raid_item_id="r-1", portfolio_id="pf-1", from_level="project", from_level_id="p-1", to_level="portfolio",
            to_level_id="pf-1", reason="score 20 above 16", score=20, escalated_at=h.now,
        ),
        "r-1",
    )  # fmt: skip
    report(h, "p-1", bac="120000", pv="60000", ev="36000", ac="50000", overall="red")
    h.at(45).add(
        portfolio.TrancheReviewed(
            programme_id=PROGRAMME, portfolio_id="pf-1", tranche_id="t-1", decision="continue",
            rationale="foundations laid", decided_by="sara", decided_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    h.add(
        portfolio.ProgrammeStatusReported(
            programme_id=PROGRAMME, portfolio_id="pf-1", report_id="pr-1", period_end=date(2026, 2, 28),
            rag=ProgrammeRag(overall="amber"), summary="p-1 slipping", reported_by="pam", reported_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    h.add(
        portfolio.BenefitRealised(
            project_id="p-1", portfolio_id="pf-1", benefit_id="b1", measured_value="12000",
            measured_on=date(2026, 2, 20), recorded_by="pam", recorded_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    return h


def test_the_dashboard_rolls_the_projects_up_as_the_portfolio_does() -> None:
    body, projects = programme_dashboard(fold(programme_history()), PROGRAMME, DAY) or ({}, [])
    rollup = body["status_rollup"]
    assert (rollup["worst_rag"], rollup["projects_reporting"]) == ("red", 2)
    assert rollup["projects_by_status"] == [{"status": "active", "count": 3}]
    # sums of the latest reports (p-1's second, p-2's), every other figure from the sums
    assert rollup["evm"] == {
        "bac": "200000.00", "pv": "80000.00", "ev": "56000.00", "ac": "66000.00", "sv": "-24000.00",
        "cv": "-10000.00", "spi": "0.7000", "cpi": "0.8485", "eac": "235714.29", "vac": "-35714.29",
    }  # fmt: skip
    assert rollup["manager_report"]["report_id"] == "pr-1"
    by_id = {p["project_id"]: p for p in projects}
    assert [p["project_id"] for p in projects] == ["p-1", "p-2", "p-4"]
    assert (by_id["p-1"]["rag"], by_id["p-1"]["ev"], by_id["p-1"]["tranche_id"]) == ("red", "36000.00", "t-1")
    assert (by_id["p-2"]["at_risk"], by_id["p-1"]["at_risk"]) == (True, False)
    assert by_id["p-4"]["rag"] is None and by_id["p-4"]["bac"] is None  # no report yet
    [fence] = body["ring_fence"]
    assert (fence["ring_fence"], fence["drawn"], fence["remaining"], fence["current_budget"]) == (
        "300000.00", "250000.00", "50000.00", "250000.00",
    )  # fmt: skip
    first, second = body["tranches"]
    assert (first["status"], first["decision"], first["decided_by"]) == ("closed", "continue", "sara")
    assert (second["status"], second["decision"]) == ("open", None)
    [escalated] = body["escalated_raid"]
    assert (escalated["id"], escalated["level"], escalated["raised_level_id"], escalated["score"]) == (
        "r-1", "portfolio", "p-1", 20,
    )  # fmt: skip
    assert body["open_raid"] == {"risk": 1, "issue": 0, "assumption": 0}
    assert [(d["id"], d["at_risk"]) for d in body["dependencies"]] == [("d-1", True), ("d-2", False)]
    assert body["dependencies"][1]["provider_milestone"] == {"programme_id": PROGRAMME, "tranche_id": "t-1"}
    # each project plans a 50,000.00 financial benefit; 12,000 of p-1's is realised
    assert body["benefit_totals"] == {"planned": "150000.00", "realised": "12000.00", "count": 6, "realised_count": 1}


def test_as_of_before_the_slip_the_dashboard_shows_the_programme_as_it_was() -> None:
    before = fold(programme_history(), until=T0 + timedelta(days=30))
    body, projects = programme_dashboard(before, PROGRAMME, date(2026, 2, 4)) or ({}, [])
    assert body["status_rollup"]["worst_rag"] == "amber"
    assert body["status_rollup"]["evm"]["ev"] == "44000.00"
    assert not any(p["at_risk"] for p in projects)
    assert body["escalated_raid"] == [] and body["status_rollup"]["manager_report"] is None
    assert [t["status"] for t in body["tranches"]] == ["open", "open"]
    assert body["benefit_totals"]["realised"] == "0.00"
    assert programme_dashboard(fold(programme_history(), until=T0 + timedelta(days=5)), PROGRAMME, DAY) is None


def test_the_portfolio_lists_its_programmes_in_one_line_each() -> None:
    [line] = programme_list(fold(programme_history()), "pf-1", DAY)
    assert (line["id"], line["projects"], line["projects_at_risk"], line["worst_rag"], line["manager_rag"]) == (
        PROGRAMME, 3, 1, "red", "amber",
    )  # fmt: skip
    assert (line["ring_fence"], line["drawn"], line["escalated_raid"], line["cpi"]) == (
        "300000.00", "250000.00", 1, "0.8485",
    )  # fmt: skip
    assert programme_list(fold(programme_history()), "pf-other", DAY) == []


def test_a_tranche_planned_again_after_a_re_plan_is_open_with_its_new_dates() -> None:
    h = programme_history()
    h.at(50).add(
        portfolio.TrancheReviewed(
            programme_id=PROGRAMME, portfolio_id="pf-1", tranche_id="t-2", decision="re_plan", rationale="slip",
            decided_by="sara", decided_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    assert programme_dashboard(fold(h), PROGRAMME, DAY)[0]["tranches"][1]["status"] == "re_plan"  # type: ignore[index]
    h.at(51).add(
        portfolio.TranchePlanned(
            programme_id=PROGRAMME, portfolio_id="pf-1", tranche_id="t-2", name="Rollout", sequence=2,
            start=date(2026, 7, 1), end=date(2026, 12, 31), project_ids=("p-2", "p-4"), planned_by="pam",
            planned_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    tranche = programme_dashboard(fold(h), PROGRAMME, DAY)[0]["tranches"][1]  # type: ignore[index]
    assert (tranche["status"], tranche["end"], tranche["decision"]) == ("open", "2026-12-31", None)


def mapped(h: History) -> History:
    """A programme benefit fed by 60% of p-1's and all of p-2's "b1", planned 10,000 by March, 40,000 by June."""
    profile = (portfolio.BenefitProfilePoint(on=date(2026, 3, 1), planned_value=Decimal(10000)),
               portfolio.BenefitProfilePoint(on=date(2026, 6, 30), planned_value=Decimal(40000)))  # fmt: skip
    h.at(46).add(
        portfolio.ProgrammeBenefitDefined(
            programme_id=PROGRAMME, portfolio_id="pf-1", benefit_id="pb-1", description="Cost to serve down",
            owner="olga", unit="EUR", profile=profile, defined_by="sara", defined_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    for project_id, share in (("p-1", "0.6"), ("p-2", "1")):
        h.add(
            portfolio.ProgrammeBenefitContributionSet(
                programme_id=PROGRAMME, portfolio_id="pf-1", benefit_id="pb-1", project_id=project_id,
                project_benefit_id="b1", share=Decimal(share), set_by="sara", set_at=h.now,
            ),
            PROGRAMME,
        )  # fmt: skip
    h.at(47).add(
        portfolio.BenefitRealised(
            project_id="p-1", portfolio_id="pf-1", benefit_id="b1", measured_value="15000",
            measured_on=date(2026, 4, 30), recorded_by="pam", recorded_at=h.now,
        ),
        "p-1",
    )  # fmt: skip
    h.add(
        portfolio.BenefitRealised(
            project_id="p-2", portfolio_id="pf-1", benefit_id="b1", measured_value="a lot",
            measured_on=date(2026, 4, 30), recorded_by="pam", recorded_at=h.now,
        ),
        "p-2",
    )  # fmt: skip
    return h


def test_the_benefits_map_rolls_realisations_up_by_share_against_the_profile() -> None:
    h = mapped(programme_history())
    [benefit] = programme_dashboard(fold(h), PROGRAMME, date(2026, 5, 1))[0]["benefits_map"]  # type: ignore[index]
    # p-1's latest measurement by then is 15,000 (of 30 April; 12,000 of 20 February before it); p-2's is text
    assert (benefit["planned_to_date"], benefit["realised_to_date"], benefit["as_of"]) == (
        "10000.00", "9000.00", "2026-05-01",
    )  # fmt: skip
    assert [(c["project_id"], c["share"], c["measured_value"], c["contributed"]) for c in benefit["contributions"]] == [
        ("p-1", "0.6", "15000.00", "9000.00"), ("p-2", "1", None, "0.00"),
    ]  # fmt: skip
    [earlier] = programme_dashboard(fold(h), PROGRAMME, date(2026, 2, 28))[0]["benefits_map"]  # type: ignore[index]
    assert (earlier["planned_to_date"], earlier["realised_to_date"]) == ("0.00", "7200.00")  # 12,000 x 0.6
    [later] = programme_dashboard(fold(h), PROGRAMME, date(2026, 7, 1))[0]["benefits_map"]  # type: ignore[index]
    assert later["planned_to_date"] == "40000.00"


def test_a_share_set_again_replaces_the_earlier_one_and_a_restated_benefit_keeps_its_contributions() -> None:
    h = mapped(programme_history())
    h.at(48).add(
        portfolio.ProgrammeBenefitContributionSet(
            programme_id=PROGRAMME, portfolio_id="pf-1", benefit_id="pb-1", project_id="p-1",
            project_benefit_id="b1", share=Decimal("0.5"), set_by="sara", set_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    h.add(
        portfolio.ProgrammeBenefitDefined(
            programme_id=PROGRAMME, portfolio_id="pf-1", benefit_id="pb-1", description="Cost to serve down more",
            owner="olga", unit="EUR", defined_by="sara", defined_at=h.now,
            profile=(portfolio.BenefitProfilePoint(on=date(2026, 1, 1), planned_value=Decimal(5000)),),
        ),
        PROGRAMME,
    )  # fmt: skip
    [benefit] = programme_dashboard(fold(h), PROGRAMME, date(2026, 5, 1))[0]["benefits_map"]  # type: ignore[index]
    assert (benefit["description"], benefit["planned_to_date"], benefit["realised_to_date"]) == (
        "Cost to serve down more", "5000.00", "7500.00",
    )  # fmt: skip
    assert [(c["project_id"], c["share"]) for c in benefit["contributions"]] == [("p-1", "0.5"), ("p-2", "1")]


def test_the_risk_view_of_a_programme_counts_its_own_and_its_projects_risks_where_they_sit() -> None:
    h = programme_history()
    members = {PROGRAMME, "p-1", "p-2", "p-4"}
    before, _ = risk_view(fold(h, until=T0 + timedelta(days=30)), "pf-1", None, None, DAY, within=members)
    assert [c["raid_item_ids"] for c in before["cells"] if c["count"]] == [["r-1"]]  # 3 x 3 at p-1
    now, ranked = risk_view(fold(h), "pf-1", None, None, DAY, within=members)
    assert ranked == [] and all(c["count"] == 0 for c in now["cells"])  # escalated out to the portfolio
    elsewhere, _ = risk_view(fold(h, until=T0 + timedelta(days=30)), "pf-1", None, None, DAY, within={"p-9"})
    assert all(c["count"] == 0 for c in elsewhere["cells"])


def test_the_dependency_map_draws_a_programme_milestone_open_then_met_and_closed_cancels_the_next() -> None:
    h = programme_history()
    node = {"kind": "milestone", "project_id": None, "milestone": {"programme_id": PROGRAMME, "tranche_id": "t-1"},
            "title": "Customer 360: end of Foundations", "forecast_end": "2026-06-28", "at_risk": False}  # fmt: skip
    before, edges = dependency_map(fold(h, until=T0 + timedelta(days=30)), "pf-1")
    assert [n for n in before["nodes"] if n["kind"] == "milestone"] == [{**node, "status": "open"}]
    assert [(e["id"], e["provider_project_id"], e["provider_milestone"]) for e in edges] == [
        ("d-1", "p-1", None),
        ("d-2", None, {"programme_id": PROGRAMME, "tranche_id": "t-1"}),
    ]
    now, _ = dependency_map(fold(h), "pf-1")
    assert [n for n in now["nodes"] if n["kind"] == "milestone"] == [{**node, "status": "met"}]
    assert [n["project_id"] for n in now["nodes"] if n["kind"] == "project"] == ["p-1", "p-2", "p-4"]
    h.at(60).add(
        portfolio.DependencyRegistered(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-3", dependent_project_id="p-1",
            provider_milestone=portfolio.ProgrammeMilestone(programme_id=PROGRAMME, tranche_id="t-2"),
            needed="rollout done", need_date=date(2026, 12, 31), registered_by="pam", registered_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    h.add(
        portfolio.TrancheReviewed(
            programme_id=PROGRAMME, portfolio_id="pf-1", tranche_id="t-2", decision="close_programme",
            rationale="stop", decided_by="sara", decided_at=h.now,
        ),
        PROGRAMME,
    )  # fmt: skip
    closed, _ = dependency_map(fold(h), "pf-1")
    statuses = {n["milestone"]["tranche_id"]: n["status"] for n in closed["nodes"] if n["kind"] == "milestone"}
    assert statuses == {"t-1": "met", "t-2": "cancelled"}

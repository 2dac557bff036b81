"""The pure folds and reports: given events, when folded, then the report says what a PMO expects."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from pmo_events.contracts import intake, portfolio
from pmo_events.envelope import RecordedEvent, dumps
from pmo_events.figures.days import Span
from pmo_events.figures.fiscal import CALENDAR_YEAR
from pmo_reporting.projections.catalogue import CAPACITY, PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.benefits import benefits_register
from pmo_reporting.reports.capacity import capacity_heatmap
from pmo_reporting.reports.common import percentile, period_amounts
from pmo_reporting.reports.pipeline import OUTCOMES, pipeline_funnel
from pmo_reporting.reports.project import project_view
from pmo_reporting.reports.registers import decision_trail, objectives_register
from pmo_reporting.reports.summary import portfolio_summary, summary_slimmers

from .support import History, _content, standard_history, varied_history
from .test_earned_value import recorded


def fold(events: list[RecordedEvent], projection=PORTFOLIO) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in events:
        projection.apply(docs, event)
    return docs


def test_summary_counts_the_pipeline_the_budget_and_the_objectives() -> None:
    report = portfolio_summary(fold(standard_history().events), "pf-1")
    assert report["pipeline"] == {"approved": 1, "deferred": 1, "rejected": 1, "submitted": 1}
    assert report["budget"] == [
        {"fiscal_period": "FY2026", "start": "2026-01-01", "end": "2026-12-31",
         "envelope": "500000.00", "committed": "120000.00", "remaining": "380000.00", "actual": "0.00"},
        {"fiscal_period": "FY2027", "start": "2027-01-01", "end": "2027-12-31",
         "envelope": "300000.00", "committed": "0.00", "remaining": "300000.00", "actual": "0.00"},
    ]  # fmt: skip
    assert report["rag"] == {"green": 0, "amber": 0, "red": 0, "unreported": 1}
    assert report["objectives"] == {"with_investment": ["o-1"], "without_investment": ["o-2"]}
    assert report["planned_benefits"] == {"count": 2, "financial_total": "50000.00", "non_financial": 1}


def test_actual_cost_falls_in_the_period_of_each_reports_period_end_and_adds_up_to_the_total() -> None:
    h = standard_history()
    recorded(h.at(30), date(2026, 11, 30), actual_cost="30000")
    recorded(h.at(60), date(2027, 1, 31), actual_cost="45000")
    report_id = recorded(h.at(61), date(2027, 2, 28), actual_cost="52000")
    recorded(h.at(62), date(2027, 2, 28), actual_cost="50000", correction_of=report_id)  # corrects the last one
    recorded(h.at(70), date(2028, 3, 31), actual_cost="51000")  # no budget period holds 2028: its fiscal year
    summary = portfolio_summary(fold(h.events), "pf-1")
    assert [(b["fiscal_period"], b["actual"]) for b in summary["budget"]] == [
        ("FY2026", "30000.00"), ("FY2027", "20000.00"), ("FY2028", "1000.00")
    ]  # fmt: skip
    assert summary["budget"][2]["envelope"] == "0.00" and summary["totals"]["actual"] == "51000.00"
    h.at(80).add(
        portfolio.ProjectClosed(project_id="p-1", portfolio_id="pf-1", final_cost=Decimal(58000),
                                effective_on=date(2028, 6, 30)), "p-1"
    )  # fmt: skip
    closed = portfolio_summary(fold(h.events), "pf-1")
    assert [b["actual"] for b in closed["budget"]] == ["30000.00", "20000.00", "8000.00"]
    assert closed["totals"]["actual"] == "58000.00"


def test_a_decision_before_its_proposal_gives_the_same_read_model() -> None:
    events = standard_history().events
    in_order = fold(events)
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert sorted(fold(shuffled).rows()) == sorted(in_order.rows())


def test_unknown_event_types_change_nothing() -> None:
    history = standard_history()
    before = sorted(fold(history.events).rows())
    history.unknown("p-1")
    assert sorted(fold(history.events).rows()) == before


def test_pipeline_funnel_has_conversions_and_lead_times() -> None:
    report = pipeline_funnel(fold(standard_history().events), portfolio_id="pf-1")
    counts = {s["stage"]: s["count"] for s in report["stages"]}
    assert counts["draft"] == 4 and counts["submitted"] == 4 and counts["decided"] == 3
    assert counts["decided:approve"] == 1 and counts["decided:reject"] == 1 and counts["decided:defer"] == 1
    assert report["conversion"]["decided_of_submitted"] == "0.7500"
    # p-1 submitted day 1, decided day 6 (5 days); p-2 day 2 → 12 (10); p-3 day 3 → 23 (20).
    assert report["decision_lead_time_days"] == {"count": 3, "median": 10.0, "p90": 20.0}


def test_pipeline_lead_times_per_stage_time_each_step_from_the_one_before() -> None:
    history = standard_history()
    # p-5 drafted on day 30, submitted on day 34, changes requested on day 40, resubmitted day 41, approved day 43.
    content = _content("p-5", "pf-1", "o-1", "1000")
    history.at(30).add(intake.ProposalDrafted(requester="alice", **content), "p-5")
    history.at(34).add(intake.ProposalSubmitted(requester="alice", submission=1, submitted_at=history.now, **content),
                       "p-5")  # fmt: skip
    history.at(40).decided("p-5", "pf-1", "request_changes")
    history.at(41).add(intake.ProposalSubmitted(requester="alice", submission=2, submitted_at=history.now, **content),
                       "p-5")  # fmt: skip
    history.at(43).decided("p-5", "pf-1", "approve")
    stages = {s["stage"]: s for s in pipeline_funnel(fold(history.events), portfolio_id="pf-1")["stage_lead_time_days"]}
    assert list(stages) == ["submitted", "decided", *(f"decided:{o}" for o in OUTCOMES)]
    # four proposals drafted and submitted at once, p-5 after 4 days: the median is 0, the p90 4.
    assert stages["submitted"] == {"stage": "submitted", "from_stage": "draft", "count": 5, "median": 0.0, "p90": 4.0}
    # decisions: 5, 10, 20 days (standard history), 6 (changes requested), 2 (approval of the resubmission).
    assert (stages["decided"]["count"], stages["decided"]["median"]) == (5, 6.0)
    assert (stages["decided:approve"]["count"], stages["decided:approve"]["median"]) == (2, 3.5)
    assert stages["decided:request_changes"] == {
        "stage": "decided:request_changes", "from_stage": "submitted", "count": 1, "median": 6.0, "p90": 6.0
    }  # fmt: skip
    assert stages["decided:reject"]["median"] == 10.0 and stages["decided:defer"]["median"] == 20.0


def test_empty_pipeline_has_null_conversions() -> None:
    report = pipeline_funnel(InMemoryDocuments(), portfolio_id="none")
    assert report["conversion"]["submitted_of_drafted"] is None
    assert report["decision_lead_time_days"] == {"count": 0, "median": None, "p90": None}
    assert all(s["count"] == 0 and s["median"] is None for s in report["stage_lead_time_days"])


def test_nearest_rank_percentile() -> None:
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([3.0], 0.9) == 3.0


def test_decision_trail_filters_by_outcome_and_decider() -> None:
    docs = fold(standard_history().events)
    trail = decision_trail(docs, portfolio_id="pf-1")
    assert [d["outcome"] for d in trail] == ["approve", "reject", "defer"]
    assert trail[0]["decided_by"] == "bob" and trail[0]["rationale"] == "board says approve"
    assert trail[0]["approved_budget"] == [{"fiscal_period": "FY2026", "amount": "120000.00"}]
    assert [d["subject_id"] for d in decision_trail(docs, outcome="reject")] == ["p-2"]
    assert decision_trail(docs, decided_by="nobody") == []


def test_objectives_register_links_proposals_projects_and_money() -> None:
    rows = {r["id"]: r for r in objectives_register(fold(standard_history().events))}
    assert rows["o-1"]["projects"] == ["p-1"]
    assert rows["o-1"]["committed_budget"] == "120000.00"
    assert {p["id"] for p in rows["o-1"]["proposals"]} == {"p-1", "p-2", "p-3", "p-4"}
    assert rows["o-2"]["proposals"] == [] and rows["o-2"]["committed_budget"] == "0.00"


def test_benefits_register_lists_funded_benefits() -> None:
    rows = benefits_register(fold(standard_history().events), portfolio_id="pf-1")
    assert [(r["project_id"], r["benefit_id"], r["planned_amount"]) for r in rows] == [
        ("p-1", "b1", "50000.00"),
        ("p-1", "b2", None),
    ]
    assert benefits_register(fold(standard_history().events), objective_id="o-2") == []


def test_amounts_are_at_the_portfolio_currencys_scale() -> None:
    """Yen have no minor unit, dinars three: every report gives each amount at its currency's scale."""
    for currency, envelope, committed, planned in (
        ("JPY", "500000", "120000", "50000"),
        ("BHD", "500000.000", "120000.000", "50000.000"),
    ):
        h = History()
        h.portfolio("pf-1", {"FY2026": "500000"}, currency=currency)
        h.objective("o-1")
        h.at(1).submitted("p-1", "pf-1")
        h.registered("p-1", "pf-1")
        h.at(6).decided("p-1", "pf-1", "approve", budget="120000")
        h.initiated("p-1", "pf-1", budget="120000")
        docs = fold(h.events)
        summary = portfolio_summary(docs, "pf-1")
        assert (summary["budget"][0]["envelope"], summary["totals"]["committed"]) == (envelope, committed), currency
        assert summary["planned_benefits"]["financial_total"] == planned
        (decision,) = decision_trail(docs)
        assert decision["approved_budget"] == [{"fiscal_period": "FY2026", "amount": committed}]
        assert decision["evidence"]["remaining_envelope"][0]["envelope"] == envelope
        view = project_view(docs, "p-1")
        assert view is not None
        assert (view["bac"], view["baseline_budget"], view["benefits"][0]["planned_amount"]) == (
            committed,
            [{"fiscal_period": "FY2026", "amount": committed}],
            planned,
        )
        assert benefits_register(docs)[0]["planned_amount"] == planned
        (objective,) = objectives_register(docs)
        assert (objective["currency"], objective["committed_budget"]) == (currency, committed)


def test_project_view_without_status_reports() -> None:
    view = project_view(fold(standard_history().events), "p-1")
    assert view is not None
    assert (view["stage"], view["status"], view["bac"]) == ("initiate", "active", "120000.00")
    assert view["evm"] == [] and len(view["benefits"]) == 2


def test_a_fold_up_to_an_instant_is_the_report_then() -> None:
    history = standard_history()
    cut = history.events[0].time + timedelta(days=7)
    report = portfolio_summary(fold([e for e in history.events if e.time <= cut]), "pf-1")
    assert report["pipeline"] == {"approved": 1, "submitted": 3}
    assert portfolio_summary(fold([]), "pf-1")["pipeline"] == {}


def test_demand_is_spread_over_periods_by_working_days() -> None:
    h = History()
    h.demand("p-1", "developer", "2", date(2026, 2, 1), date(2026, 3, 31))
    h.demand("p-2", "developer", "1", date(2026, 3, 1), date(2026, 3, 31))
    h.demand("p-3", "developer", "1", date(2026, 4, 1), date(2026, 4, 10))  # 8 of April's 22 weekdays
    window = Span(date(2026, 1, 1), date(2026, 4, 30))
    rows = capacity_heatmap(fold(h.events, CAPACITY), CALENDAR_YEAR, window, "role", "period")
    assert [(r["period"], r["demand"], r["utilisation"]) for r in rows] == [
        ("FY2026-P02", "2", None),
        ("FY2026-P03", "3", None),
        ("FY2026-P04", "0.3636", None),
    ]


def test_edits_review_and_board_changes_in_any_order() -> None:
    from datetime import UTC, datetime

    from pmo_events.contracts import intake, portfolio

    h = History()
    h.portfolio("pf-1", {"FY2026": "1000"})
    h.at(1).submitted("p-9", "pf-1")
    h.at(2).add(
        intake.ProposalUnderReview(
            proposal_id="p-9",
            portfolio_id="pf-1",
            submission=1,
            assessor="bob",
            scored_at=datetime(2026, 1, 7, tzinfo=UTC),
            scoring_event_id="e-1",
        ),
        "p-9",
    )
    h.add(portfolio.BoardMemberAdded(portfolio_id="pf-1", subject="carol", added_by="olga"), "pf-1")
    h.at(3).add(portfolio.BoardMemberRemoved(portfolio_id="pf-1", subject="bob", removed_by="olga"), "pf-1")
    for seed in range(4):
        events = list(h.events)
        random.Random(seed).shuffle(events)
        report = portfolio_summary(fold(events), "pf-1")
        assert report["pipeline"] == {"under_review": 1}
        assert report["board_members"] == ["carol"]


def test_a_known_type_with_a_payload_that_does_not_validate_is_skipped() -> None:
    from dataclasses import replace

    history = standard_history()
    before = sorted(fold(history.events).rows())
    broken = replace(history.events[-1], event_id="broken", data={"decision_id": "x"})
    assert not PORTFOLIO.apply(InMemoryDocuments(), broken)
    assert sorted(fold([*history.events, broken]).rows()) == before


def test_the_audit_trail_shows_every_motion_with_every_vote_and_the_charter_changes_the_board() -> None:
    from datetime import UTC, datetime

    from pmo_events.contracts import portfolio

    h = standard_history()
    charter = portfolio.BoardCharter(version=2, members=("carol", "dan"), chair="carol", quorum=2,
                                     rule="unanimity")  # fmt: skip
    at = datetime(2026, 2, 1, tzinfo=UTC)
    h.at(40).add(portfolio.BoardCharterSet(portfolio_id="pf-1", charter=charter, set_by="olga", set_at=at), "pf-1")
    votes = (
        portfolio.Vote(voter="carol", vote="for", rationale="fits", cast_at=at),
        portfolio.Vote(voter="dan", vote="against", rationale="too early", cast_at=at),
    )
    tally = portfolio.Tally(votes_for=1, votes_against=1)
    h.at(41).add(
        portfolio.MotionDefeated(
            motion_id="m-1",
            portfolio_id="pf-1",
            kind="investment",
            subject_id="p-4",
            outcome="approve",
            tally=tally,
            votes=votes,
            defeated_at=at,
        ),
        "m-1",
    )
    docs = fold(h.events)
    [motion] = [d for d in decision_trail(docs, portfolio_id="pf-1") if d["kind"] == "motion"]
    assert (motion["result"], motion["outcome"], motion["subject_id"]) == ("defeated", "approve", "p-4")
    assert [(v["voter"], v["vote"], v["rationale"]) for v in motion["votes"]] == [
        ("carol", "for", "fits"),
        ("dan", "against", "too early"),
    ]
    summary = portfolio_summary(docs, "pf-1")
    assert summary["board_members"] == ["carol", "dan"]
    assert summary["budget"][0]["committed"] == "120000.00"  # a motion commits nothing by itself


def _cancelled_second_project(*, measured: bool) -> History:
    """The standard history plus p-5, approved and initiated, then cancelled (b1 measured before, or not)."""
    h = standard_history()
    h.at(30).submitted("p-5", "pf-1", objective="o-1")
    h.registered("p-5", "pf-1", objective="o-1")
    h.decided("p-5", "pf-1", "approve", budget="80000")
    h.initiated("p-5", "pf-1", budget="80000")
    if measured:
        h.at(60).add(
            portfolio.BenefitRealised(
                project_id="p-5", portfolio_id="pf-1", benefit_id="b1", measured_value="1000", unit="EUR",
                measured_on=date(2026, 3, 1), recorded_by="pam", recorded_at=h.now, realisation_id="r-1",
            ),
            "r-1",
        )  # fmt: skip
    h.at(61).add(portfolio.ProjectCancelled(project_id="p-5", portfolio_id="pf-1", reason="no longer needed"), "p-5")
    return h


def test_a_cancelled_projects_unmeasured_benefits_leave_the_plan_and_are_forgone() -> None:
    docs = fold(_cancelled_second_project(measured=False).events)
    report = portfolio_summary(docs, "pf-1")
    assert report["planned_benefits"] == {"count": 2, "financial_total": "50000.00", "non_financial": 1}
    assert report["forgone_benefits"] == {"count": 2, "financial_total": "50000.00", "non_financial": 1}
    objective = {r["id"]: r for r in objectives_register(docs)}["o-1"]
    assert objective["planned_benefits"]["count"] == 2 and objective["forgone_benefits"]["count"] == 2
    register = {(r["project_id"], r["benefit_id"]): r["forgone"] for r in benefits_register(docs, portfolio_id="pf-1")}
    assert register == {("p-1", "b1"): False, ("p-1", "b2"): False, ("p-5", "b1"): True, ("p-5", "b2"): True}


def test_a_benefit_measured_before_the_cancellation_stays_planned() -> None:
    report = portfolio_summary(fold(_cancelled_second_project(measured=True).events), "pf-1")
    assert report["planned_benefits"] == {"count": 3, "financial_total": "100000.00", "non_financial": 1}
    assert report["forgone_benefits"] == {"count": 1, "financial_total": "0.00", "non_financial": 1}


def test_a_running_project_forgoes_nothing() -> None:
    report = portfolio_summary(fold(standard_history().events), "pf-1")
    assert report["forgone_benefits"] == {"count": 0, "financial_total": "0.00", "non_financial": 0}


def test_a_portfolios_summary_lists_only_the_objectives_of_its_strategy() -> None:
    h = standard_history()
    h.portfolio("pf-2", {"FY2026": "1000"})
    h.add(
        portfolio.ObjectiveCreated(
            objective_id="o-pf2", title="Theirs", weight=Decimal("10"), period_start=date(2026, 1, 1),
            period_end=date(2027, 12, 31), portfolio_ids=("pf-2",), created_by="ana",
        ),
        "o-pf2",
    )  # fmt: skip
    docs = fold(h.events)
    assert portfolio_summary(docs, "pf-1")["objectives"] == {"with_investment": ["o-1"], "without_investment": ["o-2"]}
    assert portfolio_summary(docs, "pf-2")["objectives"]["without_investment"] == ["o-1", "o-2", "o-pf2"]
    assert {r["id"]: r["portfolio_ids"] for r in objectives_register(docs)}["o-pf2"] == ["pf-2"]


def test_money_per_period_is_a_list_in_the_fiscal_calendars_order() -> None:
    budget = {"FY2027": "5", "FY2026": "10.5"}
    assert period_amounts(budget, "EUR", CALENDAR_YEAR) == [
        {"fiscal_period": "FY2026", "amount": "10.50"},
        {"fiscal_period": "FY2027", "amount": "5.00"},
    ]


def cut_for_the_summary(whole: InMemoryDocuments) -> InMemoryDocuments:
    """The documents as the live summary holds them: each cut down as `load_documents` does when reading."""
    slimmers = summary_slimmers()
    cut = InMemoryDocuments()
    for kind, key, scope, body in whole.rows():
        cut.put(kind, key, slimmers[kind](body) if kind in slimmers else body, scope=scope)
    return cut


def test_the_summary_of_documents_cut_to_its_fields_is_the_summary_of_the_whole_ones() -> None:
    whole = fold(varied_history().events)
    cut = cut_for_the_summary(whole)
    for portfolio_id in ("pf-1", "pf-2", "pf-none"):
        assert portfolio_summary(cut, portfolio_id) == portfolio_summary(whole, portfolio_id), portfolio_id
    # The history is varied enough for the comparison to mean something, and the cut holds less.
    pf1, pf2 = portfolio_summary(whole, "pf-1"), portfolio_summary(whole, "pf-2")
    assert set(pf1["pipeline"]) == {"approved", "deferred", "rejected", "submitted", "under_review", "withdrawn"}
    assert pf1["rag"]["amber"] == 1 and pf1["forgone_benefits"]["count"] == 1 and pf2["rag"]["amber"] == 1
    assert len(pf1["budget"]) == 2 and pf2["totals"]["actual"] == "81501.00"
    assert len(dumps(list(cut.rows()))) < len(dumps(list(whole.rows()))) / 2

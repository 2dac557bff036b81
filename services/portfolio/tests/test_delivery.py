"""Project delivery: given events, when a command, then events, for every transition and rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pmo_devstack.testing import only
from pmo_events.contracts.common import Benefit
from pmo_events.contracts.portfolio import (
    BenefitRealised,
    CandidateWithdrawn,
    ChangeRequestDecided,
    LessonRecorded,
    ProjectBudgetChanged,
    ProjectCancelled,
    ProjectClosed,
    StageGateDecided,
    StatusReported,
)
from pmo_events.contracts.portfolio.delivery import Gate, GateVerdict
from pmo_portfolio.candidates.domain import Scorecard, registration
from pmo_portfolio.candidates.domain.decisions import DecideInvestment, decide
from pmo_portfolio.delivery.domain import (
    alignment_reviews,
    benefits,
    change_requests,
    controls,
    gates,
    lessons,
    lifecycle,
    status_reports,
)
from pmo_portfolio.delivery.domain.benefits import Measurement
from pmo_portfolio.delivery.domain.lessons import Lesson
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.delivery.domain.status_reports import ReportStatus
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.funding.domain.envelope import remaining_envelope
from pmo_portfolio.shared.errors import EnvelopeExceeded, InvalidCommand, NotBoardMember, NotFound, RuleViolation

from .delivery_support import act, at, board_decides, funded, moved, project
from .support import NOW, created, given, money, registered

GATES: tuple[Gate, ...] = ("plan", "execute", "close")


def gate(state, name: Gate, decision: GateVerdict = "proceed", by: str = "bea"):
    return gates.decide_gate(funded(), state, name, decision, act(by))


def in_stage(stage: str):
    events: list = []
    for name in GATES[: ("initiate", *GATES).index(stage)]:
        events += gate(project(*events), name)
    return events


def test_gates_pass_in_order_and_proceed_moves_to_the_next_stage() -> None:
    [decided] = gate(project(), "plan")
    assert isinstance(decided, StageGateDecided)
    assert (decided.from_stage, decided.to_stage, decided.decided_by) == ("initiate", "plan", "bea")
    assert project(*in_stage("execute")).stage == "execute"
    with pytest.raises(RuleViolation, match=r"next gate .* is plan, not execute"):
        gate(project(), "execute")
    with pytest.raises(RuleViolation, match="is none"):
        gate(project(*in_stage("close")), "close")


def test_only_the_projects_board_decides_a_gate_with_a_rationale() -> None:
    with pytest.raises(NotBoardMember):
        gate(project(), "plan", by="mallory")
    with pytest.raises(InvalidCommand) as refused:
        gates.decide_gate(funded(), project(), "plan", "proceed", act(why=" "))
    assert refused.value.field == "rationale"


def test_hold_puts_the_project_on_hold_and_the_same_gate_decides_again() -> None:
    held = project(*gate(project(), "plan", "hold"))
    assert (held.status, held.stage) == ("on_hold", "initiate")
    with pytest.raises(RuleViolation, match="already on hold"):
        gate(held, "plan", "hold")
    resumed = project(*gate(project(), "plan", "hold"), *gate(held, "plan"))
    assert (resumed.status, resumed.stage) == ("active", "plan")


def test_stop_cancels_and_releases_the_unspent_budget_to_the_envelope() -> None:
    spent = status_reports.report_status(funded(), project(), _report(actual_cost="150"))
    state = project(*spent)
    events = gate(state, "plan", "stop")
    decided, cancelled, released = events
    assert isinstance(decided, StageGateDecided) and decided.decision == "stop"
    assert isinstance(cancelled, ProjectCancelled) and cancelled.released_budget == money(("2027", "250"))
    assert isinstance(released, ProjectBudgetChanged) and released.delta == money(("2027", "-250"))
    assert project(*spent, *events).status == "cancelled"
    after = moved(funded(), events)
    assert after.committed["2027"] == Decimal("150")
    with pytest.raises(RuleViolation):
        gate(project(*spent, *events), "plan")


def test_unspent_budget_counts_spending_against_the_earliest_periods() -> None:
    budget = {"2028": Decimal("300"), "2027": Decimal("200")}
    assert lifecycle.unspent(budget, Decimal("250")) == money(("2028", "250"))
    assert lifecycle.unspent(budget, Decimal("900")) == ()


def test_pause_resume_and_cancel() -> None:
    paused = lifecycle.pause(funded(), project(), act())
    assert project(*paused).status == "paused"
    with pytest.raises(RuleViolation):
        lifecycle.pause(funded(), project(*paused), act())
    with pytest.raises(RuleViolation):
        gate(project(*paused), "plan")
    resumed = lifecycle.resume(funded(), project(*paused), act())
    assert project(*paused, *resumed).status == "active"
    with pytest.raises(RuleViolation):
        lifecycle.resume(funded(), project(), act())
    cancelled = lifecycle.cancel(funded(), project(*paused), act(why="strategy changed"))
    assert isinstance(cancelled[0], ProjectCancelled) and cancelled[0].reason == "strategy changed"
    assert cancelled[0].effective_on == NOW.date() and cancelled[0].released_budget == money(("2027", "400"))
    with pytest.raises(RuleViolation):
        lifecycle.cancel(funded(), project(*paused, *cancelled), act())


def test_close_only_from_execute_or_close_with_the_final_cost() -> None:
    with pytest.raises(RuleViolation, match="closes from execute"):
        lifecycle.close(funded(), project(*in_stage("plan")), Decimal("100"), act())
    events = lifecycle.close(funded(), project(*in_stage("execute")), Decimal("380"), act())
    closed, released = events
    assert isinstance(closed, ProjectClosed) and closed.final_cost == Decimal("380")
    assert isinstance(released, ProjectBudgetChanged)
    assert closed.released_budget == money(("2027", "20")) and released.delta == money(("2027", "-20"))
    state = project(*in_stage("execute"), *events)
    assert (state.status, state.stage) == ("closed", "close")
    over = lifecycle.close(funded(), project(*in_stage("close")), Decimal("450"), act())
    assert [type(e) for e in over] == [ProjectClosed]


#: When the reports of these tests are made: after the project's year, so every 2027 date is in the past.
LATER = at(date(2028, 1, 15))


def _report(
    period_end: date = date(2027, 6, 30),
    actual_cost: str = "200",
    percent_complete: Decimal = Decimal("50"),
    **extra: Any,
) -> ReportStatus:
    return ReportStatus(
        period_end=period_end,
        actual_cost=Decimal(actual_cost),
        percent_complete=percent_complete,
        summary="on track",
        reported_by="pam",
        reported_at=LATER,
        **extra,
    )


def reported(portfolio: Portfolio, state: Project, command: ReportStatus) -> StatusReported:
    """The status report the rules record for `command`."""
    return only(StatusReported, status_reports.report_status(portfolio, state, command))


def test_a_status_report_derives_ev_and_rag_from_the_budget() -> None:
    report = reported(funded(), project(), _report(percent_complete=Decimal("40")))
    assert isinstance(report, StatusReported)
    # BAC 400 over 2027 (a dateable period): PV by 30 June = 400 * 181/365 = 198.36; EV = 160; AC = 200.
    assert (report.bac, report.planned_value, report.earned_value) == (400, Decimal("198.36"), Decimal("160.00"))
    assert (report.spi, report.cpi) == ("0.8066", "0.8000")
    # EAC = BAC x AC / EV = 400 x 200 / 160 = 500; the tolerances used are recorded with the figures.
    assert (report.schedule_variance, report.cost_variance) == (Decimal("-38.36"), Decimal("-40.00"))
    assert (report.eac, report.vac, report.green_at, report.amber_at) == (500, -100, Decimal("0.95"), Decimal("0.90"))
    assert report.rag == report.derived_rag and report.rag.overall == "red" and report.rag_source == "derived"
    assert report.correction_of is None


def test_bac_is_the_budget_in_force_at_the_period_end() -> None:
    """A budget change counts from its effective day: a later-filed report for an earlier period keeps the old BAC."""
    request = change_requests.request_change(project(), _budget_change(("2027", "100")), act(by="pam"))
    state = project(*request)
    cr_id = request[0].change_request_id
    decided = board_decides(funded(), state, cr_id, "approve", act(at=at(date(2027, 7, 1))))
    state = project(*request, *decided)
    assert state.budget == {"2027": Decimal("500")}
    june = reported(funded(), state, _report(period_end=date(2027, 6, 30)))
    july = reported(funded(), state, _report(period_end=date(2027, 7, 31)))
    assert (june.bac, july.bac) == (400, 500)


def test_a_report_is_dated_within_the_projects_life_and_not_after_today() -> None:
    for period_end in (date(2026, 12, 31), date(1, 1, 1), date(2028, 1, 16), date(9999, 12, 31)):
        with pytest.raises(InvalidCommand) as refused:
            status_reports.report_status(funded(), project(), _report(period_end=period_end))
        assert refused.value.field == "period_end"
    first_day = reported(funded(), project(), _report(period_end=date(2027, 1, 1)))
    today = reported(funded(), project(), _report(period_end=LATER.date()))
    assert (first_day.period_end, today.period_end) == (date(2027, 1, 1), LATER.date())


def test_tolerances_set_on_the_portfolio_change_the_derived_rag() -> None:
    lenient = controls.set_rag_tolerances(funded(), Decimal("0.80"), Decimal("0.70"), "ann")
    report = reported(funded(*lenient), project(), _report(percent_complete=Decimal("40")))
    assert (report.rag.schedule, report.rag.cost) == ("green", "green")
    with pytest.raises(InvalidCommand) as refused:
        controls.set_rag_tolerances(funded(), Decimal("0.80"), Decimal("0.90"), "ann")
    assert refused.value.field == "green_at"


def test_a_manual_rag_better_than_the_figures_needs_a_justification() -> None:
    rosy = _report(percent_complete=Decimal("40"), rag=("green", "green", "green"))
    with pytest.raises(InvalidCommand, match="schedule, cost") as refused:
        status_reports.report_status(funded(), project(), rosy)
    assert refused.value.field == "justification"
    justified = _report(percent_complete=Decimal("40"), rag=("green", "green", "green"), justification="catch-up")
    report = reported(funded(), project(), justified)
    assert report.rag_source == "manual" and report.rag.overall == "green" and report.derived_rag.overall == "red"
    worse = _report(percent_complete=Decimal("60"), actual_cost="100", rag=("green", "green", "red"))
    flagged = reported(funded(), project(), worse)
    assert flagged.rag.overall == "red"


def test_a_second_report_for_a_period_is_a_correction() -> None:
    first = reported(funded(), project(), _report())
    second = reported(funded(), project(first), _report(actual_cost="210"))
    assert second.correction_of == first.report_id
    state = project(first, second)
    assert state.latest_report() == second and list(state.current_reports) == [second.report_id]
    assert state.retired_reports == {first.report_id: "superseded"}
    other = reported(funded(), state, _report(period_end=date(2027, 7, 31)))
    assert other.correction_of is None


def test_a_report_can_be_superseded_by_a_correction_with_a_reason() -> None:
    wrong = reported(funded(), project(), _report(period_end=date(2027, 12, 31), actual_cost="900"))
    state = project(wrong)
    fix = _report(period_end=date(2027, 6, 30), supersedes=wrong.report_id)
    with pytest.raises(InvalidCommand) as refused:
        status_reports.report_status(funded(), state, fix)
    assert refused.value.field == "correction_reason"
    fix = _report(period_end=date(2027, 6, 30), supersedes=wrong.report_id, correction_reason="typed the year end")
    right = reported(funded(), state, fix)
    assert (right.correction_of, right.correction_reason) == (wrong.report_id, "typed the year end")
    state = project(wrong, right)
    assert state.latest_report() == right and state.retired_reports == {wrong.report_id: "superseded"}
    with pytest.raises(RuleViolation, match="already superseded"):
        status_reports.report_status(funded(), state, fix)
    with pytest.raises(NotFound):
        status_reports.report_status(funded(), state, _report(supersedes="nope", correction_reason="x"))


def test_a_correction_may_not_leave_two_reports_for_one_period_end() -> None:
    june = reported(funded(), project(), _report(period_end=date(2027, 6, 30)))
    july = reported(funded(), project(june), _report(period_end=date(2027, 7, 31)))
    clash = _report(period_end=date(2027, 6, 30), supersedes=july.report_id, correction_reason="wrong month")
    with pytest.raises(RuleViolation, match=june.report_id):
        status_reports.report_status(funded(), project(june, july), clash)


def test_a_withdrawn_report_stops_counting_and_stays_in_the_history() -> None:
    june = reported(funded(), project(), _report(period_end=date(2027, 6, 30)))
    typo = reported(funded(), project(june), _report(period_end=date(2027, 12, 31), actual_cost="5"))
    state = project(june, typo)
    assert state.latest_report() == typo
    with pytest.raises(InvalidCommand) as refused:
        status_reports.withdraw_report(state, typo.report_id, act(by="pam", why=" "))
    assert refused.value.field == "reason"
    withdrawn = status_reports.withdraw_report(state, typo.report_id, act(by="pam", why="entered in error"))
    state = project(june, typo, *withdrawn)
    assert state.latest_report() == june and state.retired_reports == {typo.report_id: "withdrawn"}
    with pytest.raises(RuleViolation, match="already withdrawn"):
        status_reports.withdraw_report(state, typo.report_id, act(by="pam"))
    with pytest.raises(NotFound):
        status_reports.withdraw_report(state, "nope", act(by="pam"))
    # The cancellation counts what the latest report that still counts says was spent.
    [cancelled, _released] = lifecycle.cancel(funded(), state, act())
    assert isinstance(cancelled, ProjectCancelled) and cancelled.released_budget == money(("2027", "200"))


def test_status_reports_refuse_bad_figures_and_finished_projects() -> None:
    with pytest.raises(InvalidCommand):
        status_reports.report_status(funded(), project(), _report(percent_complete=Decimal("101")))
    with pytest.raises(InvalidCommand):
        status_reports.report_status(funded(), project(), _report(actual_cost="-1"))
    cancelled = project(*lifecycle.cancel(funded(), project(), act()))
    with pytest.raises(RuleViolation):
        status_reports.report_status(funded(), cancelled, _report())


def test_reviews_move_the_review_date() -> None:
    [reviewed] = alignment_reviews.review(funded(), project(), True, "continue", act(at=at(date(2027, 3, 1))))
    assert project(reviewed).last_reviewed_on == date(2027, 3, 1)
    assert project().initiated_on == NOW.date()
    with pytest.raises(NotBoardMember):
        alignment_reviews.review(funded(), project(), True, "continue", act(by="pam"))
    cadence = controls.set_review_cadence(funded(), 30, "ann")
    assert funded(*cadence).review_every_days == 30


def _budget_change(*delta: tuple[str, str]) -> change_requests.RequestChange:
    return change_requests.RequestChange(kind="budget", rationale="more scope", budget_delta=money(*delta))


def test_an_approved_budget_increase_obeys_the_envelope() -> None:
    [asked] = change_requests.request_change(project(), _budget_change(("2027", "700")), act("pam"))
    state = project(asked)
    with pytest.raises(EnvelopeExceeded) as refused:
        board_decides(funded(), state, asked.change_request_id, "approve", act())
    assert (refused.value.remaining, refused.value.asked) == (Decimal("600"), Decimal("700"))
    [small] = change_requests.request_change(project(), _budget_change(("2027", "600")), act("pam"))
    decided, funding = board_decides(funded(), project(small), small.change_request_id, "approve", act())
    assert isinstance(decided, ChangeRequestDecided) and isinstance(funding, ProjectBudgetChanged)
    assert moved(funded(), [funding]).committed["2027"] == Decimal("1000")
    assert project(small, decided).budget == {"2027": Decimal("1000")}
    with pytest.raises(RuleViolation, match="already approved"):
        board_decides(funded(), project(small, decided), small.change_request_id, "reject", act())


def test_a_budget_decrease_returns_money_and_a_rejection_changes_nothing() -> None:
    [asked] = change_requests.request_change(project(), _budget_change(("2027", "-100")), act("pam"))
    _decided, funding = board_decides(funded(), project(asked), asked.change_request_id, "approve", act())
    assert (
        remaining_envelope(moved(funded(), [funding]).budget, moved(funded(), [funding]).committed)[0].remaining == 700
    )
    [rejected] = board_decides(funded(), project(asked), asked.change_request_id, "reject", act())
    assert project(asked, rejected).budget == {"2027": Decimal("400")}
    with pytest.raises(InvalidCommand) as below:
        change_requests.request_change(project(), _budget_change(("2027", "-500")), act("pam"))
    assert below.value.field == "budget_delta.0.amount"


def test_schedule_and_scope_changes() -> None:
    schedule = change_requests.RequestChange(kind="schedule", rationale="late supplier", new_end=date(2028, 3, 31))
    [asked] = change_requests.request_change(project(), schedule, act("pam"))
    [decided] = board_decides(funded(), project(asked), asked.change_request_id, "approve", act())
    assert project(asked, decided).timeline.end == date(2028, 3, 31)
    with pytest.raises(InvalidCommand) as refused:
        change_requests.request_change(
            project(), change_requests.RequestChange(kind="schedule", rationale="x"), act("pam")
        )
    assert refused.value.field == "new_end"
    with pytest.raises(InvalidCommand):
        change_requests.request_change(
            project(), change_requests.RequestChange(kind="scope", rationale="x", new_end=date(2028, 1, 1)), act()
        )
    with pytest.raises(NotFound):
        board_decides(funded(), project(), "nope", "approve", act())


def test_lessons_any_time_and_benefits_also_after_closure() -> None:
    closed = project(*in_stage("execute"), *lifecycle.close(funded(), project(*in_stage("execute")), Decimal(1), act()))
    lesson = only(
        LessonRecorded,
        lessons.record_lessons(closed, (Lesson("Pilot first", "it paid", "delivery", ("pilot",), "d-1"),), "pam", NOW),
    )
    assert lesson.decision_id == "d-1" and lesson.tags == ("pilot",)
    later = datetime(2029, 2, 1, tzinfo=UTC)
    measured = only(
        BenefitRealised,
        benefits.realise_benefit(closed, "b-1", Measurement("450", date(2029, 1, 31)), "EUR", "pam", later),
    )
    assert measured.measured_value == "450"
    assert measured.unit == "EUR"  # a financial benefit's unit is the currency
    with pytest.raises(NotFound):
        benefits.realise_benefit(closed, "b-9", Measurement("1", date(2029, 1, 31)), "EUR", "pam", later)


def _benefit_project(*planned: Benefit):
    return project(*in_stage("execute")).model_copy(update={"benefits": planned})


@pytest.mark.parametrize("value", ["abc", "", "12 k", "NaN", "Infinity", "1e400", "1234567890123456"])
def test_a_financial_benefit_is_measured_as_a_number(value: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        benefits.realise_benefit(
            project(*in_stage("execute")), "b-1", Measurement(value, NOW.date()), "EUR", "pam", NOW
        )
    assert refused.value.field == "measured_value"
    assert "a number in EUR" in refused.value.message


def test_a_quantitative_benefit_is_a_number_in_its_unit_and_a_qualitative_one_is_text() -> None:
    minutes = Benefit(benefit_id="q", description="faster", kind="non_financial", target_value="30", unit="minutes")
    morale = Benefit(benefit_id="m", description="morale", kind="non_financial", target_value="happier staff")
    counted = Benefit(benefit_id="c", description="fewer errors", kind="non_financial", target_value="12")
    state = _benefit_project(minutes, morale, counted)
    measure = Measurement(" 28.5 ", NOW.date(), "minutes")
    ok = only(BenefitRealised, benefits.realise_benefit(state, "q", measure, "EUR", "pam", NOW))
    assert (ok.measured_value, ok.unit) == ("28.5", "minutes")
    for benefit_id, value in (("q", "about half an hour"), ("c", "fewer")):
        with pytest.raises(InvalidCommand) as refused:
            benefits.realise_benefit(state, benefit_id, Measurement(value, NOW.date()), "EUR", "pam", NOW)
        assert refused.value.field == "measured_value"
    with pytest.raises(InvalidCommand) as wrong_unit:
        benefits.realise_benefit(state, "q", Measurement("28", NOW.date(), "hours"), "EUR", "pam", NOW)
    assert wrong_unit.value.field == "unit" and "in minutes, not in hours" in wrong_unit.value.message
    survey = Measurement("staff survey up", NOW.date())
    text = only(BenefitRealised, benefits.realise_benefit(state, "m", survey, "EUR", "pam", NOW))
    assert (text.measured_value, text.unit) == ("staff survey up", None)


def test_a_benefit_is_not_measured_after_today() -> None:
    tomorrow = NOW.date() + timedelta(days=1)
    with pytest.raises(InvalidCommand) as refused:
        benefits.realise_benefit(project(*in_stage("execute")), "b-1", Measurement("1", tomorrow), "EUR", "pam", NOW)
    assert refused.value.field == "measured_on"


def test_a_withdrawn_proposal_is_no_longer_decidable() -> None:
    from pmo_events.contracts.intake import ProposalWithdrawn

    withdrawn = ProposalWithdrawn(
        proposal_id="c-2", portfolio_id="pf-1", withdrawn_by="rita", reason="no longer needed"
    )
    state = given(created(), registered("c-2"))
    [event] = registration.withdraw_candidate(state, withdrawn)
    assert isinstance(event, CandidateWithdrawn) and event.reason == "no longer needed"
    after = given(created(), registered("c-2"), event)
    assert after.candidates["c-2"].status == "withdrawn"
    with pytest.raises(RuleViolation, match="withdrawn"):
        decide(after, DecideInvestment("c-2", "reject", "no", "bea", NOW), Scorecard())
    assert registration.withdraw_candidate(after, withdrawn) == []
    assert registration.withdraw_candidate(given(created()), withdrawn) == []


def test_a_project_is_overdue_for_review_once_the_cadence_has_passed() -> None:
    from pmo_portfolio.delivery.queries import project_view

    fresh = project()  # initiated on NOW (2026-11-25), never reviewed
    assert project_view(fresh, 30, date(2026, 12, 25))["review_overdue"] is False
    assert project_view(fresh, 30, date(2026, 12, 26))["review_overdue"] is True
    [reviewed] = alignment_reviews.review(funded(), fresh, True, "continue", act(at=at(date(2026, 12, 20))))
    view = project_view(project(reviewed), 30, date(2026, 12, 26))
    assert (view["review_overdue"], view["next_review_due"]) == (False, "2027-01-19")
    cancelled = project(*lifecycle.cancel(funded(), fresh, act()))
    assert project_view(cancelled, 30, date(2027, 6, 1))["review_overdue"] is False

"""The risk view and the dependency map from the portfolio's RAID and dependency events, now and as of before."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pmo_events.contracts import portfolio
from pmo_events.contracts.portfolio import RaidAction
from pmo_reporting.projections.catalogue import PORTFOLIO
from pmo_reporting.projections.documents import InMemoryDocuments
from pmo_reporting.reports.raid import dependency_map, risk_view

from .support import T0, History, standard_history

GRAPH = "dependencies-pf-1"


def fold(history: History, until: datetime | None = None) -> InMemoryDocuments:
    docs = InMemoryDocuments()
    for event in history.events:
        if until is None or event.time <= until:
            PORTFOLIO.apply(docs, event)
    return docs


def logged() -> History:
    h = standard_history()
    h.initiated("p-2", "pf-1")
    h.at(20).add(
        portfolio.RaidItemRaised(
            raid_item_id="r-1", portfolio_id="pf-1", kind="risk", level="project", level_id="p-1", title="Vendor late",
            owner="pam", probability=3, impact=3, score=9, raised_by="pam", raised_at=h.now,
        ),
        "r-1",
    )  # fmt: skip
    action = RaidAction(action_id="a-1", description="second vendor", owner="pam", due_on=date(2026, 2, 1))
    h.at(21)
    planned = portfolio.RiskResponsePlanned(
        raid_item_id="r-1",
        portfolio_id="pf-1",
        response="reduce",
        actions=(action,),
        planned_by="pam",
        planned_at=h.now,
    )
    h.add(planned, "r-1")
    h.at(22).add(
        portfolio.DependencyRegistered(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", needed="the API", need_date=date(2026, 6, 30), registered_by="ann",
            registered_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    # the slip: the risk is scored 4 x 4 and escalates to the portfolio; the dependency is at risk
    h.at(40).add(portfolio.RiskAssessed(raid_item_id="r-1", portfolio_id="pf-1", probability=4, impact=4, score=16,
                                        rationale="slipped", assessed_by="pam", assessed_at=h.now), "r-1")  # fmt: skip
    h.add(
        portfolio.RaidItemEscalated(
            raid_item_id="r-1", portfolio_id="pf-1", from_level="project", from_level_id="p-1", to_level="portfolio",
            to_level_id="pf-1", reason="score 16 above the project's tolerance of 12", score=16, escalated_at=h.now,
        ),
        "r-1",
    )  # fmt: skip
    h.add(
        portfolio.DependencyAtRisk(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", need_date=date(2026, 6, 30), cause="forecast_after_need_date",
            provider_forecast_end=date(2026, 9, 30), flagged_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    return h


def test_the_risk_view_shows_the_heatmap_escalations_and_overdue_actions() -> None:
    h = logged()
    body, ranked = risk_view(fold(h), "pf-1", None, None, date(2026, 3, 1))
    [cell] = [c for c in body["cells"] if c["count"]]
    assert (cell["probability"], cell["impact"], cell["raid_item_ids"]) == (4, 4, ["r-1"])
    assert [(r["id"], r["score"], r["level"], r["escalated"]) for r in ranked] == [("r-1", 16, "portfolio", True)]
    [move] = body["escalations"]
    assert (move["from_level"], move["to_level"], move["escalated"]) == ("project", "portfolio", True)
    assert [a["action_id"] for a in body["overdue_actions"]] == ["a-1"]
    at_project, _ = risk_view(fold(h), "pf-1", "project", "p-1", date(2026, 3, 1))
    assert all(c["count"] == 0 for c in at_project["cells"])  # it sits at the portfolio now


def test_as_of_before_the_slip_the_risk_sits_at_its_project_and_nothing_is_at_risk() -> None:
    h = logged()
    before = fold(h, until=T0 + timedelta(days=30))
    body, ranked = risk_view(before, "pf-1", None, None, date(2026, 1, 26))
    assert [(r["score"], r["level"], r["escalated"]) for r in ranked] == [(9, "project", False)]
    assert body["escalations"] == [] and body["overdue_actions"] == []
    graph, edges = dependency_map(before, "pf-1")
    assert [e["at_risk"] for e in edges] == [False] and not any(n["at_risk"] for n in graph["nodes"])


def test_the_dependency_map_has_nodes_and_edges_with_at_risk_flags() -> None:
    graph, [edge] = dependency_map(fold(logged()), "pf-1")
    assert (edge["dependent_project_id"], edge["provider_project_id"], edge["at_risk"], edge["cause"]) == (
        "p-2", "p-1", True, "forecast_after_need_date",
    )  # fmt: skip
    assert edge["provider_forecast_end"] == "2026-09-30"
    assert {n["project_id"]: n["at_risk"] for n in graph["nodes"]} == {"p-1": False, "p-2": True}


def test_a_withdrawn_dependency_leaves_the_map_and_as_of_before_it_is_still_there() -> None:
    h = logged()
    h.at(50).add(
        portfolio.DependencyRiskCleared(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", provider_forecast_end=date(2026, 9, 30), cleared_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    h.add(
        portfolio.DependencyWithdrawn(
            graph_id=GRAPH, portfolio_id="pf-1", dependency_id="d-1", dependent_project_id="p-2",
            provider_project_id="p-1", reason="not needed any more", withdrawn_by="ann", withdrawn_at=h.now,
        ),
        GRAPH,
    )  # fmt: skip
    graph, edges = dependency_map(fold(h), "pf-1")
    assert edges == [] and graph["nodes"] == []
    _, [edge] = dependency_map(fold(h, until=T0 + timedelta(days=45)), "pf-1")
    assert edge["at_risk"]


def test_dependencies_recorded_as_v1_events_fold_as_their_v2_successors() -> None:
    """Reporting's log keeps the v1 events recorded before milestones: they still feed the map."""
    from pmo_events.contracts.portfolio.dependencies import DependencyAtRiskV1, DependencyRegisteredV1

    h = standard_history()
    h.initiated("p-2", "pf-1")
    pair = {"graph_id": GRAPH, "portfolio_id": "pf-1", "dependency_id": "d-1", "dependent_project_id": "p-2",
            "provider_project_id": "p-1", "need_date": date(2026, 6, 30)}  # fmt: skip
    h.at(22).add(DependencyRegisteredV1.model_validate({**pair, "needed": "the API", "registered_by": "ann",
                                                        "registered_at": h.now}), GRAPH)  # fmt: skip
    h.at(40).add(DependencyAtRiskV1.model_validate({**pair, "cause": "provider_paused", "flagged_at": h.now}), GRAPH)
    assert [e.type for e in h.events[-2:]] == [
        "pmo.portfolio.DependencyRegistered.v1",
        "pmo.portfolio.DependencyAtRisk.v1",
    ]
    graph, [edge] = dependency_map(fold(h), "pf-1")
    assert (edge["provider_project_id"], edge["provider_milestone"], edge["at_risk"], edge["cause"]) == (
        "p-1", None, True, "provider_paused",
    )  # fmt: skip
    assert {n["project_id"]: n["at_risk"] for n in graph["nodes"]} == {"p-1": False, "p-2": True}


def test_a_dependency_event_naming_both_providers_or_neither_changes_no_report() -> None:
    """Attack pass: a v2 dependency event whose provider is a project AND a milestone (or nothing) is refused by
    its contract, so the map skips it, live and as of any instant, and the other dependencies stand."""
    import uuid

    from pmo_events.envelope import RecordedEvent

    h = logged()
    good = next(e for e in h.events if e.type == "pmo.portfolio.DependencyRegistered.v2")
    milestone = {"programme_id": "pg-1", "tranche_id": "t-1"}
    for odd in ({**good.data, "dependency_id": "d-both", "provider_milestone": milestone},
                {**good.data, "dependency_id": "d-none", "provider_project_id": None}):  # fmt: skip
        forged = RecordedEvent(event_id=str(uuid.uuid4()), type=good.type, source=good.source, stream_id=GRAPH,
                               sequence=len(h.events) + 100, time=h.now, data=odd)  # fmt: skip
        docs = fold(h)
        assert PORTFOLIO.apply(docs, forged) is False
        _, edges = dependency_map(docs, "pf-1")
        assert [e["id"] for e in edges] == ["d-1"]

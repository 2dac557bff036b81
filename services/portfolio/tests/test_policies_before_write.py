"""A status report's append goes with the unit of work's last write (one statement on PostgreSQL) only when every
policy that reacts to `StatusReported` may run on the prepared event before the write (`on_prepared`): these two,
which read aggregates only (the project and the dependency graph; the RAID items). Pure: no database."""

from __future__ import annotations

from pmo_events.contracts.portfolio import StatusReported
from pmo_events.runtime.unit_of_work import policies_for
from pmo_portfolio.bootstrap import PORTFOLIO


def test_a_status_report_runs_only_policies_that_may_run_before_its_write() -> None:
    reacting = policies_for(PORTFOLIO.policies, StatusReported.type_name())
    assert [p.__name__ for p in reacting] == ["reassess_dependencies", "check_reported_raid_items"]
    assert all(getattr(p, "on_prepared", False) for p in reacting)


def test_a_status_report_changes_no_view_row_but_its_projects_row() -> None:
    """`views.reports_rows` tells the unit of work a report needs no view row but the project's (which the report
    writes itself, guarded): true while `update_projects` is the only projector that may write for one. A projector
    that starts to (`projects_on`) fails this, and `reports_rows` must then give its rows or None."""
    from types import SimpleNamespace

    from pmo_portfolio.candidates.views import update_candidates
    from pmo_portfolio.delivery.views import update_projects
    from pmo_portfolio.replay import PORTFOLIO_VIEWS
    from pmo_portfolio.shared.projecting import projects

    report = SimpleNamespace(type=StatusReported.type_name(), stream_type="project")
    declared = [p for p in PORTFOLIO_VIEWS.projectors if getattr(p, "projects_on", None) is not None]
    assert [p for p in declared if projects(p, report)] == [update_projects]  # type: ignore[arg-type]
    # The one that declares nothing folds candidates' registrations, decisions and withdrawals only (read).
    assert [p for p in PORTFOLIO_VIEWS.projectors if p not in declared] == [update_candidates]

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

"""Stage gates: decided by the board in stage order; proceed moves on, hold holds, stop cancels the project."""

from __future__ import annotations

import uuid

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import StageGateDecided
from pmo_events.contracts.portfolio.delivery import Gate, GateVerdict
from pmo_portfolio.delivery.domain.lifecycle import Act, cancel, check_board, check_rationale, existing
from pmo_portfolio.delivery.domain.project import Project
from pmo_portfolio.funding.domain import Portfolio
from pmo_portfolio.shared.errors import RuleViolation


def decide_gate(portfolio: Portfolio, project: Project, gate: Gate, decision: GateVerdict, act: Act) -> list[Event]:
    """Gates come in stage order; proceed moves on, hold puts the project on hold, stop cancels it."""
    existing(project)
    check_board(portfolio, project, act.by)
    check_rationale(act)
    if project.status not in {"active", "on_hold"}:
        raise RuleViolation(f"project {project.project_id} is {project.status}: no gate can be decided")
    expected = project.next_stage()
    if gate != expected:
        raise RuleViolation(f"the next gate of project {project.project_id} is {expected or 'none'}, not {gate}")
    if decision == "hold" and project.status == "on_hold":
        raise RuleViolation(f"project {project.project_id} is already on hold at the {gate} gate")
    decided = StageGateDecided(
        project_id=project.project_id,
        portfolio_id=project.portfolio_id,
        decision_id=str(uuid.uuid4()),
        gate=gate,
        decision=decision,
        from_stage=project.stage,
        to_stage=gate if decision == "proceed" else project.stage,
        rationale=act.rationale,
        decided_by=act.by,
        decided_at=act.at,
    )
    if decision != "stop":
        return [decided]
    stopped = project.model_copy(update={"status": "active"})
    return [decided, *cancel(portfolio, stopped, act)]

"""Programme rules, pure: the Programme aggregate and what may be decided on it."""

from pmo_portfolio.programmes.domain.programme import Programme, Tranche, evolve, initial, ring_fenced
from pmo_portfolio.programmes.domain.rules import (
    Joining,
    ProgrammeDefinition,
    TranchePlan,
    check_envelope_holds_ring_fences,
    check_ring_fence,
    create,
    join,
    plan_tranche,
    report_status,
    review_tranche,
)

__all__ = [
    "Joining",
    "Programme",
    "ProgrammeDefinition",
    "Tranche",
    "TranchePlan",
    "check_envelope_holds_ring_fences",
    "check_ring_fence",
    "create",
    "evolve",
    "initial",
    "join",
    "plan_tranche",
    "report_status",
    "review_tranche",
    "ring_fenced",
]

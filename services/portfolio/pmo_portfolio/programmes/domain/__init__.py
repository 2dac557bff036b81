"""Programme rules, pure: the Programme aggregate and what may be decided on it."""

from pmo_portfolio.programmes.domain.benefits import (
    BenefitPlan,
    ContributingProject,
    define_benefit,
    set_contribution,
)
from pmo_portfolio.programmes.domain.programme import (
    Programme,
    ProgrammeBenefit,
    Tranche,
    evolve,
    initial,
    ring_fenced,
)
from pmo_portfolio.programmes.domain.rules import (
    Joining,
    ProgrammeDefinition,
    TranchePlan,
    change_draw,
    check_envelope_holds_ring_fences,
    check_ring_fence,
    create,
    join,
    plan_tranche,
    report_status,
    review_tranche,
)

__all__ = [
    "BenefitPlan",
    "ContributingProject",
    "Joining",
    "Programme",
    "ProgrammeBenefit",
    "ProgrammeDefinition",
    "Tranche",
    "TranchePlan",
    "change_draw",
    "check_envelope_holds_ring_fences",
    "check_ring_fence",
    "create",
    "define_benefit",
    "evolve",
    "initial",
    "join",
    "plan_tranche",
    "report_status",
    "review_tranche",
    "ring_fenced",
    "set_contribution",
]

"""Events published by the portfolio service on topic `pmo.portfolio.events`, one module per PMO concept.

Every name is re-exported here, so `from pmo_events.contracts.portfolio import InvestmentDecided` keeps
working and no published type changes.
"""

from pmo_events.contracts.portfolio.candidates import (
    AssessmentEvidence,
    CandidateRegistered,
    CandidateScored,
    CandidateWithdrawn,
    Criterion,
    DecisionEvidence,
    InvestmentDecided,
    ScoringModelSet,
)
from pmo_events.contracts.portfolio.delivery import (
    AlignmentReviewed,
    BenefitRealised,
    ChangeRequestDecided,
    ChangeRequested,
    LessonRecorded,
    ProjectCancelled,
    ProjectClosed,
    ProjectInitiated,
    ProjectPaused,
    ProjectResumed,
    RagRating,
    RagTolerancesSet,
    ReviewCadenceSet,
    StageGateDecided,
    StatusReported,
)
from pmo_events.contracts.portfolio.funding import (
    BoardMemberAdded,
    BoardMemberRemoved,
    PeriodEnvelope,
    PortfolioBudgetSet,
    PortfolioCreated,
    ProjectBudgetChanged,
)
from pmo_events.contracts.portfolio.objectives import (
    ObjectiveCreated,
    ObjectiveRetired,
    ObjectiveUpdated,
)
from pmo_events.contracts.portfolio.scenarios import (
    ScenarioPeriodTotal,
    ScenarioSaved,
)
from pmo_events.contracts.portfolio.topic import SERVICE, TOPIC, PortfolioEvent

__all__ = [
    "SERVICE",
    "TOPIC",
    "AlignmentReviewed",
    "AssessmentEvidence",
    "BenefitRealised",
    "BoardMemberAdded",
    "BoardMemberRemoved",
    "CandidateRegistered",
    "CandidateScored",
    "CandidateWithdrawn",
    "ChangeRequestDecided",
    "ChangeRequested",
    "Criterion",
    "DecisionEvidence",
    "InvestmentDecided",
    "LessonRecorded",
    "ObjectiveCreated",
    "ObjectiveRetired",
    "ObjectiveUpdated",
    "PeriodEnvelope",
    "PortfolioBudgetSet",
    "PortfolioCreated",
    "PortfolioEvent",
    "ProjectBudgetChanged",
    "ProjectCancelled",
    "ProjectClosed",
    "ProjectInitiated",
    "ProjectPaused",
    "ProjectResumed",
    "RagRating",
    "RagTolerancesSet",
    "ReviewCadenceSet",
    "ScenarioPeriodTotal",
    "ScenarioSaved",
    "ScoringModelSet",
    "StageGateDecided",
    "StatusReported",
]

"""Which stream (aggregate) every published event belongs to: its `ce_streamtype`, and the payload field
whose value is `ce_subject` and the Kafka record key. Events of one stream share a key, so they stay in
one partition, in order. `tests/e2e` checks this table against the records a running stack publishes."""

from __future__ import annotations

from dataclasses import dataclass

from pmo_events.contracts.base import Event


@dataclass(frozen=True)
class Stream:
    type: str
    #: The payload field that equals ce_subject (and the key).
    subject_field: str
    meaning: str
    events: frozenset[str]


STREAMS = (
    Stream("proposal", "proposal_id", "the proposal (later the candidate and the project: one id)", frozenset({
        "ProposalDrafted", "ProposalEdited", "ProposalSubmitted", "ProposalUnderReview", "ProposalApproved",
        "ProposalRejected", "ProposalDeferred", "ProposalChangesRequested", "ProposalWithdrawn"})),
    Stream("objective", "objective_id", "the strategic objective", frozenset({
        "ObjectiveCreated", "ObjectiveUpdated", "ObjectiveRetired"})),
    Stream("portfolio", "portfolio_id", "the portfolio: its envelope, board, candidates and every decision", frozenset({
        "PortfolioCreated", "PortfolioBudgetSet", "BoardMemberAdded", "BoardMemberRemoved", "ScoringModelSet",
        "CandidateRegistered", "CandidateWithdrawn", "InvestmentDecided", "RagTolerancesSet",
        "ReviewCadenceSet", "ScenarioSaved", "ProjectBudgetChanged", "BoardCharterSet", "ReviewCycleIntervalSet"})),
    Stream("review_cycle", "cycles_id", "a portfolio's review cycles, each a re-prioritisation of its running "
           "projects with the pipeline (`review-cycles-<portfolio_id>`)", frozenset({"PortfolioReprioritised"})),
    Stream("fiscal_calendar", "calendar_id", "the organisation's fiscal calendar (one stream, `fiscal-calendar`)",
           frozenset({"FiscalCalendarSet"})),
    Stream("programme", "programme_id", "the programme: its ring-fence, tranches and their reviews, its projects",
           frozenset({"ProgrammeCreated", "TranchePlanned", "TrancheReviewed", "ProjectJoinedProgramme",
                      "ProgrammeStatusReported", "ProgrammeBenefitDefined", "ProgrammeBenefitContributionSet",
                      "ProgrammeDrawChanged"})),
    Stream("dependency_graph", "graph_id", "a portfolio's dependency graph (`dependencies-<portfolio_id>`)",
           frozenset({"DependencyRegistered", "DependencyAtRisk", "DependencyRiskCleared",
                      "DependencyWithdrawn"})),
    Stream("raid_item", "raid_item_id", "one risk, assumption or issue of the RAID log, its scores and escalations",
           frozenset({"RaidItemRaised", "RiskAssessed", "RiskResponsePlanned", "RaidActionCompleted",
                      "RaidItemEscalated", "RaidItemDelegated", "AssumptionValidated", "RaidItemClosed"})),
    Stream("raid_tolerances", "tolerances_id", "a portfolio's RAID tolerances (`raid-tolerances-<portfolio_id>`)",
           frozenset({"RaidTolerancesSet"})),
    Stream("project", "project_id", "the project (the id of the proposal it came from)", frozenset({
        "ProjectInitiated", "StageGateDecided", "StatusReported", "StatusReportWithdrawn", "AlignmentReviewed",
        "ChangeRequested",
        "ChangeRequestDecided", "ProjectPaused", "ProjectResumed", "ProjectCancelled", "ProjectClosed",
        "ProjectManagerAssigned", "BoardActionOpened", "BoardActionResolved",
        "BoardActionOverdue", "ReviewOverdue"})),
    # Facts that move no envelope and need no other fact to stay consistent: one stream each. Those recorded
    # before 2026-11-29 are on their portfolio's (scores) or project's (lessons, realisations) stream instead.
    Stream("score", "score_id", "one assessor's scores of one candidate", frozenset({"CandidateScored"})),
    Stream("lesson", "lesson_id", "one lesson learned", frozenset({"LessonRecorded"})),
    Stream("lesson_feedback", "feedback_id",
           "the lessons offered to one proposal (intake) or project (portfolio) and its team's acknowledgements "
           "(`lessons-<proposal_id>`, `lessons-<project_id>`)",
           frozenset({"LessonsOffered", "LessonAcknowledged", "ProjectLessonsOffered", "ProjectLessonAcknowledged"})),
    Stream("benefit_realisation", "realisation_id", "one measurement of a project's planned benefit",
           frozenset({"BenefitRealised"})),
    Stream("motion", "motion_id", "a decision put to the board's vote, its votes and how it ended", frozenset({
        "MotionProposed", "ConflictDeclared", "VoteCast", "MotionCarried", "MotionDefeated", "MotionLapsed"})),
    Stream("resource", "resource_id", "the person or generic role, with its booking calendar", frozenset({
        "ResourceRegistered", "ResourceUpdated", "ResourceRetired", "TimeOffRecorded", "AllocationBooked",
        "AllocationConfirmed", "AllocationChanged", "AllocationReleased", "ResourceOverallocated"})),
    Stream("project_demand", "project_id", "the resource demand of one project (keyed by the project id)",
           frozenset({"DemandRaised", "DemandCancelled"})),
)  # fmt: skip


def stream_of(cls: type[Event]) -> Stream:
    """The stream of a published contract; a new contract must be added to STREAMS (LookupError otherwise)."""
    found = [s for s in STREAMS if cls.event_name in s.events]
    if len(found) != 1 or found[0].subject_field not in cls.model_fields:
        raise LookupError(f"{cls.type_name()}: add it to exactly one stream in pmo_events.asyncapi.streams")
    return found[0]

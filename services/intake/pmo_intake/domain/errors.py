"""Domain errors of intake: what a rule refuses, in PMO words (the HTTP edge maps them to 4xx)."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A rule refused the command."""


class ProposalNotFound(DomainError):
    pass


class LessonNotFound(DomainError):
    """No lesson intake knows of has this id (answered 404)."""


class RuleViolation(DomainError):
    """The proposal's state forbids this (answered 409)."""


class NotAllowed(DomainError):
    """The caller may not do this to this proposal (answered 403)."""


@dataclass(frozen=True)
class Finding:
    field: str
    message: str


class IncompleteProposal(DomainError):
    """Submission found problems; all of them are listed at once (answered 422)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} problem(s) stop this proposal from being submitted")
        self.findings = findings


class InvalidProposal(DomainError):
    """A draft or an edit is out of bounds (answered 422 with every field named)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} field(s) are out of bounds")
        self.findings = findings

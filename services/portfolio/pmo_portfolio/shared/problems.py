"""How the portfolio's domain errors answer over HTTP: its problem table (RFC 9457 documents)."""

from __future__ import annotations

from pmo_portfolio.shared.errors import (
    BoardVoteNeeded,
    DomainError,
    EnvelopeExceeded,
    Forbidden,
    InvalidCommand,
    NotFound,
    RingFenceExceeded,
    VotingClosed,
)
from pmo_servicekit.problems import Problem, ProblemTable, invalid_field


def envelope_exceeded(exc: EnvelopeExceeded) -> Problem:
    remaining, asked = format(exc.remaining, "f"), format(exc.asked, "f")
    kind = "ring-fence-exceeded" if isinstance(exc, RingFenceExceeded) else "envelope-exceeded"
    return Problem(
        409, kind, str(exc), fiscal_period=exc.fiscal_period, remaining=remaining, asked=asked, currency=exc.currency
    )


PROBLEM_TABLE: ProblemTable = {
    NotFound: lambda exc: Problem(404, "not-found", f"no {exc}"),
    Forbidden: lambda exc: Problem(403, exc.kind, str(exc)),
    InvalidCommand: lambda exc: invalid_field(exc.field, exc.message),
    EnvelopeExceeded: envelope_exceeded,
    VotingClosed: lambda exc: Problem(409, "voting-closed", str(exc), deadline=exc.deadline.isoformat()),
    BoardVoteNeeded: lambda exc: Problem(409, "board-vote-needed", str(exc)),
    DomainError: lambda exc: Problem(409, "rule-violation", str(exc)),
}

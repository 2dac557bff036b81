"""Domain errors of the portfolio service, in PMO words (the HTTP edge maps them to 4xx)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pmo_events.contracts.bounds import scale_problem
from pmo_events.contracts.common import PeriodAmount
from pmo_events.figures.money import readable_money


class DomainError(Exception):
    """A rule refused the command."""


class NotFound(DomainError):
    pass


class RuleViolation(DomainError):
    """The current state forbids this (answered 409)."""


class Forbidden(DomainError):
    """The caller holds the role but has no authority over THIS object (answered 403, with `kind` as its type)."""

    kind = "forbidden"


class NotBoardMember(Forbidden):
    """Board authority: only a member of THIS portfolio's board decides (answered 403)."""

    kind = "not-board-member"


class NotAuthorised(Forbidden):
    """Someone other than the one the rule names asked (the portfolio owner, the assigned project manager...)."""

    kind = "not-authorised"


class SeparationOfDuties(Forbidden):
    """Nobody decides on what they requested or sponsor, nor changes their own place on a board."""

    kind = "separation-of-duties"


class ConflictOfInterest(SeparationOfDuties):
    """A board member with a conflict of interest (automatic or declared) may not vote on the motion."""

    kind = "conflict-of-interest"


class VotingClosed(RuleViolation):
    """A vote (or a declared conflict) after the motion's deadline: not taken (answered 409 naming the deadline)."""

    def __init__(self, motion_id: str, deadline: datetime) -> None:
        super().__init__(
            f"motion {motion_id} closed for votes at its deadline, {deadline.isoformat()}: the vote is not taken "
            "(the motion lapses unless it was decided)"
        )
        self.deadline = deadline


class BoardVoteNeeded(RuleViolation):
    """The caller's say alone does not decide it: the board votes on a motion (answered 409, nothing recorded)."""


class EnvelopeExceeded(RuleViolation):
    """A fiscal period's committed total would stand above its budget envelope.

    Either an approval (or a budget increase) asks for more than remains, or a new envelope is lower than
    what the board has already committed or the portfolio's programmes ring-fence (`lowering`, `held`).
    Amounts read as money, the period by its name."""

    def __init__(
        self,
        fiscal_period: str,
        remaining: Decimal,
        asked: Decimal,
        currency: str | None = None,
        *,
        lowering: bool = False,
        held: str = "committed",
    ) -> None:
        if lowering:
            message = (
                f"{fiscal_period}: {readable_money(asked, currency)} is already {held}, more than the new "
                f"envelope of {readable_money(remaining, currency)}"
            )
        else:
            message = (
                f"{fiscal_period}: {readable_money(asked, currency)} asked but only "
                f"{readable_money(remaining, currency)} remains in the envelope"
            )
        super().__init__(message)
        self.fiscal_period = fiscal_period
        self.remaining = remaining
        self.asked = asked
        self.currency = currency


class RingFenceExceeded(EnvelopeExceeded):
    """A project's budget would take a fiscal period above what its programme's ring-fence leaves."""

    def __str__(self) -> str:
        asked, remaining = readable_money(self.asked, self.currency), readable_money(self.remaining, self.currency)
        return f"{self.fiscal_period}: {asked} asked but only {remaining} remains in the programme's ring-fence"


class InvalidCommand(DomainError):
    """The command itself is not acceptable, whatever the state (answered 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_scale(lines: Sequence[PeriodAmount], currency: str | None, field: str) -> None:
    """Every amount at the portfolio currency's scale (2 places in EUR, none in JPY), else a 422 naming it."""
    for index, line in enumerate(lines):
        check_amount_scale(line.amount, currency, f"{field}.{index}.amount")


def check_amount_scale(amount: Decimal, currency: str | None, field: str) -> None:
    """One amount at the portfolio currency's scale, else a 422 naming `field`."""
    if problem := scale_problem(amount, currency):
        raise InvalidCommand(field, problem)

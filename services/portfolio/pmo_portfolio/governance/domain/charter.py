"""The board's charter: members and chair, quorum, voting rule, delegated authority; who may change it.

Only the portfolio's owner or an admin changes the board, and never their own place on it: nobody adds or
removes themself, makes themself chair or portfolio manager (separation of duties). Every change is a new
charter version; a motion is decided under the version in force when it was proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import (
    BoardCharter,
    BoardCharterSet,
    BoardMemberAdded,
    BoardMemberRemoved,
    DelegatedAuthority,
    VotingRule,
)
from pmo_portfolio.funding.domain import Portfolio, existing
from pmo_portfolio.shared.errors import (
    InvalidCommand,
    NotAuthorised,
    NotBoardMember,
    NotFound,
    RuleViolation,
    SeparationOfDuties,
)

MAX_VOTING_DAYS = 90


@dataclass(frozen=True)
class Governor:
    """Who asks to change the board: the token's subject, and whether they hold the admin role."""

    subject: str
    is_admin: bool = False


@dataclass(frozen=True)
class CharterTerms:
    members: tuple[str, ...]
    chair: str
    quorum: int
    rule: VotingRule
    qualified_share: Decimal | None = None
    voting_days: int = 14
    delegated_authority: DelegatedAuthority | None = None


def charter_of(portfolio: Portfolio) -> BoardCharter:
    existing(portfolio)
    if portfolio.charter is None:
        raise NotFound(f"charter of portfolio {portfolio.portfolio_id}")
    return portfolio.charter


def check_board_member(portfolio: Portfolio, who: str, *, acting_for: str = "") -> None:
    """Board authority: only a member of THIS portfolio's board acts for it."""
    if who not in portfolio.board_members:
        where = portfolio.name or acting_for or portfolio.portfolio_id
        raise NotBoardMember(f"{who} is not on the board of portfolio {where}")


def check_may_change_board(portfolio: Portfolio, governor: Governor, touched: set[str]) -> None:
    """The owner or an admin, and never about themself."""
    if not governor.is_admin and governor.subject != portfolio.owner:
        raise NotAuthorised(
            f"only the owner of portfolio {portfolio.name} ({portfolio.owner}) or an admin changes its board"
        )
    if governor.subject in touched:
        raise SeparationOfDuties(f"{governor.subject} may not change their own place on the board")


def check_terms(terms: CharterTerms) -> None:
    """A charter the board can work under; each problem names its field."""
    if not terms.members or any(not m.strip() for m in terms.members):
        raise InvalidCommand("members", "a board has at least one member, each a token subject")
    if len(set(terms.members)) != len(terms.members):
        raise InvalidCommand("members", "each board member may appear once")
    if terms.chair not in terms.members:
        raise InvalidCommand("chair", "the chair is one of the members")
    if not 1 <= terms.quorum <= len(terms.members):
        raise InvalidCommand("quorum", f"the quorum is between 1 and the {len(terms.members)} members")
    share = terms.qualified_share
    if terms.rule == "qualified_majority" and (share is None or not Decimal("0.5") < share <= 1):
        raise InvalidCommand("qualified_share", "a qualified majority needs a share above 0.5 and at most 1")
    if terms.rule != "qualified_majority" and share is not None:
        raise InvalidCommand("qualified_share", "only a qualified majority has a share")
    if not 1 <= terms.voting_days <= MAX_VOTING_DAYS:
        raise InvalidCommand("voting_days", f"a motion stays open 1 to {MAX_VOTING_DAYS} days")
    delegation = terms.delegated_authority
    if delegation is not None and (not delegation.portfolio_manager.strip() or delegation.up_to <= 0):
        raise InvalidCommand("delegated_authority", "a delegation names a portfolio manager and a threshold above 0")


def _touched(old: BoardCharter | None, terms: CharterTerms) -> set[str]:
    """Whose place on the board this change concerns: members in or out, the chair, the portfolio manager."""
    before = set(old.members) if old else set()
    touched = before ^ set(terms.members)
    if old is None or old.chair != terms.chair:
        touched |= {terms.chair} | ({old.chair} if old else set())
    old_manager = old.delegated_authority if old else None
    if old_manager != terms.delegated_authority:
        touched |= {d.portfolio_manager for d in (old_manager, terms.delegated_authority) if d is not None}
    return touched


def initial_charter(terms: CharterTerms, portfolio_id: str, created_by: str, now: datetime) -> BoardCharterSet:
    """The first charter, set by whoever creates the portfolio (who may not put themself on the board)."""
    check_terms(terms)
    if created_by in _touched(None, terms):
        raise SeparationOfDuties(f"{created_by} may not put themself on the board of a portfolio they create")
    return BoardCharterSet(portfolio_id=portfolio_id, charter=_charter(1, terms), set_by=created_by, set_at=now)


def set_charter(
    portfolio: Portfolio, terms: CharterTerms, governor: Governor, now: datetime, reason: str | None
) -> list[Event]:
    old = charter_of(portfolio)
    check_terms(terms)
    check_may_change_board(portfolio, governor, _touched(old, terms))
    charter = _charter(old.version + 1, terms)
    return [
        BoardCharterSet(
            portfolio_id=portfolio.portfolio_id, charter=charter, set_by=governor.subject, set_at=now, reason=reason
        )
    ]


def _charter(version: int, terms: CharterTerms) -> BoardCharter:
    return BoardCharter(version=version, **terms.__dict__)


def add_board_member(portfolio: Portfolio, subject: str, governor: Governor) -> list[Event]:
    existing(portfolio)
    if not subject.strip():
        raise InvalidCommand("subject", "a board member is a token subject and cannot be blank")
    if subject in portfolio.board_members:
        raise RuleViolation(f"{subject} is already on the board of portfolio {portfolio.name}")
    check_may_change_board(portfolio, governor, {subject})
    return [BoardMemberAdded(portfolio_id=portfolio.portfolio_id, subject=subject, added_by=governor.subject)]


def remove_board_member(portfolio: Portfolio, subject: str, governor: Governor) -> list[Event]:
    """A portfolio always keeps a board, and its chair: appoint another chair before the chair leaves."""
    charter = charter_of(portfolio)
    if subject not in portfolio.board_members:
        raise NotFound(f"board member {subject} in portfolio {portfolio.name}")
    check_may_change_board(portfolio, governor, {subject})
    if len(portfolio.board_members) == 1:
        raise RuleViolation(f"{subject} is the last board member; add another before removing them")
    if subject == charter.chair:
        raise RuleViolation(f"{subject} chairs the board; set a charter with another chair first")
    return [BoardMemberRemoved(portfolio_id=portfolio.portfolio_id, subject=subject, removed_by=governor.subject)]

"""The charter's voting rules: when a motion is carried, when it is defeated, and the chair's casting vote.

A motion is decided as soon as its result can no longer change: the votes still to come (members who may
vote and have not) are counted both ways. Abstentions count towards the quorum, never for or against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pmo_events.contracts.portfolio import Tally, VoteChoice, VotingRule

Verdict = Literal["carried", "defeated"]


@dataclass(frozen=True)
class Ballot:
    """What the rule needs: the electorate under the motion's charter, who is conflicted, the votes so far."""

    members: tuple[str, ...]
    chair: str
    quorum: int
    rule: VotingRule
    qualified_share: Decimal | None
    conflicted: frozenset[str]
    votes: Mapping[str, VoteChoice]

    def tally(self, *, casting_vote: bool = False) -> Tally:
        eligible = [m for m in self.members if m not in self.conflicted]
        return Tally(
            votes_for=sum(1 for v in self.votes.values() if v == "for"),
            votes_against=sum(1 for v in self.votes.values() if v == "against"),
            abstentions=sum(1 for v in self.votes.values() if v == "abstain"),
            not_voted=sum(1 for m in eligible if m not in self.votes),
            casting_vote=casting_vote,
        )


def verdict(ballot: Ballot) -> tuple[Verdict | None, Tally]:
    """Carried, defeated, or still open (None), with the tally that says why."""
    tally = ballot.tally()
    cast = tally.votes_for + tally.votes_against + tally.abstentions
    if cast + tally.not_voted < ballot.quorum:
        return "defeated", tally  # the quorum can no longer be reached
    if ballot.rule == "unanimity":
        return _unanimity(tally, cast >= ballot.quorum), tally
    if ballot.rule == "qualified_majority":
        return _qualified(tally, ballot.qualified_share or Decimal("0.6667"), cast >= ballot.quorum), tally
    return _simple_majority(ballot, tally, cast >= ballot.quorum)


def _simple_majority(ballot: Ballot, tally: Tally, quorate: bool) -> tuple[Verdict | None, Tally]:
    """More for than against; on a tie once everyone has voted, the chair's own vote decides."""
    yes, no, still = tally.votes_for, tally.votes_against, tally.not_voted
    if yes > no + still:
        return ("carried" if quorate else None), tally
    if yes + still < no:
        return "defeated", tally
    if still == 0 and yes == no:
        chair = ballot.votes.get(ballot.chair)
        if chair in ("for", "against") and yes > 0:
            return ("carried" if chair == "for" else "defeated"), ballot.tally(casting_vote=True)
        return "defeated", tally  # no majority, and no casting vote (the chair abstained or could not vote)
    return None, tally


def _qualified(tally: Tally, share: Decimal, quorate: bool) -> Verdict | None:
    """For-votes at least `share` of for and against, whatever the votes still to come."""
    yes, no, still = tally.votes_for, tally.votes_against, tally.not_voted
    if yes > 0 and yes >= share * (yes + no + still):
        return "carried" if quorate else None
    if yes + still == 0 or yes + still < share * (yes + still + no):
        return "defeated"
    return None


def _unanimity(tally: Tally, quorate: bool) -> Verdict | None:
    """Every member who may vote has voted, none against, at least one for."""
    if tally.votes_against:
        return "defeated"
    if tally.not_voted:
        return None
    if tally.votes_for == 0 or not quorate:
        return "defeated"
    return "carried"

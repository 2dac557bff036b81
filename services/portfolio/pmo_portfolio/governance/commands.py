"""Governance command handlers: motions proposed, votes cast, conflicts declared, lapses at the deadline.

A carried motion is applied by the concept that owns its `kind`, as a policy in the same transaction
(`bootstrap.py` registers them): the vote that carries an approval records the investment decision too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from pmo_events.contracts.base import Event
from pmo_events.contracts.portfolio import VoteChoice
from pmo_events.runtime import AggregateType, CommandRuntime, ConcurrencyConflict, Metadata, UnitOfWork, fold
from pmo_portfolio import funding
from pmo_portfolio.governance import queries
from pmo_portfolio.governance.domain import charter_of, motions
from pmo_portfolio.governance.domain.motions import Motion, MotionTerms
from pmo_portfolio.shared.errors import NotFound

MOTION = AggregateType("motion", motions.initial, motions.evolve, Motion)
MotionRule = Callable[[Motion], Sequence[Event]]
log = logging.getLogger(__name__)


async def propose_motion(
    uow: UnitOfWork,
    portfolio_id: str,
    motion_id: str,
    terms: MotionTerms,
    proposer: str,
    now: datetime,
    *,
    deadline: datetime | None = None,
    secretary: bool = False,
) -> tuple[Motion, int]:
    """Put `terms` to the board of `portfolio_id`, under its charter as it stands now."""
    portfolio = await uow.load(funding.PORTFOLIO, portfolio_id)
    charter = charter_of(portfolio.state)
    new_events = motions.propose(charter, portfolio_id, motion_id, terms, proposer, now, deadline, secretary=secretary)
    return await _append(uow, motion_id, motions.initial(motion_id), 0, new_events)


async def vote(
    uow: UnitOfWork, motion_id: str, voter: str, choice: VoteChoice, rationale: str, now: datetime
) -> tuple[Motion, int]:
    """`voter`'s vote; the vote that meets the charter's rule carries the motion (its policies run here)."""
    _, after, version = await apply_to_motion(
        uow, motion_id, lambda motion: motions.cast_vote(motion, voter, choice, rationale, now)
    )
    return after, version


async def apply_to_motion(uow: UnitOfWork, motion_id: str, rule: MotionRule) -> tuple[list[Event], Motion, int]:
    """Decide `rule` on the motion's latest version; the carrying event's policies run in this transaction."""
    loaded = await uow.load(MOTION, motion_id)
    if loaded.state.status == "none":
        raise NotFound(f"motion {motion_id}")
    new_events = list(rule(loaded.state))
    after, version = await _append(uow, motion_id, loaded.state, loaded.version, new_events)
    return new_events, after, version


async def _append(
    uow: UnitOfWork, motion_id: str, state: Motion, version: int, new_events: Sequence[Event]
) -> tuple[Motion, int]:
    after = fold(MOTION, state, new_events)
    await uow.append(MOTION, motion_id, version, new_events, after)
    return after, version + len(new_events)


async def lapse_due_motions(runtime: CommandRuntime, now: datetime, meta: Metadata) -> dict[str, int]:
    """The deadline's trigger: every open motion past its deadline lapses, each in its own transaction, recorded
    as by `meta`'s actor (the analyst who called the endpoint, or the scheduler).

    Safe to run anywhere at once (several replicas, a vote arriving at the same moment): the lapse is
    appended on the motion's version, so exactly one writer ends the motion and the others find it ended.
    """
    async with runtime.db.sessions() as session:
        due = await queries.motions_due(session, now)
    lapsed = 0
    for motion_id in due:
        try:
            async with runtime.unit_of_work(meta) as uow:
                events, _, _ = await apply_to_motion(uow, motion_id, lambda motion: motions.lapse(motion, now))
            lapsed += len(events)
        except ConcurrencyConflict:
            log.info("motion %s changed while lapsing it; the next sweep looks again", motion_id)
    return {"lapsed": lapsed}

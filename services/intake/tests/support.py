"""Test support: a real intake service, and the portfolio service's events published on the real broker."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from pmo_devstack.testing import RunningService, as_published, running_service
from pmo_events.contracts import portfolio
from pmo_events.contracts.base import Event
from pmo_events.contracts.common import PeriodAmount
from pmo_events.envelope import RecordedEvent
from pmo_events.runtime import KafkaSettings
from pmo_events.runtime.kafka import ensure_topics
from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.contract.shared import DecisionVerb


@asynccontextmanager
async def intake_service(database_url: str, kafka_bootstrap: str, data_dir: Path) -> AsyncIterator[RunningService]:
    async with running_service(
        INTAKE, database_url=database_url, kafka_bootstrap=kafka_bootstrap, data_dir=data_dir
    ) as service:
        yield service


class PortfolioFeed:
    """Publishes portfolio events as the portfolio service would: CloudEvents, one stream sequence each."""

    def __init__(self, kafka_bootstrap: str, data_dir: Path) -> None:
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
        self.data_dir = data_dir
        self._sequences: dict[str, int] = defaultdict(int)
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> PortfolioFeed:
        await ensure_topics(self.kafka, [portfolio.TOPIC])
        self._producer = AIOKafkaProducer(**self.kafka.client_kwargs())
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._producer is not None
        await self._producer.stop()

    async def publish(self, stream_id: str, event: Event, actor: str = "olivia") -> None:
        self._sequences[stream_id] += 1
        recorded = RecordedEvent(
            event_id=str(uuid.uuid4()),
            type=event.type_name(),
            source="/pmo/portfolio",
            stream_id=stream_id,
            sequence=self._sequences[stream_id],
            time=datetime.now(UTC),
            data=event.model_dump(mode="json"),
            actor=actor,
            correlation_id=str(uuid.uuid4()),
        )
        key, value, headers = as_published(recorded, self.data_dir)
        assert self._producer is not None
        await self._producer.send_and_wait(portfolio.TOPIC, value, key=key, headers=headers)

    async def portfolio(self, *periods: str, currency: str = "EUR") -> str:
        portfolio_id = str(uuid.uuid4())
        budget = tuple(PeriodAmount(fiscal_period=p, amount=Decimal("1000000")) for p in periods)
        await self.publish(
            portfolio_id,
            portfolio.PortfolioCreated(
                portfolio_id=portfolio_id, name="Change", currency=currency, owner="olivia",
                budget=budget, board_members=("bob",), created_by="olivia",
            ),
        )  # fmt: skip
        return portfolio_id

    async def budget(self, portfolio_id: str, *periods: str) -> None:
        budget = tuple(PeriodAmount(fiscal_period=p, amount=Decimal("500000")) for p in periods)
        await self.publish(
            portfolio_id, portfolio.PortfolioBudgetSet(portfolio_id=portfolio_id, budget=budget, set_by="olivia")
        )

    async def objective(self, title: str = "Grow online sales") -> str:
        objective_id = str(uuid.uuid4())
        await self.publish(
            objective_id,
            portfolio.ObjectiveCreated(
                objective_id=objective_id, title=title, weight=Decimal("0.5"), period_start=date(2027, 1, 1),
                period_end=date(2029, 12, 31), created_by="olivia",
            ),
        )  # fmt: skip
        return objective_id

    async def programme(self, portfolio_id: str, name: str = "Digital journey") -> str:
        """A programme of the portfolio, as the portfolio service creates it."""
        programme_id = str(uuid.uuid4())
        await self.publish(
            programme_id,
            portfolio.ProgrammeCreated(
                programme_id=programme_id, portfolio_id=portfolio_id, name=name, vision="online",
                senior_responsible_owner="sara", programme_manager="paul", created_by="olivia",
                created_at=datetime.now(UTC),
            ),
        )  # fmt: skip
        return programme_id

    async def close_programme(self, programme_id: str, portfolio_id: str) -> None:
        await self.publish(
            programme_id,
            portfolio.TrancheReviewed(
                programme_id=programme_id, portfolio_id=portfolio_id, tranche_id="t-1", decision="close_programme",
                rationale="done", decided_by="sara", decided_at=datetime.now(UTC),
            ),
        )  # fmt: skip

    async def retire(self, objective_id: str) -> None:
        await self.publish(objective_id, portfolio.ObjectiveRetired(objective_id=objective_id, retired_by="olivia"))

    async def scored(self, portfolio_id: str, proposal_id: str, submission: int | None = None) -> None:
        await self.publish(
            proposal_id,
            portfolio.CandidateScored(
                portfolio_id=portfolio_id, candidate_id=proposal_id, assessor="bob", scores={"value": 4},
                scored_at=datetime.now(UTC), submission=submission,
            ),
            actor="bob",
        )  # fmt: skip

    async def decided(self, portfolio_id: str, proposal_id: str, outcome: DecisionVerb, rationale: str) -> None:
        await self.publish(
            proposal_id,
            portfolio.InvestmentDecided(
                decision_id=str(uuid.uuid4()), portfolio_id=portfolio_id, candidate_id=proposal_id,
                proposal_id=proposal_id, outcome=outcome, rationale=rationale, decided_by="bob",
                decided_at=datetime.now(UTC),
            ),
            actor="bob",
        )  # fmt: skip

    async def lesson(
        self, portfolio_id: str, title: str, description: str, category: str, *tags: str, project_id: str = "done"
    ) -> str:
        """A lesson a project team recorded (on its own stream, as the portfolio service records it)."""
        lesson_id = str(uuid.uuid4())
        await self.publish(
            lesson_id,
            portfolio.LessonRecorded(
                project_id=project_id, portfolio_id=portfolio_id, lesson_id=lesson_id, title=title,
                description=description, category=category, tags=tags, recorded_by="pat",
                recorded_at=datetime.now(UTC),
            ),
            actor="pat",
        )  # fmt: skip
        return lesson_id


def complete_proposal(portfolio_id: str, objective_id: str, **overrides: Any) -> dict[str, Any]:
    """A proposal body that passes every submission check against `PortfolioFeed.portfolio("FY2027")`."""
    body: dict[str, Any] = {
        "title": f"New CRM {uuid.uuid4().hex[:6]}",
        "portfolio_id": portfolio_id,
        "summary": "Replace the ageing CRM with a hosted one",
        "sponsor": "carol",
        "objective_contributions": [{"objective_id": objective_id, "contribution": 4}],
        "business_case": {
            "currency": "EUR",
            "costs": [{"fiscal_period": "FY2027", "amount": "120000.00"}],
            "benefits": [
                {
                    "description": "More repeat sales",
                    "kind": "financial",
                    "measure": "repeat revenue",
                    "target_value": "+5%",
                    "unit": "percent",
                    "realise_by": "2027-12-31",
                    "value_amount": "300000.00",
                }
            ],
        },
        "timeline": {"start": "2027-01-01", "end": "2027-12-31"},
        "resource_estimate": [{"role": "developer", "fte": "0.5", "start": "2027-01-01", "end": "2027-06-30"}],
        "risk_level": "medium",
        "dependencies": [],
    }
    body.update(overrides)
    return body


async def knows_programme(service: RunningService, programme_id: str, *, closed: bool = False) -> bool:
    """Has the service's subscription learned this programme (closed, when asked) yet?"""
    from pmo_intake.application import knowledge

    async with service.runtime.db.sessions() as session:
        facts = await knowledge.programme_facts(session, programme_id)
    return facts is not None and facts.closed == closed


async def knows(service: RunningService, *, portfolio_id: str, objective_ids: tuple[str, ...] = ()) -> bool:
    """Has the service's subscription learned this portfolio and these objectives yet?"""
    from pmo_intake.application import knowledge

    async with service.runtime.db.sessions() as session:
        facts = await knowledge.portfolio_facts(session, portfolio_id)
        objectives = await knowledge.objective_facts(session, list(objective_ids))
    return facts is not None and len(objectives) == len(objective_ids)

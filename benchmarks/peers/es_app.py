"""Peer: FastAPI + pyeventsourcing 9.5.6 on PostgreSQL, one new aggregate saved per POST.

PERSISTENCE_MODULE=eventsourcing.postgres POSTGRES_DBNAME=... uvicorn es_app:app
"""

from __future__ import annotations

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI
from pydantic import BaseModel


class Proposal(Aggregate):
    @event("Drafted")
    def __init__(self, title: str, portfolio_id: str) -> None:
        self.title = title
        self.portfolio_id = portfolio_id
        self.status = "draft"

    @event("Edited")
    def edit(self, title: str) -> None:
        self.title = title

    @event("Submitted")
    def submit(self) -> None:
        self.status = "submitted"


class Proposals(Application[object]):
    def draft(self, title: str, portfolio_id: str) -> Proposal:
        proposal = Proposal(title, portfolio_id)
        self.save(proposal)
        return proposal


class Draft(BaseModel):
    title: str
    portfolio_id: str


proposals = Proposals()
app = FastAPI()


@app.post("/proposals", status_code=201)
def create(draft: Draft) -> dict[str, object]:
    # pyeventsourcing's PostgreSQL recorder is synchronous (psycopg 3): FastAPI runs it in its thread pool.
    proposal = proposals.draft(draft.title, draft.portfolio_id)
    return {"id": str(proposal.id), "title": proposal.title, "portfolio_id": proposal.portfolio_id, "version": 1}

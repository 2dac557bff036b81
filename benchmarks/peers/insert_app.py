"""Peer: FastAPI + one SQLAlchemy Core INSERT per POST, what a Python team starts from.

PEER_DATABASE_URL=postgresql+asyncpg://... uvicorn insert_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert
from sqlalchemy.ext.asyncio import create_async_engine

metadata = MetaData()
proposals = Table(
    "peer_proposals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", Text, nullable=False),
    Column("portfolio_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
engine = create_async_engine(os.environ["PEER_DATABASE_URL"], pool_size=10, max_overflow=10)


class Draft(BaseModel):
    title: str
    portfolio_id: str


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/proposals", status_code=201)
async def create(draft: Draft) -> dict[str, str]:
    row = {"id": str(uuid.uuid4()), "created_at": datetime.now(UTC), **draft.model_dump()}
    async with engine.begin() as conn:
        await conn.execute(insert(proposals).values(**row))
    return {**row, "created_at": row["created_at"].isoformat()}

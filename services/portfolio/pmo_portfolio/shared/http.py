"""What every portfolio router shares: roles, paging, documented problem statuses, the base of request bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict

from pmo_events.contracts.common import PeriodAmount
from pmo_events.figures.fiscal import FiscalPeriodName
from pmo_servicekit.auth import Principal, require_roles
from pmo_servicekit.contract.wire import MoneyInput

Analyst = Annotated[Principal, Depends(require_roles("pmo_analyst", "admin"))]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=64)]
PROBLEMS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}, 412: {}, 422: {}}


class Body(BaseModel):
    """A request body: unknown fields are refused (422 naming them), never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PeriodAmountIn(Body):
    """An amount in one fiscal period, as a client sends it: a documented period name, a bounded amount."""

    fiscal_period: FiscalPeriodName
    amount: MoneyInput


def period_amounts(lines: Iterable[PeriodAmountIn]) -> tuple[PeriodAmount, ...]:
    return tuple(PeriodAmount(fiscal_period=line.fiscal_period, amount=line.amount) for line in lines)

"""A command's answer written by pydantic straight from its model (pmo_servicekit.http.answer)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel

from pmo_servicekit.http import answer


class _Nested(BaseModel):
    day: date | None = None
    names: list[str] = []


class _View(BaseModel):
    id: str
    version: int
    title: str
    note: str | None = None
    at: datetime
    nested: _Nested = _Nested()
    flag: bool = False


def test_answer_writes_a_model_with_the_very_bytes_of_its_json_dump() -> None:
    view = _View(
        id="x-1",
        version=3,
        title='Ünïcode "quoted" \\ back / slash \n\t\x01\x1f\x7f \u2028 ✓ 😀',
        at=datetime(2026, 11, 29, 22, 0, tzinfo=UTC),
        nested=_Nested(day=date(2027, 1, 31), names=["a", "b"]),
    )
    direct = answer(view, 3, status_code=201, location="/views/x-1")
    dumped = answer(view.model_dump(mode="json"), 3, status_code=201, location="/views/x-1")
    assert direct.body == dumped.body
    assert direct.status_code == dumped.status_code == 201
    assert dict(direct.headers) == dict(dumped.headers)

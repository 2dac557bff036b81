"""`instant` writes every time as `isoformat` does, whichever way it writes it (orjson for fixed whole-minute zones)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from pydantic_core import TzInfo

from pmo_reporting.projections.base import instant

#: Offsets a fixed zone may have, seconds and microseconds included (`isoformat` writes them; orjson does not).
_OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
_WHOLE_MINUTES = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: m * 60)
_ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    _OFFSETS.map(timezone),
    _WHOLE_MINUTES.map(TzInfo),
    _OFFSETS.map(lambda offset: TzInfo(int(offset.total_seconds()))),
    st.sampled_from([ZoneInfo("Europe/London"), ZoneInfo("America/St_Johns"), ZoneInfo("Asia/Kolkata")]),
)
_DATETIMES = TypeAdapter(datetime)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), _ZONES)
def test_instant_is_isoformat_for_every_time_and_zone(moment: datetime, zone: tzinfo | None) -> None:
    aware = moment.replace(tzinfo=zone)
    assert instant(aware) == aware.isoformat()
    assert instant(aware) == aware.isoformat()  # the zone's verdict cached


@given(st.datetimes(timezones=st.timezones()))
def test_instant_is_isoformat_in_any_zone_hypothesis_makes(moment: datetime) -> None:
    assert instant(moment) == moment.isoformat()


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), _WHOLE_MINUTES)
def test_instant_is_isoformat_for_times_decoded_from_json(moment: datetime, offset: int) -> None:
    """The times the fold's events hold: pydantic-core's, decoded from RFC 3339 text."""
    sign, minutes = "+-"[offset < 0], abs(offset) // 60
    text = f'"{moment.isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"'
    decoded = _DATETIMES.validate_json(text)
    assert instant(decoded) == decoded.isoformat()


def test_instant_of_other_values_is_their_isoformat() -> None:
    class Later(datetime):
        pass

    assert instant(date(2026, 12, 1)) == "2026-12-01"
    later = Later(2026, 12, 1, 3, 4, 5, 6, tzinfo=UTC)
    assert instant(later) == later.isoformat()
    seconds = datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15)))
    assert instant(seconds) == "2026-12-01T00:00:00+05:30:15"

"""The brand's time zone (`time_zone`, an IANA name): local days and hours of series and breakdowns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT = "UTC"
QUARTER_MS = 900_000  # every zone's offset is a whole number of quarter hours


def zone_name(brand: dict[str, Any] | None) -> str:
    return (brand or {}).get("time_zone") or DEFAULT


def valid(name: str) -> bool:
    """An IANA zone name this system knows (zoneinfo), e.g. 'Europe/Paris', 'Asia/Kolkata'."""
    if name not in _names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


@lru_cache(maxsize=65536)
def _local_hour(quarter: int, name: str) -> str:
    return datetime.fromtimestamp(quarter * 900, UTC).astimezone(ZoneInfo(name)).strftime("%Y%m%d%H")


def local_hour(ts_ms: int, name: str) -> str:
    """The local hour ('yyyymmddHH') of a time in ms in zone `name`: exact for every offset (a
    half-hour zone's hours start at :30 UTC), cached per quarter hour."""
    return _local_hour(ts_ms // QUARTER_MS, name)


def today(name: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(name)).date()

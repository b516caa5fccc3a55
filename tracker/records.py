"""What every stored record carries: a random id, and times as ISO 8601 text (UTC, with Z)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id() -> str:
    """12 characters of ID_ALPHABET from one read of the OS's randomness (~70 bits)."""
    n = int.from_bytes(os.urandom(9), "big")
    chars = []
    for _ in range(12):
        n, d = divmod(n, 57)
        chars.append(ID_ALPHABET[d])
    return "".join(chars)


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(value: datetime | date | str | None) -> str | None:
    """ISO 8601 text of a date or time (UTC, with Z); text and None pass through."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.isoformat()


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

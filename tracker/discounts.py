"""Discount codes are unique per brand (shops treat them case-insensitively)."""

from __future__ import annotations

from tracker.store import Taken

INDEX = "discount_code"


def index_values(codes: list[str] | None) -> list[str]:
    return sorted({c.upper() for c in codes or []})


def conflict_message(exc: Taken) -> str:
    return f"discount code {exc.value} is already registered for this brand."

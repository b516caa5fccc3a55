"""Influencer tiers by followers at the time of a promotion (docs/metrics.md)."""

from __future__ import annotations

TIERS = ("nano", "micro", "macro", "celebrity")
# Minimum followers of each tier above nano.
DEFAULT_THRESHOLDS = {"micro": 10_000, "macro": 100_000, "celebrity": 1_000_000}


def tier_for(followers: int, thresholds: dict[str, int] | None = None, pinned: str | None = None) -> str:
    if pinned:
        return pinned
    t = thresholds or DEFAULT_THRESHOLDS
    if followers >= t["celebrity"]:
        return "celebrity"
    if followers >= t["macro"]:
        return "macro"
    if followers >= t["micro"]:
        return "micro"
    return "nano"

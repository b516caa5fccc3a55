"""Time-to-conversion histogram bins, shared by the roll-up (which files) and reports (which read)."""

from __future__ import annotations

import math

TTC_BASE = 1.04  # bins grow 4% each: medians to within ~2%
TTC_MAX_BIN = 441  # 366 days: attribution windows are at most 365


def ttc_bin(seconds: int) -> int:
    return min(int(math.log(max(seconds, 1), TTC_BASE)), TTC_MAX_BIN)


def ttc_value(bin_: int) -> int:
    """The representative time (seconds) of a bin: its geometric middle."""
    return round(TTC_BASE ** (bin_ + 0.5))

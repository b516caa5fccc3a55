"""The Lua scripts (`lua/*.lua`), one typed wrapper each.

A wrapper takes named arguments, lays out KEYS and ARGV as its script reads them, and returns a
`Call`; `tracker.db` runs it (`run`, `Redis.run`, `Pipeline.run`, `Conn.run`), on the node of its
first key, and the Call's `parse` turns the reply into the wrapper's result type.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from tracker import keys

T = TypeVar("T")
LUA = Path(__file__).with_name("lua")


class Script:
    """One Lua script: its source (from `lua/<name>.lua`) and its SHA-1, known without asking Redis."""

    def __init__(self, name: str):
        self.name = name
        self.source = (LUA / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()  # noqa: S324 (Redis's script id)

    def __repr__(self) -> str:
        return f"Script({self.name!r})"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One run of a script: its keys (the first one says which node), its arguments, and how its
    reply becomes the result."""

    script: Script
    keys: list[str]
    args: list[Any]
    parse: Callable[[Any], T]


APPLY_CLICKS = Script("apply_clicks")
RECORD_ORDER = Script("record_order")
RECORD_REFUND = Script("record_refund")
APPLY_CONVERSIONS = Script("apply_conversions")
MIGRATE_PROMOTION = Script("migrate_promotion")
HASH_JOINED = Script("hash_joined")
ALL = (APPLY_CLICKS, RECORD_ORDER, RECORD_REFUND, APPLY_CONVERSIONS, MIGRATE_PROMOTION, HASH_JOINED)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- clicks -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Click:
    """A click event as the roll-up counts it."""

    entry_id: bytes | str  # its stream entry (acknowledged by the script)
    click_id: str  # the exactly-once marker's name
    link: str
    promotion: str
    ts_ms: int
    hour: str  # 'yyyymmddhh' (UTC)
    visitor: str  # '' unknown: the click is unique
    family: str  # '' a human's click; else a bot hit of this family (no spaces)
    record: str  # what the marker holds
    since: str  # 's<n>' or 'D<d>' since posting; '' when the promotion has no posting time


def apply_clicks(*, brand_id: str, stream: str, group: str, record_ttl: int, clicks: Sequence[Click]) -> Call[int]:
    """Count each click at most once (its marker), unique visitors per link and hour, bot hits by
    family, then XACK them all; returns how many were counted."""
    pairs: list[str] = []  # per click: its marker, its visitor's last-unique key (the marker if none)
    shared: dict[str, int] = {}  # link totals and each promotion's 4 hashes, once per batch
    argv: list[Any] = [group, record_ttl]
    for c in clicks:
        marker = keys.click(brand_id, c.click_id)
        pairs += [marker, keys.last_unique(brand_id, c.link, c.visitor) if c.visitor else marker]
        totals = shared.setdefault(keys.link_totals(brand_id, c.link), len(shared))
        first = keys.promotion_hours(brand_id, c.promotion)
        if first not in shared:
            for key in (first, keys.promotion_days(brand_id, c.promotion), keys.promotion_since(brand_id, c.promotion),
                        keys.promotion_all_time(brand_id, c.promotion)):  # fmt: skip
                shared[key] = len(shared)
        argv += [c.entry_id, c.ts_ms, c.hour, c.family, c.record, c.since, totals, shared[first]]
    return Call(APPLY_CLICKS, [stream, *pairs, *shared], argv, int)


# -- conversions --------------------------------------------------------------------------------
class Target(NamedTuple):
    """What one conversion event does to one key: 'h' HINCRBY (field, delta) pairs; 'b' add 1 to
    these u32 BITFIELD bins; 's' widen the hash's 'first' and 'last' day to these days."""

    key: str
    op: Literal["h", "b", "s"]
    items: list[Any]


@dataclass(frozen=True)
class ConversionEvent:
    entry_id: bytes | str
    targets: list[Target]


def apply_conversions(
    *, brand_id: str, stream: str, group: str, marker_ttl: int, events: Sequence[ConversionEvent]
) -> Call[int]:
    """Apply each event's targets at most once (a marker per entry), then XACK every entry;
    returns how many were applied."""
    keys_: list[str] = [stream]
    argv: list[Any] = [group, marker_ttl]
    for event in events:
        keys_.append(keys.applied_event(brand_id, _text(event.entry_id)))
        argv += [event.entry_id, len(event.targets)]
        for key, op, items in event.targets:
            keys_.append(key)
            argv += [op, len(items), *(x for item in items for x in (item if op == "h" else (item,)))]
    return Call(APPLY_CONVERSIONS, keys_, argv, int)


def record_order(
    *, brand_id: str, source: str, order_id: str, conversion_id: str, record: str, amount: int, at_ms: int,
    event: Sequence[tuple[str, str]],
) -> Call[tuple[bool, str]]:  # fmt: skip
    """Record an order once per (source, order id): its record, amount and place in time, the
    refunds already seen for it (capped at its amount), and `event` (plus 'refunded') on the
    conversions stream. Returns (recorded, conversion id): (False, the existing id) when seen."""
    b = brand_id
    return Call(
        RECORD_ORDER,
        [
            keys.order_index(b),
            keys.conversions(b),
            keys.conversion_order(b),
            keys.order_refunds(b, source, order_id),
            keys.conversion_refunded(b),
            keys.conversion_amounts(b),
            keys.conversions_stream(b),
        ],
        [f"{source}:{order_id}", conversion_id, record, amount, at_ms, *(x for pair in event for x in pair)],
        lambda reply: (bool(int(reply[0])), _text(reply[1])),
    )


RefundOutcome = Literal["duplicate", "recorded", "pending"]


def record_refund(
    *, brand_id: str, source: str, order_id: str, refund_id: str, amount: int, at_ms: int
) -> Call[tuple[RefundOutcome, str | None]]:
    """Record a refund once per refund id (its amount may only grow: a cumulative total); the
    order's refunded total is capped at its amount and its delta goes on the conversions stream.
    Returns (outcome, conversion id): 'duplicate' (nothing new), 'pending' (kept until its order
    arrives, no id) or 'recorded'."""
    b = brand_id
    outcomes: dict[int, RefundOutcome] = {0: "duplicate", 1: "recorded", 2: "pending"}
    return Call(
        RECORD_REFUND,
        [
            keys.order_index(b),
            keys.order_refunds(b, source, order_id),
            keys.conversion_refunded(b),
            keys.conversion_amounts(b),
            keys.conversions_stream(b),
        ],
        [f"{source}:{order_id}", refund_id, amount, at_ms],
        lambda reply: (outcomes[int(reply[0])], _text(reply[1]) or None),
    )


# -- roll-ups -----------------------------------------------------------------------------------
def migrate_promotion(*, brand_id: str, promotion_id: str) -> Call[int]:
    """Bring one promotion's roll-ups to the current layout (idempotent); returns how many
    since-posting fields moved."""
    b, p = brand_id, promotion_id
    return Call(
        MIGRATE_PROMOTION,
        [keys.promotion_days(b, p), keys.promotion_since(b, p), keys.promotion_all_time(b, p),
         keys.ttc_histogram(b, p), keys.ttc_all_time(b, p)],  # fmt: skip
        [],
        int,
    )


def hash_joined(*, key: str, days: Sequence[str] = (), metrics: Sequence[str] = ()) -> Call[bytes]:
    """Read-only: the hash's fields and values (without `days`), or the values of its fields
    '<day>:<metric>' day by day, as one string joined by spaces (a missing field: empty)."""
    args: list[Any] = [len(days), *days, *metrics] if days else []
    return Call(HASH_JOINED, [key], args, bytes)

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
UNKNOWN = "(unknown)"  # a dimension's value when the click did not say (no referrer: DIRECT)
DIRECT = "(direct)"
DEFAULT_BREAKDOWN_CAP = 100

@dataclass(frozen=True)
class Click:
    """A click event as the roll-up counts it."""

    entry_id: bytes | str  # its stream entry (acknowledged and deleted by the script)
    digest: int  # its click id's digest (`click_digest`): the exactly-once marker
    link: str
    promotion: str
    ts_ms: int
    hour: str  # 'yyyymmddhh' (UTC)
    prev_hour: str  # the hour before: a unique click there still counts for this hour's clicks
    visitor: bytes  # the visitor's digest (`visitor_digest`); b'' unknown: the click is unique
    family: str  # '' a human's click; else a bot hit of this family (no spaces)
    since: str  # 's<n>' or 'D<d>' since posting; '' when the promotion has no posting time
    local_hour: str = ""  # 'yyyymmddHH' in the brand's time zone ('': the UTC hour)
    # referrer host, country, device, browser, OS: what its link's breakdown of the day counts
    dims: tuple[str, str, str, str, str] = (UNKNOWN,) * 5


def click_digest(click_id: str) -> int:
    """63 bits of a click id's BLAKE2b: the member of its hour's marker set (an integer, so a set of
    up to 512 is an intset, 8 bytes a member). Two clicks of one shard and hour collide with odds
    of about n^2 / 2^64 (1 in 10^7 for a million clicks in that hour)."""
    return int.from_bytes(hashlib.blake2b(click_id.encode(), digest_size=8).digest(), "big") >> 1


def visitor_digest(visitor: str) -> bytes:
    """8 bytes of a visitor hash's BLAKE2b, the field of its link and hour's unique-visitors hash;
    b'' for no visitor."""
    return hashlib.blake2b(visitor.encode(), digest_size=8).digest() if visitor else b""


def apply_clicks(
    *, brand_id: str, shard: int, stream: str, group: str, marker_ttl: int, clicks: Sequence[Click],
    cap: int = DEFAULT_BREAKDOWN_CAP,
) -> Call[int]:  # fmt: skip
    """Count each click of one shard at most once (its digest in its hour's marker set), unique
    visitors per link and hour, bot hits by family, each link's series and breakdown of its local
    day (at most `cap` values per dimension, the rest as other), then XACK and XDEL them all;
    returns how many were counted. Every key is of the shard's slot."""
    b, s = brand_id, shard
    places: dict[str, int] = {}  # the batch's keys, each once, by 1-based place
    argv: list[Any] = [group, marker_ttl, cap]

    def place(key: str) -> int:
        at = places.get(key)
        if at is None:
            at = places[key] = len(places) + 1
        return at

    for c in clicks:
        seen = place(keys.clicks_seen(b, s, c.hour))
        if c.visitor:
            uv = place(keys.last_unique(b, s, c.link, c.hour))
            uv_before = place(keys.last_unique(b, s, c.link, c.prev_hour))
        else:
            uv = uv_before = seen  # not read
        totals = place(keys.link_totals(b, c.link, s))
        first = keys.promotion_hours(b, c.promotion, s)
        if first not in places:
            for key in (first, keys.promotion_days(b, c.promotion, s), keys.promotion_since(b, c.promotion, s),
                        keys.promotion_all_time(b, c.promotion, s)):  # fmt: skip
                place(key)
        local_hour = c.local_hour or c.hour
        subject, day = f"l:{c.link}", local_hour[:8]
        series, breakdown = place(keys.day_series(b, subject, day, s)), place(keys.day_breakdown(b, subject, day, s))
        argv += [c.entry_id, c.ts_ms, c.hour, c.family, c.since, c.digest, c.visitor, seen, uv, uv_before, totals,
                 places[first], local_hour, *c.dims, series, breakdown]  # fmt: skip
    return Call(APPLY_CLICKS, [stream, *places], argv, int)


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

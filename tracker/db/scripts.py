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
DIMENSIONS = ("r", "cc", "d", "b", "o")  # a breakdown's fields: '<dimension>:<value>'
NO_DIMS = (UNKNOWN,) * 5  # a bot hit's: not counted


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
    dims: tuple[str, str, str, str, str] = NO_DIMS


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
    day (at most `cap` values per dimension, the rest as other), then XACK them all and delete
    what the group acknowledged (XTRIM MINID: up to its first entry still pending, which stays to
    be claimed); returns how many were counted. Every key is of the shard's slot."""
    batch = ClickBatch(brand_id=brand_id, shard=shard, stream=stream, group=group, marker_ttl=marker_ttl, cap=cap)
    for c in clicks:
        batch.add(c.entry_id, c.digest, c.link, c.promotion, c.ts_ms, c.hour, c.prev_hour, c.visitor, c.family,
                  c.since, c.local_hour or c.hour, c.dims)  # fmt: skip
    return batch.call()


class ClickBatch:
    """One run of `apply_clicks` laid out as the script reads it, a click at a time: what a counted
    click adds (and a unique one adds more) is the same for every click of one link, promotion,
    UTC hour, bot family, hour since posting and local hour, so each such counter group is spelled
    out once (keys and fields), and so is each set of breakdown values; a click itself is its
    entry id, digest, counter group, set of breakdown values, visitor digest and time."""

    def __init__(self, *, brand_id: str, shard: int, stream: str, group: str, marker_ttl: int,
                 cap: int = DEFAULT_BREAKDOWN_CAP):  # fmt: skip
        self.brand_id, self.shard = brand_id, shard
        self.places: dict[str, int] = {stream: 1}  # KEYS, each once, by place (1: the stream)
        self.head: list[Any] = [group, marker_ttl, cap]
        self.groups: dict[tuple[str, ...], int] = {}
        self.group_args: list[Any] = []
        self.dims: dict[tuple[str, ...], int] = {}
        self.dims_args: list[Any] = []
        self.events: list[Any] = []

    def __len__(self) -> int:
        return len(self.events) // 6

    def add(
        self, entry_id: bytes | str, digest: int, link: str, promotion: str, ts_ms: int, hour: str, prev_hour: str,
        visitor: bytes, family: str, since: str, local_hour: str, dims: tuple[str, str, str, str, str],
    ) -> None:  # fmt: skip
        """One click (see `Click`; `local_hour` never ''); `dims` are not read for a bot hit."""
        g = self.groups.get((link, promotion, hour, family, since, local_hour))
        if g is None:
            g = self._group(link, promotion, hour, prev_hour, family, since, local_hour)
        d = 0
        if not family:
            d = self.dims.get(dims, 0)
            if not d:
                d = self.dims[dims] = len(self.dims) + 1
                self.dims_args += (f"{name}:{value}" for name, value in zip(DIMENSIONS, dims, strict=True))
        self.events += (entry_id, digest, g, d, visitor, ts_ms)

    def call(self) -> Call[int]:
        args = [*self.head, len(self.groups), len(self.dims), *self.group_args, *self.dims_args, *self.events]
        return Call(APPLY_CLICKS, list(self.places), args, int)

    def _place(self, key: str) -> int:
        at = self.places.get(key)
        if at is None:
            at = self.places[key] = len(self.places) + 1
        return at

    def _group(self, link: str, promotion: str, hour: str, prev_hour: str, family: str, since: str,
               local_hour: str) -> int:  # fmt: skip
        b, s, day, lh = self.brand_id, self.shard, hour[:8], f"h{local_hour[8:10]}:"
        place = self._place
        totals, hours = place(keys.link_totals(b, link, s)), place(keys.promotion_hours(b, promotion, s))
        days, since_key = place(keys.promotion_days(b, promotion, s)), place(keys.promotion_since(b, promotion, s))
        all_time = place(keys.promotion_all_time(b, promotion, s))
        series = place(keys.day_series(b, f"l:{link}", local_hour[:8], s))
        counted: list[tuple[int, str]]
        unique: list[tuple[int, str]] = []
        if family:
            by = f"bot:{family}"
            counted = [(totals, "bot_hits"), (totals, by), (hours, f"{hour}:bot_hits"), (days, f"{day}:bot_hits"),
                       (days, f"{day}:{by}"), (all_time, "bot_hits"), (all_time, by), (series, "bot_hits"),
                       (series, f"{lh}bot_hits")]  # fmt: skip
            uv = uv_before = breakdown = 0
        else:
            counted, unique = [
                [(totals, m), (hours, f"{hour}:{m}"), (days, f"{day}:{m}"), (all_time, m), (series, m),
                 (series, f"{lh}{m}")]
                for m in ("clicks", "unique_clicks")
            ]  # fmt: skip
            if since:
                counted.append((since_key, f"{since}:clicks"))
            uv, uv_before = place(keys.last_unique(b, s, link, hour)), place(keys.last_unique(b, s, link, prev_hour))
            breakdown = place(keys.day_breakdown(b, f"l:{link}", local_hour[:8], s))
        g = self.groups[(link, promotion, hour, family, since, local_hour)] = len(self.groups) + 1
        self.group_args += (place(keys.clicks_seen(b, s, hour)), uv, uv_before, all_time, breakdown, day, len(counted),
                            *(x for pair in counted for x in pair), len(unique),
                            *(x for pair in unique for x in pair))  # fmt: skip
        return g


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

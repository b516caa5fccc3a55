"""Series by local day or hour, and breakdowns by referrer host, country, device, browser and OS.

Read from the roll-up's per-link (and per-promotion, for orders without a click) hashes of each
local day (tracker.keys.day_series, day_breakdown), summed over the click shards: O(subjects x days)
hashes, however many events. Definitions: docs/metrics.md (Series and breakdowns).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import redis

from tracker import db, keys, localtime
from tracker.brands.model import click_shards_ever
from tracker.errors import NotFound
from tracker.reports.model import Money, ratio
from tracker.reports.results import Breakdown, BreakdownOther, BreakdownRow, Figures, Series, SeriesRow

SCOPES = ("link", "promotion", "influencer", "campaign", "brand")
DIMENSIONS = {"referrer": "r", "country": "cc", "device": "d", "browser": "b", "os": "o"}
OTHER = "~"  # a breakdown's values past the cap, folded at roll-up time
MAX_DAYS = 366
HOURLY_MAX_DAYS = 2  # ranges of this many days or fewer are by hour unless asked otherwise
DEFAULT_DAYS = 30
COUNTS = ("clicks", "unique_clicks", "bot_hits", "conversions")


def subjects(r: redis.Redis, brand_id: str, by: str, subject_id: str | None) -> tuple[list[str], list[str]]:
    """The links ('l:<id>') and promotions ('p:<id>', their orders without a click) whose days to sum."""
    if by != "brand" and not subject_id:
        raise NotFound(by, "", f"{by} id missing")
    if by == "link":
        if not r.hexists(keys.entities(brand_id, "link"), subject_id):
            raise NotFound("link", subject_id)
        return [f"l:{subject_id}"], []
    promos = [json.loads(v) for v in r.hvals(keys.entities(brand_id, "promotion"))]
    if by == "promotion":
        promos = [p for p in promos if p["id"] == subject_id]
    elif by in ("influencer", "campaign"):
        if not r.hexists(keys.entities(brand_id, by), subject_id):
            raise NotFound(by, subject_id)
        promos = [p for p in promos if p[f"{by}_id"] == subject_id]
    if by == "promotion" and not promos:
        raise NotFound("promotion", subject_id)
    ids = {p["id"] for p in promos}
    links = [json.loads(v) for v in r.hvals(keys.entities(brand_id, "link"))]
    return sorted(f"l:{x['id']}" for x in links if x.get("promotion_id") in ids), sorted(f"p:{i}" for i in ids)


def date_range(brand: dict[str, Any], start: date | None, end: date | None) -> tuple[date, date]:
    """The dates asked, else the last DEFAULT_DAYS local days up to today (or up to `to`)."""
    zone = localtime.zone_name(brand)
    end = end or (start + timedelta(days=DEFAULT_DAYS - 1) if start else localtime.today(zone))
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).strftime("%Y%m%d") for n in range((end - start).days + 1)]


def _read(r: redis.Redis, brand: dict[str, Any], kind: str, links: list[str], promos: list[str],
          days: list[str]) -> list[dict[str, int]]:  # fmt: skip
    """Per day, the sum of the subjects' hashes of that day (`kind` 'series' or 'breakdown': links
    only) over the click shards; only the days within the promotions' span of events are read."""
    b = brand["id"]
    key = keys.day_series if kind == "series" else keys.day_breakdown
    out: list[dict[str, int]] = [defaultdict(int) for _ in days]
    lo, hi = _span(r, brand, links, promos)
    active = [(sums, day) for sums, day in zip(out, days, strict=True) if lo <= day <= hi]
    for shard in range(click_shards_ever(brand)):
        subs = links + (promos if not shard and kind == "series" else [])  # orders: shard 0 only
        if not subs or not active:
            continue
        with db.pipeline(r, keys.clicks_stream(b, shard)) as p:  # one click shard: one slot
            for _, day in active:
                for s in subs:
                    p.hgetall(key(b, s, day, shard))
            replies = iter(p.execute())
        for sums, _ in active:
            for _ in subs:
                for k, v in next(replies).items():
                    sums[k.decode()] += int(v)
    return out


def _span(r: redis.Redis, brand: dict[str, Any], links: list[str], promos: list[str]) -> tuple[str, str]:
    """The local days ('yyyymmdd') that can hold the subjects' events: from the day before their
    promotions' first day with events to the day after their last (those are UTC days, a local day
    is at most one off); ('9', '0'), an empty span, when they have none. What bounds a report's
    cost by the days that have events, not by the dates asked (366 days of 1,000 links)."""
    b = brand["id"]
    ids = {s[2:] for s in promos}  # the links' promotions among them (`subjects`), but for one link's
    if links and not ids:
        records = r.hmget(keys.entities(b, "link"), [s[2:] for s in links])
        ids = {json.loads(x)["promotion_id"] for x in records if x}
    firsts, lasts = [], []
    for shard in range(click_shards_ever(brand)):
        if not ids:
            break
        with db.pipeline(r, keys.clicks_stream(b, shard)) as p:  # one click shard: one slot
            for i in sorted(ids):
                p.hmget(keys.promotion_all_time(b, i, shard), "first", "last")
            for first, last in p.execute():
                if first and last:
                    firsts.append(first.decode())
                    lasts.append(last.decode())
    if not firsts:
        return "9", "0"
    step = timedelta(days=1)
    lo, hi = (date(int(d[:4]), int(d[4:6]), int(d[6:8])) for d in (min(firsts), max(lasts)))
    return (lo - step).strftime("%Y%m%d"), (hi + step).strftime("%Y%m%d")


def _figures(sums: dict[str, int], money: Money, prefix: str = "") -> dict[str, Any]:
    """One bucket's counts, its revenue in the reporting currency and what could not be converted
    (the fields of `Figures`)."""
    row: dict[str, Any] = {m: sums.get(prefix + m, 0) for m in COUNTS}
    revenue, unconverted = 0, {}
    for k, v in sums.items():
        if k.startswith(prefix + "revenue:") and v:
            currency = k.rsplit(":", 1)[1]
            value = money(v, currency)
            if value is None:
                unconverted[currency] = unconverted.get(currency, 0) + v
            else:
                revenue += value
    row.update(revenue=revenue, unconverted=unconverted)
    return row


def series(
    r: redis.Redis, brand: dict[str, Any], by: str, subject_id: str | None, start: date, end: date, interval: str
) -> Series:
    """Clicks, unique clicks, bot hits, conversions and revenue by local day (or hour) of [start, end]."""
    links, promos = subjects(r, brand["id"], by, subject_id)
    days = _days(start, end)
    per_day = _read(r, brand, "series", links, promos, days)
    money = Money(r, brand)
    rows = []
    for day, sums in zip(days, per_day, strict=True):
        iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        if interval == "day":
            rows.append(SeriesRow(period=iso, **_figures(sums, money)))
        else:
            rows += [SeriesRow(period=f"{iso}T{h:02d}:00", **_figures(sums, money, f"h{h:02d}:")) for h in range(24)]
    totals = {m: sum(getattr(row, m) for row in rows) for m in (*COUNTS, "revenue")}
    unconverted: dict[str, int] = defaultdict(int)
    for row in rows:
        for c, v in row.unconverted.items():
            unconverted[c] += v
    return Series(
        by=by, subject_id=subject_id, start=start, end=end, time_zone=localtime.zone_name(brand), interval=interval,
        currency=brand["currency"], rows=rows, totals=Figures(**totals, unconverted=dict(unconverted)),
    )  # fmt: skip


def breakdown(
    r: redis.Redis, brand: dict[str, Any], by: str, subject_id: str | None, dimension: str, start: date, end: date,
    top: int,
) -> Breakdown:  # fmt: skip
    """Clicks of [start, end] by one dimension's values: the `top` values, the rest summed as other
    (with the values folded at roll-up time), and the exact total."""
    links, promos = subjects(r, brand["id"], by, subject_id)
    prefix = DIMENSIONS[dimension] + ":"
    counts: dict[str, int] = defaultdict(int)
    for sums in _read(r, brand, "breakdown", links, promos, _days(start, end)):  # promotions bound the days
        for k, v in sums.items():
            if k.startswith(prefix):
                counts[k[len(prefix):]] += v
    folded = counts.pop(OTHER, 0)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(counts.values()) + folded
    rows = [BreakdownRow(v, n, ratio(n, total)) for v, n in ranked[:top]]
    other = sum(n for _, n in ranked[top:]) + folded
    return Breakdown(
        by=by, subject_id=subject_id, start=start, end=end, time_zone=localtime.zone_name(brand),
        dimension=dimension, top=top, rows=rows,
        other=BreakdownOther(other, ratio(other, total), len(ranked[top:]), folded), total=total,
    )  # fmt: skip

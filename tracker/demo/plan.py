"""The demo brand and its people: a shoe shop, twelve micro-influencers and four celebrities, what
each costs, and the campaign they post for, set up through the brand's API."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BRAND = "Demo Shoes"
CURRENCY = "USD"
EUR_RATE = "1.08"
CAMPAIGN_CODE = "RUNNERS10"
SHOP = "https://shop.demo-shoes.example/collections/runners"
DAY = 86_400
HOUR = 3_600

# Fictional people. (handle, platform)
MICRO = [
    ("maya.trails", "instagram"), ("sole.stories", "instagram"), ("runwithremi", "tiktok"),
    ("kofi.kicks", "youtube"), ("lena.laces", "instagram"), ("the.daily.5k", "tiktok"),
    ("urban.stride", "instagram"), ("hannah.hikes", "youtube"), ("marathon.mo", "instagram"),
    ("pace.priya", "tiktok"), ("trailmix.tom", "instagram"), ("jogging.jules", "youtube"),
]  # fmt: skip
CELEBRITIES = [("zoe.starr", "instagram"), ("marcus.vale", "tiktok"), ("ava.monroe", "instagram"),
               ("dj.kairo", "youtube")]  # fmt: skip
CELEBRITY_FOLLOWERS = [4_800_000, 9_200_000, 2_600_000, 1_700_000]


@dataclass
class Promo:
    """One influencer's post for the campaign: who, when, what it costs, and how its audience behaves."""

    handle: str
    platform: str
    tier: str  # "micro" or "celebrity"
    followers: int
    posted: float  # unix seconds
    flat_fee: int
    commission: str  # percent
    code: str  # the influencer's discount code
    ctr: float  # clicks per follower over the post's life
    half_life: float  # seconds
    conversion: float  # orders per human click
    delay: float  # median seconds from click to order
    promotion_id: str = ""
    influencer_id: str = ""
    link_code: str = ""

    @property
    def style(self) -> str:
        return "long_running" if self.tier == "micro" else "timeboxed"


def promotions(rng: random.Random, start: float, days: int) -> list[Promo]:
    """Micro posts spread over the weeks (slow curves, cheap), celebrity stories (fast curves, dear)."""
    promos = []
    micro = MICRO[:]
    rng.shuffle(micro)
    for i, (handle, platform) in enumerate(micro):
        day = start + (0.04 + 0.76 * i / (len(micro) - 1)) * days * DAY
        promos.append(
            Promo(
                handle, platform, "micro", rng.randrange(12_000, 96_000, 100),
                posted=day - day % DAY + rng.randint(13, 20) * HOUR + rng.randrange(0, 60) * 60,
                flat_fee=rng.choice([150, 200, 250, 300, 350, 400]) * 100,
                commission=rng.choice(["10", "12", "15"]), code=handle.split(".")[0].upper()[:10] + "15",
                ctr=rng.uniform(0.018, 0.03), half_life=rng.uniform(5, 9) * DAY,
                conversion=rng.uniform(0.045, 0.07), delay=6 * HOUR,
            )
        )  # fmt: skip
    for i, (handle, platform) in enumerate(CELEBRITIES):
        day = start + (0.12 + 0.24 * i) * days * DAY
        promos.append(
            Promo(
                handle, platform, "celebrity", CELEBRITY_FOLLOWERS[i],
                posted=day - day % DAY + rng.randint(16, 21) * HOUR,
                flat_fee=rng.choice([600_000, 800_000, 1_000_000, 1_200_000]),
                commission=rng.choice(["0", "2"]), code=handle.split(".")[0].upper()[:10] + "20",
                ctr=rng.uniform(0.0007, 0.0011), half_life=rng.uniform(4, 8) * HOUR,
                conversion=rng.uniform(0.01, 0.016), delay=1 * HOUR,
            )
        )  # fmt: skip
    return promos


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def set_up(api: Callable[..., Any], promos: list[Promo], starts: float) -> tuple[str, str]:
    """Rate, webhook secret, campaign, influencers, promotions and links through the API (`api(method,
    path, body)`); fills in each promo's ids and link code; returns (campaign id, webhook secret)."""
    api("PUT", "/brand/rates/EUR", {"rate": EUR_RATE})
    secret = api("POST", "/integrations/generic/secrets", {})["secret"]
    campaign = api("POST", "/campaigns", {
        "name": "Spring Runners", "slug": "spring-runners", "destination_url": SHOP, "discount_codes": [CAMPAIGN_CODE],
        "starts_on": datetime.fromtimestamp(starts, UTC).date().isoformat(),
    })  # fmt: skip
    for promo in promos:
        person = api("POST", "/influencers", {"handle": promo.handle, "platform": promo.platform,
                                               "followers": promo.followers})  # fmt: skip
        body = {
            "campaign_id": campaign["id"], "influencer_id": person["id"], "style": promo.style,
            "posted_at": iso(promo.posted), "discount_codes": [promo.code],
            "cost": {"currency": CURRENCY, "flat_fee": promo.flat_fee, "commission_percent": promo.commission},
        }  # fmt: skip
        if promo.style == "timeboxed":
            body["window_hours"] = 24
        promo.influencer_id = person["id"]
        promo.promotion_id = api("POST", "/promotions", body)["id"]
        promo.link_code = api("POST", "/links", {"promotion_id": promo.promotion_id})["code"]
    return campaign["id"], secret

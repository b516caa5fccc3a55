"""Traffic as the service receives it: clicks on short links (people on decaying curves, repeat
visitors, bots and link previews) and orders and refunds as signed generic webhooks.

The demo draws every event of its plan here (`make_plan`); the benchmarks use the same pieces: the
user agents, the click as the redirect writes it on a brand's stream (`click_event`, for loads too
big to send through the redirect) and the signed webhook (`order_payload`, `signature`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tracker import clickid
from tracker.demo.plan import CAMPAIGN_CODE, CURRENCY, DAY, SHOP, Promo, iso, promotions

PRICES = [5990, 6990, 7990, 8990, 9990, 11990, 12990, 14990]  # minor units, in USD or EUR
REFERRERS = {
    "instagram": "https://l.instagram.com/",
    "tiktok": "https://www.tiktok.com/",
    "youtube": "https://www.youtube.com/",
}
IN_APP = {
    "instagram": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 329.0.0.41.93 (iPhone14,5; iOS 17_4; en_US; en; scale=3.00; 1170x2532; 602319126)",
    "tiktok": "Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 trill_330804 JsSdk/1.0 NetType/WIFI "
    "Channel/googleplay AppName/musical_ly app_version/33.8.4 ByteLocale/en ByteFullLocale/en Region/US",
    "youtube": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
}
BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/459.0.0.32.118;]",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
]
PREVIEWERS = [  # link-preview fetchers: a burst when a post goes up
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
]
CRAWLERS = [  # crawlers and scripts: spread over the weeks
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "python-requests/2.31.0",
    "curl/8.4.0",
]


# -- the demo's events, decided up front from the seed --------------------------------------
@dataclass
class Hit:
    """One request to a short link: a person, a bot, or a link checker's HEAD."""

    at: float
    promo: int
    ip: str
    ua: str
    referrer: str | None
    human: bool
    method: str = "GET"
    tid: str | None = None  # the click id the redirect answered with
    live: bool = False


@dataclass
class Order:
    at: float
    amount: int
    currency: str
    promo: int | None  # the promotion the customer came from (None: organic)
    hit: Hit | None
    via: str  # click_id, landing_url, click_id+code, code, campaign_code, none
    customer: str
    order_id: str = ""
    deliveries: int = 1  # 2: the shop delivered the webhook twice
    live: bool = False


@dataclass
class Refund:
    at: float
    order: Order
    amount: int
    refund_id: str
    live: bool = False


@dataclass
class Plan:
    """Every click, order and refund of the demo, and the promotions they belong to."""

    now: float
    days: int
    promos: list[Promo]
    hits: list[Hit]
    orders: list[Order]
    refunds: list[Refund]


def make_plan(seed: int = 7, days: int = 35, scale: float = 1.0, now: float | None = None) -> Plan:
    """Every click, order and refund of the demo, decided from the seed (times relative to `now`)."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    start = now - days * DAY
    promos = promotions(rng, start, days)
    hits: list[Hit] = []
    orders: list[Order] = []
    for n, promo in enumerate(promos):
        own = _hits(rng, max(3, round(promo.followers * promo.ctr * scale)), promo, now)
        for hit in own:
            hit.promo = n
        hits += own
        for hit in own:
            if not hit.human or rng.random() >= promo.conversion:
                continue
            delay = min(rng.lognormvariate(math.log(promo.delay), 1.1), 29.5 * DAY)
            if hit.at + delay > now:
                continue
            draw = rng.random()
            via = ("click_id" if draw < 0.72 else "landing_url" if draw < 0.78 else
                   "click_id+code" if draw < 0.88 else "code")  # fmt: skip
            orders.append(_order(rng, hit.at + delay, n, hit, via, hit.ip))
    for _ in range(max(3, len(orders) // 15)):  # orders no influencer earned
        via = "campaign_code" if rng.random() < 0.4 else "none"
        orders.append(_order(rng, rng.uniform(start, now), None, None, via, _ip(rng)))
    orders.sort(key=lambda o: o.at)
    for i, order in enumerate(orders):
        order.order_id = f"DS-{100_001 + i}"
    _ensure_currencies(orders)
    for order in rng.sample(orders, max(2, len(orders) // 50)):
        order.deliveries = 2
    hits.sort(key=lambda h: h.at)
    plan = Plan(now, days, promos, hits, orders, [])
    plan.refunds = _refunds(rng, plan)
    return plan


def _ip(rng: random.Random) -> str:
    return f"{rng.randint(24, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _hits(rng: random.Random, n: int, promo: Promo, now: float) -> list[Hit]:
    """A promotion's people on a decaying curve (repeat visitors among them), then its bots."""
    decay = math.log(2) / promo.half_life
    times = sorted(t for t in (promo.posted + rng.expovariate(decay) for _ in range(n)) if t <= now)
    seen: list[tuple[str, str]] = []
    hits = []
    for at in times:
        if seen and rng.random() < 0.18:
            ip, ua = rng.choice(seen[-40:])  # someone who clicked lately, back again
        else:
            ip = _ip(rng)
            ua = IN_APP[promo.platform] if rng.random() < 0.5 else rng.choice(BROWSERS)
            seen.append((ip, ua))
        referrer = REFERRERS[promo.platform] if rng.random() < 0.7 else None
        hits.append(Hit(at, -1, ip, ua, referrer, human=True))
    for _ in range(rng.randint(4, 9)):  # previews as the post spreads through chats
        at = promo.posted + rng.uniform(5, 900)
        hits.append(Hit(at, -1, _ip(rng), rng.choice(PREVIEWERS), None, human=False))
    for _ in range(max(1, int(len(times) * 0.04))):
        hits.append(Hit(rng.uniform(promo.posted, now), -1, _ip(rng), rng.choice(CRAWLERS), None, human=False))
    for _ in range(max(1, int(len(times) * 0.01))):
        at = rng.uniform(promo.posted, now)
        hits.append(Hit(at, -1, _ip(rng), rng.choice(BROWSERS), None, human=False, method="HEAD"))
    return [h for h in hits if h.at <= now]


def _order(rng: random.Random, at: float, promo: int | None, hit: Hit | None, via: str, ip: str) -> Order:
    amount = rng.choice(PRICES) * (2 if rng.random() < 0.12 else 1)
    draw = rng.random()
    currency = "EUR" if draw < 0.18 else "GBP" if draw < 0.186 else CURRENCY
    customer = "cus_" + hashlib.sha256(ip.encode()).hexdigest()[:10]
    return Order(at, amount, currency, promo, hit, via, customer)


def _ensure_currencies(orders: list[Order]) -> None:
    """At least one attributed EUR order (converted) and one GBP order (no rate: reported apart)."""
    attributed = [o for o in orders if o.promo is not None and o.via == "click_id"]
    for currency, pick in (("EUR", 0), ("GBP", -1)):
        if attributed and not any(o.currency == currency for o in orders if o.promo is not None):
            attributed[pick].currency = currency


def _refunds(rng: random.Random, plan: Plan) -> list[Refund]:
    """A full refund of a micro order (returned shoes) and a partial one of a celebrity order."""
    refunds = []
    for tier, full in (("micro", True), ("celebrity", False)):
        pool = [o for o in plan.orders if o.promo is not None and plan.promos[o.promo].tier == tier
                and o.currency == CURRENCY and o.via == "click_id" and o.deliveries == 1]  # fmt: skip
        pool = [o for o in pool if o.at < plan.now - 2 * DAY] or pool  # returned within days, before now
        if not pool:
            continue
        order = rng.choice(pool)
        at = min(order.at + rng.uniform(2, 5) * DAY, plan.now - 60)
        amount = order.amount if full else order.amount // 4
        refunds.append(Refund(max(at, order.at + 1), order, amount, f"RF-{order.order_id}"))
    return refunds


# -- on the wire ----------------------------------------------------------------------------
def order_payload(
    order_id: str, amount: int, currency: str, *, occurred_at: str | None = None, customer_id: str | None = None,
    click_id: str | None = None, landing_url: str | None = None, discount_code: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A generic webhook's order, its optional keys only when given."""
    body: dict[str, Any] = {"type": "order", "order_id": order_id, "amount": amount, "currency": currency}
    optional = {"customer_id": customer_id, "occurred_at": occurred_at, "click_id": click_id,
                "landing_url": landing_url, "discount_code": discount_code}  # fmt: skip
    return body | {k: v for k, v in optional.items() if v is not None}


def demo_order_payload(order: Order, plan: Plan, dated: bool) -> dict[str, Any]:
    """What the shop sends for one of the demo's orders: the keys its `via` says it kept."""
    tid = order.hit.tid if order.hit is not None else None
    code = plan.promos[order.promo].code if order.promo is not None else None
    if code is not None and order.amount % 3 == 0:
        code = code.lower()  # codes are case-insensitive
    return order_payload(
        order.order_id, order.amount, order.currency, customer_id=order.customer,
        occurred_at=iso(order.at) if dated else None,
        click_id=tid if order.via in ("click_id", "click_id+code") else None,
        landing_url=f"{SHOP}?tid={quote(tid)}" if order.via == "landing_url" and tid else None,
        discount_code=code if order.via in ("code", "click_id+code") else
        CAMPAIGN_CODE if order.via == "campaign_code" else None,
    )  # fmt: skip


def refund_payload(refund: Refund) -> dict[str, Any]:
    return {"type": "refund", "order_id": refund.order.order_id, "refund_id": refund.refund_id,
            "amount": refund.amount, "currency": refund.order.currency, "occurred_at": iso(refund.at)}  # fmt: skip


def signature(secret: str, t: int, body: bytes) -> str:
    """The generic webhook's X-Signature header of `body` signed at unix time `t`."""
    return f"t={t},v1={hmac.new(secret.encode(), str(t).encode() + b'.' + body, hashlib.sha256).hexdigest()}"


def signed(secret: str, payload: dict[str, Any], t: int | None = None) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a generic webhook delivery, signed now (or at `t`)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    t = int(time.time()) if t is None else t
    return body, {"X-Signature": signature(secret, t, body), "Content-Type": "application/json"}


def click_event(
    code: str, link_id: str, promotion_id: str, ts_ms: int, visitor: str, ua: str, secret: bytes, *,
    referrer: str | None = None, country: str | None = None, method: str | None = None,
) -> list[str]:  # fmt: skip
    """A click as the redirect writes it on the brand's stream (tracker/redirect.py's fields, in its
    order), for loads too big to send through the redirect: XADD <stream> * <fields...>."""
    event = ["id", clickid.make(code, ts_ms, secret), "l", link_id, "p", promotion_id, "t", str(ts_ms),
             "v", visitor, "ua", ua]  # fmt: skip
    for name, value in (("r", referrer), ("cc", country), ("m", method)):
        if value:
            event += (name, value)
    return event

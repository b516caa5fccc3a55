"""`tracker demo`: a demo brand with a realistic campaign, its traffic sent through the service's own code.

Twelve micro-influencers with long-running posts and four celebrities with 24-hour promotions,
each with plausible costs; clicks on decaying curves (a half-life of about a week for micro posts,
hours for celebrities), repeat visitors, bots and link previews, orders through signed webhooks
(some delivered twice, two refunded, some in EUR and a little in GBP, which has no rate), with
times spread over the past weeks. Past clicks go through the redirect's own handler with their
past time (`Redirector.handle`), everything else through the whole WSGI stack with Flask's test
client; when a server that shares this Redis answers at `live_url`, the last day's clicks and
orders go to it over HTTP. Then the roll-ups, the comparison, and where to look.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import click
from werkzeug.test import Client

from tracker import create_wsgi
from tracker.brands.model import create_brand, get_brand
from tracker.reports import model as reports

BRAND = "Demo Shoes"
CURRENCY = "USD"
EUR_RATE = "1.08"
DAY = 86_400
HOUR = 3_600
ROLLUP_EVERY = 8_000  # events sent between two roll-ups (as the scheduler would, every minute)

# Fictional people. (handle, platform)
MICRO = [
    ("maya.trails", "instagram"), ("sole.stories", "instagram"), ("runwithremi", "tiktok"),
    ("kofi.kicks", "youtube"), ("lena.laces", "instagram"), ("the.daily.5k", "tiktok"),
    ("urban.stride", "instagram"), ("hannah.hikes", "youtube"), ("marathon.mo", "instagram"),
    ("pace.priya", "tiktok"), ("trailmix.tom", "instagram"), ("jogging.jules", "youtube"),
]  # fmt: skip
CELEBRITIES = [("zoe.starr", "instagram"), ("marcus.vale", "tiktok"), ("ava.monroe", "instagram"),
               ("dj.kairo", "youtube")]  # fmt: skip
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


# -- the plan: every event, decided up front from the seed ----------------------------------
@dataclass
class Promo:
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
    now: float
    days: int
    promos: list[Promo]
    hits: list[Hit]
    orders: list[Order]
    refunds: list[Refund]
    campaign_code: str = "RUNNERS10"


def _ip(rng: random.Random) -> str:
    return f"{rng.randint(24, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _promos(rng: random.Random, start: float, days: int) -> list[Promo]:
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
    followers = [4_800_000, 9_200_000, 2_600_000, 1_700_000]
    for i, (handle, platform) in enumerate(CELEBRITIES):
        day = start + (0.12 + 0.24 * i) * days * DAY
        promos.append(
            Promo(
                handle, platform, "celebrity", followers[i],
                posted=day - day % DAY + rng.randint(16, 21) * HOUR,
                flat_fee=rng.choice([600_000, 800_000, 1_000_000, 1_200_000]),
                commission=rng.choice(["0", "2"]), code=handle.split(".")[0].upper()[:10] + "20",
                ctr=rng.uniform(0.0007, 0.0011), half_life=rng.uniform(4, 8) * HOUR,
                conversion=rng.uniform(0.01, 0.016), delay=1 * HOUR,
            )
        )  # fmt: skip
    return promos


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


def make_plan(seed: int = 7, days: int = 35, scale: float = 1.0, now: float | None = None) -> Plan:
    """Every click, order and refund of the demo, decided from the seed (times relative to `now`)."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    start = now - days * DAY
    promos = _promos(rng, start, days)
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


# -- sending it through the service ---------------------------------------------------------
class _Api:
    """The brand's API through the served WSGI stack, in this process."""

    def __init__(self, client: Client, key: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self.client.open(f"/api/v1{path}", method=method, json=body, headers=self.headers)
        if resp.status_code not in (200, 201):
            raise click.ClickException(f"demo: {method} {path} answered {resp.status_code}: {resp.get_data(True)}")
        return resp.get_json()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _setup(api: _Api, plan: Plan) -> tuple[str, str]:
    """Rate, webhook secret, campaign, influencers, promotions, links; returns (campaign id, secret)."""
    api("PUT", "/brand/rates/EUR", {"rate": EUR_RATE})
    secret = api("POST", "/integrations/generic/secrets", {})["secret"]
    start = datetime.fromtimestamp(plan.now - plan.days * DAY, UTC).date().isoformat()
    campaign = api("POST", "/campaigns", {
        "name": "Spring Runners", "slug": "spring-runners", "starts_on": start,
        "destination_url": "https://shop.demo-shoes.example/collections/runners",
        "discount_codes": [plan.campaign_code],
    })  # fmt: skip
    for promo in plan.promos:
        person = api("POST", "/influencers", {"handle": promo.handle, "platform": promo.platform,
                                               "followers": promo.followers})  # fmt: skip
        body = {
            "campaign_id": campaign["id"], "influencer_id": person["id"], "style": promo.style,
            "posted_at": _iso(promo.posted), "discount_codes": [promo.code],
            "cost": {"currency": CURRENCY, "flat_fee": promo.flat_fee, "commission_percent": promo.commission},
        }  # fmt: skip
        if promo.style == "timeboxed":
            body["window_hours"] = 24
        promo.influencer_id = person["id"]
        promo.promotion_id = api("POST", "/promotions", body)["id"]
        promo.link_code = api("POST", "/links", {"promotion_id": promo.promotion_id})["code"]
    return campaign["id"], secret


def _tid(location: str) -> str:
    return parse_qs(urlsplit(location).query)["tid"][0]


def _payload(order: Order, plan: Plan, dated: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "order", "order_id": order.order_id, "amount": order.amount,
                            "currency": order.currency, "customer_id": order.customer}  # fmt: skip
    if dated:
        body["occurred_at"] = _iso(order.at)
    code = plan.promos[order.promo].code if order.promo is not None else None
    if order.via in ("click_id", "click_id+code"):
        body["click_id"] = order.hit.tid
    if order.via == "landing_url":
        body["landing_url"] = f"https://shop.demo-shoes.example/collections/runners?tid={quote(order.hit.tid)}"
    if order.via in ("code", "click_id+code"):
        body["discount_code"] = code.lower() if order.amount % 3 == 0 else code  # codes are case-insensitive
    if order.via == "campaign_code":
        body["discount_code"] = plan.campaign_code
    return body


def _refund_payload(refund: Refund) -> dict[str, Any]:
    return {"type": "refund", "order_id": refund.order.order_id, "refund_id": refund.refund_id,
            "amount": refund.amount, "currency": refund.order.currency, "occurred_at": _iso(refund.at)}  # fmt: skip


def _signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    t = str(int(time.time()))
    sig = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"X-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


class Http:
    """Plain HTTP/1.1 to the live server on one kept-alive connection (redirects are not followed)."""

    def __init__(self, url: str, timeout: float = 10):
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(parts.hostname, parts.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()  # the server closed a kept-alive connection: once more on a new one
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


class _Sender:
    """Sends each event through the redirect's handler / the in-process stack, or to the live server."""

    def __init__(self, front: Any, client: Client, brand_id: str, secret: str, live_url: str | None):
        self.front, self.client, self.secret = front, client, secret
        self.path = f"/webhooks/{brand_id}/generic"
        self.http = Http(live_url) if live_url else None

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def click(self, hit: Hit, code: str) -> None:
        if hit.live:
            headers = {"User-Agent": hit.ua, **({"Referer": hit.referrer} if hit.referrer else {})}
            status, answer, _ = self.http.request(hit.method, f"/{code}", headers=headers)
            location = answer.get("location", "")
        else:
            environ = {"REQUEST_METHOD": hit.method, "PATH_INFO": f"/{code}", "REMOTE_ADDR": hit.ip,
                       "HTTP_USER_AGENT": hit.ua}  # fmt: skip
            if hit.referrer:
                environ["HTTP_REFERER"] = hit.referrer
            status_line, headers, _ = self.front.handle(environ, code, hit.at)
            status, location = int(status_line[:3]), dict(headers).get("Location", "")
        if status != 302:
            raise click.ClickException(f"demo: the redirect of {code} answered {status}")
        hit.tid = _tid(location)

    def post(self, payload: dict[str, Any], live: bool) -> dict[str, Any]:
        body, headers = _signed(self.secret, payload)
        if live:
            status, _, raw = self.http.request("POST", self.path, body, headers)
            text = raw.decode()
        else:
            answer = self.client.post(self.path, data=body, headers=headers)
            status, text = answer.status_code, answer.get_data(True)
        if status != 200:
            raise click.ClickException(f"demo: the webhook answered {status}: {text}")
        return json.loads(text)


def serves_brand(url: str, key: str, brand_id: str) -> bool:
    """Whether a server answers at `url` with this Redis's data (it knows the new brand's key)."""
    http_ = Http(url, timeout=2)
    try:
        status, _, raw = http_.request("GET", "/api/v1/brand", headers={"Authorization": f"Bearer {key}"})
        return status == 200 and json.loads(raw).get("id") == brand_id
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        http_.close()


@contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    """The roll-up job reads REDIS_URL from the environment (as an RQ worker does)."""
    old = os.environ.get(name)
    if value:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@dataclass
class Result:
    """What the demo made: its plan (ids filled in), the brand and key, the comparison, how it went."""

    plan: Plan
    brand: dict[str, Any]
    api_key: str
    campaign_id: str
    comparison: dict[str, Any]
    live: bool
    seconds: float
    portal_url: str
    outcomes: dict[str, int] = field(default_factory=dict)


def run(
    config: dict[str, Any], *, base_url: str | None = None, live_url: str | None = None, seed: int = 7,
    days: int = 35, scale: float = 1.0, echo: Callable[[str], Any] = click.echo, progress: bool = True,
) -> Result:  # fmt: skip
    """Create the demo brand, send its traffic, roll up, print the comparison and where to look."""
    from tracker.portal.model import create_token
    from workers import rollup

    started = time.monotonic()
    base_url = (base_url or config.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    plan = make_plan(seed, days, scale)
    front = create_wsgi({**config, "BASE_URL": base_url})
    r = front.flask_app.extensions["redis"]
    sender: _Sender | None = None
    outcomes: dict[str, int] = {}
    try:
        brand, key = create_brand(r, BRAND, CURRENCY)
        live = bool(live_url) and serves_brand(live_url.rstrip("/"), key, brand["id"])
        cutoff = plan.now - DAY if live else math.inf
        for event in (*plan.hits, *plan.orders, *plan.refunds):
            event.live = event.at >= cutoff
        client = Client(front)
        sender = _Sender(front, client, brand["id"], "", live_url.rstrip("/") if live else None)
        total = len(plan.hits) + sum(o.deliveries for o in plan.orders) + len(plan.refunds) + 2 * len(plan.promos)
        bar = (click.progressbar(length=total, label=BRAND, show_pos=True, item_show_func=lambda s: s, width=24)
               if progress else nullcontext(None))  # fmt: skip
        with _env("REDIS_URL", config.get("REDIS_URL")), bar as bar_:

            def step(n: int, what: str) -> None:
                if bar_ is not None:
                    bar_.update(n, what)

            campaign_id, sender.secret = _setup(_Api(client, key), plan)
            step(2 * len(plan.promos), "campaign set up")
            past = [h for h in plan.hits if not h.live]
            for n, hit in enumerate(past, 1):
                sender.click(hit, plan.promos[hit.promo].link_code)
                step(1, f"clicks of {datetime.fromtimestamp(hit.at, UTC):%b %d}")
                if n % ROLLUP_EVERY == 0:
                    rollup.run(brand["id"])  # as the scheduler would, while traffic comes in
            for hit in [h for h in plan.hits if h.live]:
                sender.click(hit, plan.promos[hit.promo].link_code)
                step(1, "last day's clicks, live")
            for event in sorted([*plan.orders, *plan.refunds], key=lambda e: e.at):
                if isinstance(event, Refund):
                    _count(outcomes, sender.post(_refund_payload(event), event.live))
                    step(1, "refunds")
                    continue
                dated = not (event.hit is not None and event.hit.live)  # a live click's order is now
                payload = _payload(event, plan, dated)
                for _ in range(event.deliveries):
                    _count(outcomes, sender.post(payload, event.live))
                step(event.deliveries, f"orders of {datetime.fromtimestamp(event.at, UTC):%b %d}")
            step(0, "rolling up")
            rollup.run(brand["id"])
            _, token = create_token(r, brand["id"], plan.promos[0].influencer_id)
        brand = get_brand(r, brand["id"])
        comparison = reports.comparison(r, brand, reports.DEFAULT_GROUPS, campaign_id)
    finally:
        if sender is not None:
            sender.close()
        _close(front)
    result = Result(plan, brand, key, campaign_id, comparison, live, time.monotonic() - started,
                    f"{base_url}/i/{token}", outcomes)  # fmt: skip
    _report(result, base_url, live_url, echo)
    return result


def _count(outcomes: dict[str, int], answer: dict[str, Any]) -> None:
    for event in answer["events"]:
        name = f"{event['kind']}:{event['outcome']}"
        outcomes[name] = outcomes.get(name, 0) + 1


def _close(front: Any) -> None:
    """Close the connections the in-process stack opened (its clients and the hot paths')."""
    front.flask_app.extensions["db"].close()


def _report(result: Result, base_url: str, live_url: str | None, echo: Callable[[str], Any]) -> None:
    plan, cur = result.plan, CURRENCY
    humans = sum(h.human for h in plan.hits)
    twice = sum(o.deliveries == 2 for o in plan.orders)
    echo(
        f"\n{BRAND}: {len(plan.promos)} promotions over {plan.days} days, {humans:,} clicks and "
        f"{len(plan.hits) - humans:,} bot hits, {len(plan.orders):,} orders ({twice} delivered twice, "
        f"{len(plan.refunds)} refunded, EUR at {EUR_RATE} {cur}, GBP without a rate), in {result.seconds:.1f} s."
    )
    if result.live:
        echo(f"The last day's clicks and orders went to the live server at {live_url} over HTTP.")
    else:
        where = f"No server serving this Redis answered at {live_url}" if live_url else "No live server was given"
        echo(
            f"{where}: every event went through the service's code in this process (the redirect's handler "
            "and Flask's test client); nothing was started."
        )
    for group in result.comparison["groups"]:
        per = group["cost_per_conversion"]
        share = group["first_24h_share"]
        echo(
            f"  {group['name']}: {group['promotions']} promotions, {group['conversions']:,} conversions, "
            f"{_money(per)} per conversion, "
            f"{'-' if share is None else f'{float(share):.0%}'} of them in the first 24 h"
        )
    echo(result.comparison["verdict"])
    echo(f"Influencer page of @{plan.promos[0].handle}: {result.portal_url}")
    echo(f"Dashboard: {base_url}/dashboard  API key: {result.api_key}")


def _money(amount: int | None) -> str:
    from tracker.portal.model import format_money

    return "-" if amount is None else format_money(amount, CURRENCY)

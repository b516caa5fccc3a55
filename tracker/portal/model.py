"""Portal tokens (shown once, stored as a SHA-256 hash) and the figures of an influencer's page.

A token lives in two places: a global key from its hash to {brand, influencer, id} (the page knows
only the token), and the influencer's hash of tokens under the brand's hash tag (listing, revoking).
They are in different slots, so no MULTI: the global key is written last and deleted first, so a
half-made or half-revoked token never opens a page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import redis

from tracker import keys, money
from tracker.keys import portal_token, portal_tokens
from tracker.links import channels
from tracker.links.model import totals as link_totals
from tracker.records import new_id, now_iso
from tracker.reports.model import load_promotions
from tracker.store import Store

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- tokens ---------------------------------------------------------------------------------
def create_token(r: redis.Redis, brand_id: str, influencer_id: str) -> tuple[dict[str, Any], str]:
    """A new token for an influencer's page; returns its record (no token) and the token itself."""
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    record = {"id": new_id(), "hint": "…" + token[-4:], "hash": digest, "created_at": now_iso()}
    r.hset(portal_tokens(brand_id, influencer_id), record["id"], json.dumps(record))
    ref = {"brand": brand_id, "influencer": influencer_id, "id": record["id"]}
    r.set(portal_token(digest), json.dumps(ref))
    return record, token


def list_tokens(r: redis.Redis, brand_id: str, influencer_id: str) -> list[dict[str, Any]]:
    """An influencer's live tokens, oldest first (hints only)."""
    records = [json.loads(v) for v in r.hvals(portal_tokens(brand_id, influencer_id))]
    return sorted(records, key=lambda t: (t["created_at"], t["id"]))


def revoke_token(r: redis.Redis, brand_id: str, influencer_id: str, token_id: str) -> bool:
    raw = r.hget(portal_tokens(brand_id, influencer_id), token_id)
    if raw is None:
        return False
    r.delete(portal_token(json.loads(raw)["hash"]))
    r.hdel(portal_tokens(brand_id, influencer_id), token_id)
    return True


def resolve(r: redis.Redis, token: str) -> dict[str, str] | None:
    """{brand, influencer, id} of a live token, or None (unknown, malformed or revoked)."""
    if not TOKEN_RE.fullmatch(token):
        return None
    digest = hash_token(token)
    raw = r.get(portal_token(digest))
    if raw is None:
        hmac.compare_digest(digest, hash_token(token + "!"))  # same work on a miss as on a hit
        return None
    ref = json.loads(raw)
    stored = r.hget(portal_tokens(ref["brand"], ref["influencer"]), ref["id"])
    if stored is None or not hmac.compare_digest(json.loads(stored)["hash"], digest):
        return None
    return ref


# -- the page's figures ---------------------------------------------------------------------
@dataclass
class PromotionLine:
    campaign: str
    posted_at: str | None
    style: str
    window_hours: int | None
    commission_percent: str
    clicks: int
    conversions: int
    revenue: int
    commission: int
    promotion_id: str = ""


@dataclass
class Page:
    brand: dict[str, Any]
    influencer: dict[str, Any]
    links: list[dict[str, Any]]  # id, code, short_url, campaign, channel, clicks, unique_clicks, state
    promotions: list[PromotionLine]
    clicks: int = 0
    unique_clicks: int = 0
    conversions: int = 0
    revenue: int = 0
    commission: int = 0
    unconverted: dict[str, int] = field(default_factory=dict)  # revenue in currencies without a rate
    rolled_up_at: str | None = None
    links_made: int = 0  # links the influencer made from this page, and how many the brand allows
    links_cap: int = 0


def commission(rate: Decimal, revenue: int) -> int:
    """Commission on net attributed revenue, in minor units, rounded half-even (as reports do)."""
    return int((rate * revenue).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def influencer_links(r: redis.Redis, brand_id: str, promotion_ids: set[str]) -> list[dict[str, Any]]:
    """The links of these promotions, in creation order."""
    store = Store(r, brand_id)
    ids = [i.decode() for i in r.zrange(keys.entity_order(brand_id, "link"), 0, -1)]
    return [link for link in store.get_many("link", ids) if link["promotion_id"] in promotion_ids]


def page(r: redis.Redis, ref: dict[str, str], base_url: str) -> Page | None:
    """Everything the influencer's page shows: only their own promotions, links and earnings."""
    from tracker.brands.model import get_brand

    brand = get_brand(r, ref["brand"])
    store = Store(r, ref["brand"])
    influencer = store.get("influencer", ref["influencer"]) if brand else None
    if brand is None or influencer is None:
        return None
    promos = load_promotions(r, brand, influencer_id=influencer["id"])
    campaigns = {c["id"]: c for c in store.get_many("campaign", sorted({p.record["campaign_id"] for p in promos}))}
    by_promotion = {p.record["id"]: p for p in promos}
    out = Page(brand=brand, influencer=influencer, links=[], promotions=[])
    for p in promos:
        t, earned = p.totals, commission(p.cost_rate, p.totals.revenue)
        out.promotions.append(
            PromotionLine(
                campaign=campaigns.get(p.record["campaign_id"], {}).get("name", "?"),
                posted_at=p.record.get("posted_at"),
                style=p.record["style"],
                window_hours=p.record.get("window_hours"),
                commission_percent=p.record["cost"].get("commission_percent") or "0",
                clicks=t.clicks,
                conversions=t.conversions,
                revenue=t.revenue,
                commission=earned,
                promotion_id=p.record["id"],
            )
        )
        out.clicks += t.clicks
        out.unique_clicks += t.unique_clicks
        out.conversions += t.conversions
        out.revenue += t.revenue
        out.commission += earned
        for cur, amount in t.unconverted.items():
            if not cur.startswith("spend:"):  # the brand's own costs in another currency: not shown
                out.unconverted[cur] = out.unconverted.get(cur, 0) + amount
    links = influencer_links(r, brand["id"], set(by_promotion))
    stats = link_totals(r, brand, [link["id"] for link in links])
    base, now_ms = base_url.rstrip("/"), int(time.time() * 1000)
    for link, s in zip(links, stats, strict=True):
        promo = by_promotion[link["promotion_id"]].record
        expired = 0 < (link.get("expires_at_ms") or 0) <= now_ms
        out.links.append(
            {
                "id": link["id"],
                "code": link["code"],
                "short_url": f"{base}/{link['code']}",
                "campaign": campaigns.get(promo["campaign_id"], {}).get("name", "?"),
                "channel": channels.label(link["channel"]) if link.get("channel") else None,
                "made_by_you": link.get("created_by") == "influencer",
                "clicks": s["clicks"],
                "unique_clicks": s["unique_clicks"],
                "active": not link["disabled"] and not expired,
                "state": "disabled" if link["disabled"] else "expired" if expired else "active",
            }
        )
    at = r.hget(keys.rollup_state(brand["id"]), "rolled_up_at")
    out.rolled_up_at = at.decode() if at else None
    out.links_made, out.links_cap = channels.made(r, brand["id"], influencer["id"]), channels.cap(brand)
    return out


def find_link(r: redis.Redis, ref: dict[str, str], link_id: str) -> dict[str, Any] | None:
    """One of the influencer's links, or None (unknown, or another influencer's)."""
    store = Store(r, ref["brand"])
    link = store.get("link", link_id)
    if link is None:
        return None
    promotion = store.get("promotion", link["promotion_id"])
    if promotion is None or promotion["influencer_id"] != ref["influencer"]:
        return None
    return link


def format_money(amount: int, currency: str) -> str:
    """Minor units as text with the currency's own exponent: 123456 USD -> '1,234.56 USD'."""
    exp = money.exponent(currency)
    return f"{Decimal(amount).scaleb(-exp):,.{exp}f} {currency}"

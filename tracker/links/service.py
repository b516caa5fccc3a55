"""Links: create, change, list and show tracked links (the API, the dashboard and the influencer's
page all call these).

A link's code is global (one key per code, claimed first, atomically); its record is the brand's.
The tracked URL is fixed when the link is created or patched.
"""

from __future__ import annotations

from typing import Any

import shortuuid

from tracker import keys
from tracker.campaigns.service import KIND as CAMPAIGN
from tracker.errors import Conflict, Invalid, Unavailable
from tracker.influencers.service import KIND as INFLUENCER
from tracker.links import channels
from tracker.links.model import KIND, redirect_record, totals, tracked_url
from tracker.promotions.service import KIND as PROMOTION
from tracker.records import iso, new_id, now_iso, parse_iso
from tracker.scope import Scope
from tracker.store import Taken

FILTERS = ("promotion_id", "channel", "created_by")
_codes = shortuuid.ShortUUID()


def load(scope: Scope, link_id: str) -> dict[str, Any]:
    """The stored record (NotFound if it is not this brand's)."""
    return scope.store.load(KIND, link_id)


def present(scope: Scope, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Links as shown: with their short URL and all-time counters."""
    stats = totals(scope.r, scope.brand, [link["id"] for link in links])
    base = scope.base_url
    return [{**link, "short_url": f"{base}/{link['code']}", "stats": s} for link, s in zip(links, stats, strict=True)]


def _with_urls(scope: Scope, link: dict[str, Any]) -> dict[str, Any]:
    """The link with its tracked URL (from its promotion's campaign and influencer) and expiry fixed."""
    s = scope.store
    promotion = s.get(PROMOTION, link["promotion_id"])
    campaign = s.get(CAMPAIGN, promotion["campaign_id"])
    influencer = s.get(INFLUENCER, promotion["influencer_id"])
    destination = link.get("destination_url") or campaign["destination_url"]
    link["tracked_url"] = tracked_url(destination, influencer["handle"], campaign["slug"], scope.brand["click_param"])
    expires = parse_iso(iso(link.get("expires_at")))
    link["expires_at"] = iso(expires)
    link["expires_at_ms"] = int(expires.timestamp() * 1000) if expires else None
    return link


def get(scope: Scope, link_id: str) -> dict[str, Any]:
    return present(scope, [load(scope, link_id)])[0]


def _matches(link: dict[str, Any], filters: dict[str, Any]) -> bool:
    return all(
        filters.get(name) is None or (link.get(name) or default) == filters[name]
        for name, default in (("promotion_id", None), ("channel", None), ("created_by", "brand"))
    )


def get_page(
    scope: Scope, page: int, page_size: int, filters: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """One page of the brand's links in creation order (only those matching `filters`: promotion_id,
    channel, created_by, where not None), shown, and how many match."""
    filters = {k: v for k, v in (filters or {}).items() if k in FILTERS and v is not None}
    if not filters:
        items, total = scope.store.page(KIND, page, page_size)
        return present(scope, items), total
    ids = [i.decode() for i in scope.r.zrange(keys.entity_order(scope.brand_id, KIND), 0, -1)]
    found = [link for link in scope.store.get_many(KIND, ids) if _matches(link, filters)]
    start = (page - 1) * page_size
    return present(scope, found[start : start + page_size]), len(found)


def create(scope: Scope, data: dict[str, Any], created_by: str = "brand") -> dict[str, Any]:
    """A new tracked link of one of the brand's promotions (Invalid on `promotion_id` otherwise), with
    its own code (Conflict if taken) or a generated one. An influencer has at most one link per
    channel in a promotion (Conflict on `channel`)."""
    if scope.store.get(PROMOTION, data["promotion_id"]) is None:
        raise Invalid("promotion_id", f"No promotion {data['promotion_id']} in this brand.")
    now = now_iso()
    link = _with_urls(scope, {**data, "created_by": created_by, "id": new_id(), "created_at": now, "updated_at": now})
    custom = "code" in data
    for _ in range(10):
        if not custom:
            link["code"] = _codes.random(length=8)
        # Claim the code first (it is global); the brand's record follows.
        if scope.r.set(keys.link_code(link["code"]), redirect_record(link, scope.brand), nx=True):
            break
        if custom:
            raise Conflict("code", f"The code {link['code']!r} is taken.")
    else:
        raise Unavailable("Could not find a free code; try again.")
    one_per_channel = {"influencer_channel": [f"{link['promotion_id']}:{link.get('channel')}"]}
    try:
        scope.store.save(KIND, link, one_per_channel if created_by == "influencer" else None)
    except Taken:
        scope.r.delete(keys.link_code(link["code"]))
        where = channels.label(link["channel"])
        raise Conflict("channel", f"You already have a link for {where} in this promotion.") from None
    except Exception:
        scope.r.delete(keys.link_code(link["code"]))
        raise
    finally:
        scope.lookups.forget("link", link["code"])  # a miss of the code may be cached here
    return present(scope, [link])[0]


def update(scope: Scope, link_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a link (disable it, let it expire, another destination): its tracked URL and redirect
    record are rewritten, and this process's cached resolution dropped."""
    link = _with_urls(scope, {**load(scope, link_id), **changes, "updated_at": now_iso()})
    scope.store.save(KIND, link)
    scope.r.set(keys.link_code(link["code"]), redirect_record(link, scope.brand))
    scope.lookups.forget("link", link["code"].lower())
    return present(scope, [link])[0]


def create_for_influencer(scope: Scope, promotion: dict[str, Any], channel: str) -> dict[str, Any]:
    """A link the influencer makes from their page, for a channel, in one of their promotions
    (`promotions.service.of_influencer`), within the brand's cap (Conflict, no field, once reached)."""
    influencer_id = promotion["influencer_id"]
    if not channels.claim(scope.r, scope.brand, influencer_id):
        raise Conflict(None, channels.cap_reached(scope.brand))
    data = {"promotion_id": promotion["id"], "channel": channel, "destination_url": None, "disabled": False,
            "expires_at": None}  # fmt: skip
    try:
        return create(scope, data, created_by="influencer")
    except Exception:
        channels.release(scope.r, scope.brand, influencer_id)
        raise

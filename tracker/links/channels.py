"""Channels: where a link is posted (an Instagram bio, a TikTok video...), links influencers make
from their page within the brand's cap, and a promotion's figures split by channel.

A channel is a short label, normalised so that "Instagram bio" and "instagram-bio" are one channel.
Per-link totals are rolled up exactly once next to the link's click counters (`keys.link_totals`):
clicks by the click roll-up, conversions, revenue and refunds by the conversion roll-up.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import redis
from marshmallow import ValidationError

from tracker import keys

# The channels an influencer's page suggests (value, label); any other label may be typed.
SUGGESTED = (
    ("instagram-bio", "Instagram bio"),
    ("instagram-story", "Instagram story"),
    ("instagram-post", "Instagram post"),
    ("tiktok-bio", "TikTok bio"),
    ("tiktok-video", "TikTok video"),
    ("youtube-description", "YouTube description"),
    ("youtube-shorts", "YouTube Shorts"),
    ("x", "X (Twitter)"),
    ("facebook", "Facebook"),
    ("pinterest", "Pinterest"),
    ("newsletter", "Newsletter"),
    ("blog", "Blog"),
    ("podcast", "Podcast"),
    ("twitch", "Twitch"),
)
LABELS = dict(SUGGESTED)
CHANNEL_RE = re.compile(r"[^\W_][\w.-]{0,39}")  # after normalising: letters (any script), digits, . - _
DEFAULT_CAP = 10  # links an influencer may make, unless the brand sets `max_self_links`


def normalise(label: str) -> str:
    """'  Instagram  Bio ' -> 'instagram-bio'; raises ValidationError for what is not a label."""
    value = re.sub(r"\s+", "-", label.strip()).casefold()
    if not CHANNEL_RE.fullmatch(value):
        raise ValidationError("Must be 1-40 letters, digits, spaces, '.', '-' or '_', starting with a letter or digit.")
    return value


def label(channel: str | None) -> str:
    return LABELS.get(channel or "", channel or "no channel")


def cap(brand: dict[str, Any]) -> int:
    return int(brand.get("max_self_links", DEFAULT_CAP))


def cap_reached(brand: dict[str, Any]) -> str:
    """What the influencer's page says when they may make no more links."""
    limit, name = cap(brand), brand["name"]
    if not limit:
        return f"{name} does not let you make links."
    return f"You have made {limit} links, the most {name} allows. Reuse one of your links, or ask {name} to allow more."


def claim(r: redis.Redis, brand: dict[str, Any], influencer_id: str) -> bool:
    """Take one of the influencer's self-made link slots; False when the brand's cap is reached.
    Atomic (INCR), so concurrent forms never pass the cap; `release` gives a slot back."""
    key = keys.self_links(brand["id"], influencer_id)
    if r.incr(key) <= cap(brand):
        return True
    r.decr(key)
    return False


def release(r: redis.Redis, brand: dict[str, Any], influencer_id: str) -> None:
    r.decr(keys.self_links(brand["id"], influencer_id))


def made(r: redis.Redis, brand_id: str, influencer_id: str) -> int:
    return int(r.get(keys.self_links(brand_id, influencer_id)) or 0)


def split(
    r: redis.Redis, brand: dict[str, Any], links: list[dict[str, Any]], convert: Callable[[int, str], int | None]
) -> list[dict[str, Any]]:
    """Links' all-time totals (over the brand's click shards) summed by channel: clicks, unique
    clicks, conversions, revenue and refunds in the reporting currency (`convert`; None where no
    rate), revenue without a rate apart in `unconverted_revenue`."""
    from tracker.links.model import totals_rows

    rows = totals_rows(r, brand, [link["id"] for link in links])
    groups: dict[str | None, dict[str, Any]] = {}
    for link, row in zip(links, rows, strict=True):
        channel = link.get("channel")
        g = groups.setdefault(channel, {"links": 0, "clicks": 0, "unique_clicks": 0, "bot_hits": 0, "conversions": 0,
                                        "revenue": 0, "refunds": 0, "unconverted": defaultdict(int)})  # fmt: skip
        g["links"] += 1
        for field, value in row.items():
            name, value = field.decode(), int(value)
            if name in ("clicks", "unique_clicks", "bot_hits", "conversions"):
                g[name] += value
            elif name.startswith(("revenue:", "refunds:")):
                kind, currency = name.split(":", 1)
                converted = convert(value, currency)
                if converted is not None:
                    g[kind] += converted
                elif kind == "revenue":
                    g["unconverted"][currency] += value
    return [
        {"channel": channel, "name": label(channel), **{k: v for k, v in g.items() if k != "unconverted"},
         "unconverted_revenue": {c: v for c, v in g["unconverted"].items() if v}}
        for channel, g in groups.items()
    ]  # fmt: skip

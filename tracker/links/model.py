"""Links: how a tracked URL is built, and what the redirect reads to resolve a code (the actions on
links are in `tracker.links.service`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import redis

from tracker import db, keys
from tracker.brands.model import click_shards, click_shards_ever
from tracker.resolve import ALIAS_RE, RESERVED  # noqa: F401  (what codes links may have: tracker/resolve.py)
from tracker.store import Store

KIND = "link"
_SAFE = ":/?#[]@!$&'()*+,;=%~"


def normalise_url(url: str) -> str:
    """Percent-encode what is not ASCII (and IDNA-encode the host) so it fits a Location header."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        netloc = parts.netloc.replace(host, host.encode("idna").decode())
        parts = parts._replace(netloc=netloc)
    return quote(urlunsplit(parts), safe=_SAFE)


def tracked_url(destination: str, handle: str, campaign_slug: str, click_param: str) -> str:
    """The destination with UTM tags added where it has none, and no stale click-id parameter."""
    parts = urlsplit(normalise_url(destination))
    pieces = [p for p in parts.query.split("&") if p and unquote_plus(p.split("=", 1)[0]) != click_param]
    present = {unquote_plus(p.split("=", 1)[0]) for p in pieces}
    utm = (("utm_source", handle), ("utm_medium", "influencer"), ("utm_campaign", campaign_slug))
    pieces += [f"{name}={quote(value, safe='')}" for name, value in utm if name not in present]
    return urlunsplit(parts._replace(query="&".join(pieces)))


def redirect_record(link: dict[str, Any], brand: dict[str, Any]) -> str:
    """The compact JSON the redirect reads: brand, link, promotion, URL pieces, state, and the
    brand's click shards when more than one."""
    url = link["tracked_url"]
    base, hash_, fragment = url.partition("#")
    return json.dumps(
        {
            "b": brand["id"],
            "l": link["id"],
            "p": link["promotion_id"],
            "u": base,
            "s": "&" if urlsplit(base).query else "?",
            "f": hash_ + fragment,
            "q": brand["click_param"],
            "d": 1 if link["disabled"] else 0,
            "x": link["expires_at_ms"] or 0,
            **({"n": click_shards(brand)} if click_shards(brand) > 1 else {}),  # the brand's click shards
        },
        separators=(",", ":"),
    )


def refresh_redirects(r: redis.Redis, brand: dict[str, Any]) -> int:
    """Rewrite every link's redirect record of a brand (after its click parameter or click shards changed)."""
    store = Store(r, brand["id"])
    count, page = 0, 1
    while True:
        links, _ = store.page(KIND, page, 500)
        if not links:
            return count
        with r.pipeline(transaction=False) as p:
            for link in links:
                p.set(keys.link_code(link["code"]), redirect_record(link, brand))
            p.execute()
        count += len(links)
        page += 1


def totals(r: redis.Redis, brand: dict[str, Any], link_ids: list[str]) -> list[dict[str, int]]:
    """All-time counters of links, as rolled up by the workers, bot hits also by family."""
    names = ("clicks", "unique_clicks", "bot_hits")
    return [
        {
            **{n: int(row.get(n.encode(), 0)) for n in names},
            "bots_by_family": {k[4:].decode(): int(v) for k, v in sorted(row.items()) if k.startswith(b"bot:")},
        }
        for row in totals_rows(r, brand, link_ids)
    ]


def totals_rows(r: redis.Redis, brand: dict[str, Any], link_ids: list[str]) -> list[dict[bytes, int]]:
    """Each link's totals hash summed over the brand's click shards (one pipeline per shard, on its
    node): clicks by the click roll-up, conversions and money by the conversion roll-up (shard 0)."""
    sums: list[dict[bytes, int]] = [{} for _ in link_ids]
    for shard in range(click_shards_ever(brand)):
        with db.pipeline(r, keys.clicks_stream(brand["id"], shard)) as p:
            for link_id in link_ids:
                p.hgetall(keys.link_totals(brand["id"], link_id, shard))
            rows = p.execute()
        for total, row in zip(sums, rows, strict=True):
            for k, v in row.items():
                total[k] = total.get(k, 0) + int(v)
    return sums

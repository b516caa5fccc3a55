"""All settings, read from the environment in one place; tests pass a dict instead."""

from __future__ import annotations

import os
from typing import Any

# name -> (parser, default)
_SETTINGS: dict[str, tuple[Any, Any]] = {
    # Data Redis (brands, links, click streams). Unset: `tracker run` starts an embedded one.
    "REDIS_URL": (str, None),
    # The RQ queue's Redis. RQ cannot run on Redis Cluster, so it may live apart from the data.
    "QUEUE_REDIS_URL": (str, None),
    # Signs click ids. Unset: a random key is created once and kept in Redis.
    "SECRET_KEY": (str, None),
    # Older keys still accepted when verifying click ids (comma separated), for rotation.
    "OLD_SECRET_KEYS": (lambda v: [k for k in v.split(",") if k], []),
    # Public base of short links, e.g. https://go.example.com
    "BASE_URL": (str, "http://127.0.0.1:8000"),
    # Default query parameter that carries the click id to the shop (a brand may override it).
    "CLICK_PARAM": (str, "tid"),
    # Seconds a link's resolution is cached in each web process: a change made through another
    # process is seen within this (through this one, at once).
    "LINK_CACHE_SECONDS": (float, 5.0),
    # While Redis is unreachable, a cached link keeps redirecting for this long.
    "LINK_STALE_SECONDS": (float, 600.0),
    # Memory each web process may give its link cache (tracker/resolve.py); the oldest entries go first.
    "LINK_CACHE_BYTES": (int, 32 * 1024 * 1024),
    # Clicks that could not reach Redis are appended here and replayed when it is back; orders and
    # refunds are journaled here (fsync'd) before their 2xx. A persistent volume per web host.
    "SPOOL_DIR": (str, "var/spool"),
    # Journaled orders are kept this long, then deleted: it must exceed Redis's fsync lag (1-2 s with
    # `appendfsync everysec`). Replayed at start-up and by `tracker replay-orders`.
    "JOURNAL_KEEP_SECONDS": (float, 30.0),
    # Header set by the CDN with the visitor's country (e.g. CF-IPCountry); empty: none.
    "COUNTRY_HEADER": (str, ""),
    # How many reverse proxies in front of us append to X-Forwarded-For: the client's address is
    # taken that many hops back, never further; the scheme from the nearest one's X-Forwarded-Proto
    # (0: the socket's own address and scheme, forwarded headers ignored).
    "PROXY_COUNT": (int, 0),
    # Wrong API keys (API or dashboard sign-in) one client address may send per minute; then 429
    # for every key from it until the minute is over. 0: no limit.
    "AUTH_FAILURES_PER_MINUTE": (int, 30),
    # Roll-up schedule and raw event retention.
    "ROLLUP_INTERVAL_SECONDS": (int, 60),
    # Stream entries a roll-up reads and applies per batch (one Lua script run each).
    "ROLLUP_BATCH_SIZE": (lambda v: max(1, int(v)), 500),
    "EVENT_RETENTION_DAYS": (int, 90),
    # Counted clicks' raw events go here (compressed JSON lines per brand/shard/day, fsync'd) and leave
    # Redis; see workers/archive.py. A persistent volume, shared by the hosts that run workers.
    "ARCHIVE_DIR": (str, "var/archive"),
    # A click id counted is remembered this long (a 63-bit digest per click), so the same click
    # arriving again (a spool replay of an XADD that had succeeded) is not counted twice.
    "CLICK_DEDUPE_DAYS": (int, 7),
    # Distinct values each breakdown dimension (referrer host, country, ...) keeps per link and day;
    # the clicks of values past it are counted as "other" (totals stay exact). See README: Breakdowns.
    "BREAKDOWN_VALUES_PER_DAY": (lambda v: max(1, int(v)), 100),
    # A consumer's pending stream entries are taken over by another worker after this idle time.
    "CLAIM_IDLE_SECONDS": (int, 60),
    # Items per page of a list when the request does not say (`page_size`, 1-500).
    "API_PAGE_SIZE": (lambda v: min(500, max(1, int(v))), 50),
    # `GET /metrics` (Prometheus) answers only with `Authorization: Bearer <this>`; empty: off (404).
    "METRICS_TOKEN": (str, ""),
    # A dashboard sign-in lasts this long (then the key is asked again); signing out ends it at once.
    "DASHBOARD_SESSION_HOURS": (float, 12.0),
}


def from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings from the environment, with their defaults."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, (parse, default) in _SETTINGS.items():
        raw = environ.get(name)
        out[name] = parse(raw) if raw not in (None, "") else default
    return out


def defaults() -> dict[str, Any]:
    return {name: default for name, (_, default) in _SETTINGS.items()}

"""Link resolution, the one home of its rules: what a short code stands for, to the redirect
(`tracker.redirect`) and to attribution (`tracker.lookups.Lookups.link`) alike, from one
`LinkResolver` per process (made by `create_app`, `app.extensions["links"]`). A flat module rather
than a part of `tracker.links`: the hot paths import it without the links API.

- What codes links may have (`ALIAS_RE`, not `RESERVED`) is decided here too. Codes are
  case-insensitive (`SpringSale` is `springsale`); a code no link can have is None without a
  lookup and is never cached.
- A resolution, a miss included, is fresh for `LINK_CACHE_SECONDS` (a flood of unknown codes costs
  one GET per code per TTL), within `LINK_CACHE_BYTES`: the oldest entries go first.
- A change made through this process (a link created or its code's claim undone, a link updated
  or disabled: `tracker.links.service`; a brand's click parameter or click shards:
  `tracker.brands.service`) calls `Lookups.forget` once it is written, and the next resolution
  here reads Redis: seen at once, a link created after a miss of its code included. A resolution
  read while a `forget` ran is not kept. Other processes see the change within
  `LINK_CACHE_SECONDS`.
- While Redis is unreachable, an entry answers for `LINK_STALE_SECONDS` past its freshness (the
  redirect keeps working for links it knew); with none, the RedisError goes to the caller (the
  redirect's 503).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis

from tracker import keys

# First path segments the redirect leaves to the Flask app; no alias may take them.
RESERVED = frozenset(
    {
        "api",
        "dashboard",
        "webhooks",
        "postback",
        "healthz",
        "readyz",
        "static",
        "metrics",
        "favicon.ico",
        "robots.txt",
        "i",
        "qr",
        "login",
        "logout",
        "admin",
    }
)
ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
# What an entry costs beyond its code and 3x its JSON record (measured: ~870 bytes for a link
# with a 200-byte record, ~260 for a miss under a 64-character code).
ENTRY_BYTES = 256


class NotCached(Exception):
    """A cache-only lookup had nothing fresh in the cache (the caller asks Redis another way)."""


class LinkResolver:
    def __init__(
        self, r: redis.Redis, ttl: float, stale: float, budget: int, clock: Callable[[], float] = time.monotonic
    ):
        self.r = r
        self.ttl, self.stale, self.budget = ttl, stale, budget
        self.clock = clock  # freshness is the cache's own time, not the click's (the demo passes past times)
        # code -> (fresh until, link or None, bytes it costs); oldest first, dropped past the budget
        self.cache: OrderedDict[str, tuple[float, dict[str, Any] | None, int]] = OrderedDict()
        self.cache_bytes = 0
        self.forgotten = 0  # bumped by every `forget`: a resolution read before one is not kept
        self.lock = threading.Lock()  # writers only (the redirect's loop, the order threads, the API)

    @classmethod
    def from_config(cls, r: redis.Redis, config: dict[str, Any]) -> LinkResolver:
        ttl, stale = float(config["LINK_CACHE_SECONDS"]), float(config["LINK_STALE_SECONDS"])
        return cls(r, ttl, stale, int(config["LINK_CACHE_BYTES"]))

    def get(self, code: str, cache_only: bool = False) -> dict[str, Any] | None:
        """A code's redirect record (`tracker.links.model.redirect_record`), or None: no such link.
        `cache_only`: raise NotCached rather than ask Redis (an event loop must not block on it)."""
        if not ALIAS_RE.fullmatch(code):
            return None
        code = code.lower()
        hit = self.cache.get(code)
        now = self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        if cache_only:
            raise NotCached(code)
        forgotten = self.forgotten
        try:
            raw = self.r.get(keys.link_code(code))
        except redis.RedisError:
            if hit is not None and hit[0] + self.stale > now:
                return hit[1]  # Redis is down: keep answering for a link known lately
            raise
        link = json.loads(raw) if raw else None
        self.remember(code, now + self.ttl, link, ENTRY_BYTES + len(code) + 3 * len(raw or b""), forgotten)
        return link

    def remember(self, code: str, fresh_until: float, link: dict[str, Any] | None, size: int, forgotten: int) -> None:
        """Cache a resolution (as the newest) unless a change was forgotten since it was read, then
        drop the oldest ones past the byte budget."""
        with self.lock:
            if forgotten != self.forgotten:
                return
            self._drop(code)
            self.cache[code] = (fresh_until, link, size)
            self.cache_bytes += size
            while self.cache_bytes > self.budget:
                self.cache_bytes -= self.cache.popitem(last=False)[1][2]

    def forget(self, code: str) -> None:
        """A link's record changed (or appeared, or went): its next resolution reads Redis."""
        with self.lock:
            self.forgotten += 1
            self._drop(code.lower())

    def forget_brand(self, brand_id: str) -> None:
        """A brand's links' records were rewritten (click parameter, click shards): drop them all."""
        with self.lock:
            self.forgotten += 1
            for code, (_, link, _) in list(self.cache.items()):
                if link is not None and link["b"] == brand_id:
                    self._drop(code)

    def _drop(self, code: str) -> None:
        old = self.cache.pop(code, None)
        if old is not None:
            self.cache_bytes -= old[2]

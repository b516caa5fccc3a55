"""Per-process caches of what every webhook looks up: brands, webhook secrets, links, promotions,
discount codes. Links resolve through the process's one `LinkResolver` (tracker/resolve.py,
shared with the redirect, with its own rules: misses cached, a byte budget, stale while Redis is
down). The rest: only found records are cached, for a few seconds (LINK_CACHE_SECONDS). A change
made through this process drops its entry at once (`forget`); other processes see it within the TTL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tracker import db, keys
from tracker.resolve import LinkResolver, NotCached

__all__ = ["CacheOnly", "Lookups", "NotCached"]


class Lookups:
    def __init__(self, rdb: db.Redis, ttl: float, links: LinkResolver):
        self.db = rdb  # its hot connections run the webhook's scripts
        self.r = rdb.data
        self.ttl = ttl
        self.links = links
        self._cache: dict[tuple, tuple[float, Any]] = {}

    def _get(self, key: tuple, load: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if value:  # misses are not cached: a record created a moment ago must be found
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = (now + self.ttl, value)
        return value

    def forget(self, *key: Any) -> None:
        """Drop a cached record after a change: ("link", code), ("brand", id) (its links' records
        too), ("secrets", brand, source), ("entity", brand, kind, id), ("discount", brand, code)."""
        if key[0] == "link":
            return self.links.forget(key[1])
        if key[0] == "brand":
            self.links.forget_brand(key[1])
        self._cache.pop(key, None)

    def brand(self, brand_id: str) -> dict[str, Any] | None:
        def load() -> dict[str, Any] | None:
            raw = self.r.get(keys.brand(brand_id))
            return json.loads(raw) if raw else None

        return self._get(("brand", brand_id), load)

    def secrets(self, brand_id: str, source: str) -> list[str]:
        from tracker.integrations.model import secret_values

        return self._get(("secrets", brand_id, source), lambda: secret_values(self.r, brand_id, source))

    def link(self, code: str) -> dict[str, Any] | None:
        return self.links.get(code)

    def entity(self, brand_id: str, kind: str, entity_id: str) -> dict[str, Any] | None:
        def load() -> dict[str, Any] | None:
            raw = self.r.hget(keys.entities(brand_id, kind), entity_id)
            return json.loads(raw) if raw else None

        return self._get(("entity", brand_id, kind, entity_id), load)

    def discount_owner(self, brand_id: str, code: str) -> str | None:
        def load() -> str | None:
            raw = self.r.hget(keys.unique_index(brand_id, "discount_code"), code.upper())
            return raw.decode() if raw else None

        return self._get(("discount", brand_id, code.upper()), load)


class CacheOnly(Lookups):
    """`look`'s lookups answered from its cache alone (the same cache): a miss raises NotCached
    instead of asking Redis, so an event loop never blocks on one (the ASGI webhook path)."""

    def __init__(self, look: Lookups):
        self.db, self.r, self.ttl, self._cache, self.links = look.db, look.r, look.ttl, look._cache, look.links

    def _get(self, key: tuple, load: Callable[[], Any]) -> Any:
        hit = self._cache.get(key)
        if hit is None or hit[0] <= time.monotonic():
            raise NotCached(key)
        return hit[1]

    def link(self, code: str) -> dict[str, Any] | None:
        return self.links.get(code, cache_only=True)

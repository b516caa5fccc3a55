"""Brands, the tenants: settings and API keys."""

from __future__ import annotations

import json
from typing import Any

import redis
import shortuuid

from tracker import auth, keys, migrations
from tracker.records import now_iso
from tracker.tiers import DEFAULT_THRESHOLDS


def get_brand(r: redis.Redis, brand_id: str) -> dict[str, Any] | None:
    raw = r.get(keys.brand(brand_id))
    return json.loads(raw) if raw else None


MAX_CLICK_SHARDS = 64


def click_shards(brand: dict[str, Any]) -> int:
    """How many click shards the redirect spreads the brand's new clicks over (`click_shards`)."""
    return int(brand.get("click_shards", 1))


def click_shards_ever(brand: dict[str, Any]) -> int:
    """The most click shards the brand ever had: shards 0 to this - 1 may hold clicks, so workers
    fold them all and reports sum them all (a shard given up keeps its roll-ups)."""
    return max(int(brand.get("click_shards_max", 1)), click_shards(brand))


def save_brand(r: redis.Redis, brand: dict[str, Any]) -> None:
    r.set(keys.brand(brand["id"]), json.dumps(brand))


def create_brand(
    r: redis.Redis,
    name: str,
    currency: str = "USD",
    attribution_window_days: int = 30,
    click_param: str = "tid",
) -> tuple[dict[str, Any], str]:
    """Create a brand; returns it and its API key (the only time the key is seen)."""
    brand = {
        "id": shortuuid.ShortUUID().random(length=10),
        "name": name,
        "currency": currency,
        "attribution_window_days": attribution_window_days,
        "tier_thresholds": dict(DEFAULT_THRESHOLDS),
        "click_param": click_param,
        "attribution_priority": ["click_id", "discount_code", "landing_url"],
        "created_at": now_iso(),
    }
    api_key = auth.new_api_key()
    # All or nothing, on a cluster too, where the brand's keys (one slot: one MULTI), the brands set
    # and the key record are three slots: each written once the one before is, the API key last (a
    # key never opens a brand that is not there); a failure takes back what was written, then raises.
    try:
        with r.pipeline(transaction=True) as p:
            p.set(keys.brand(brand["id"]), json.dumps(brand))
            p.hset(keys.schema(brand["id"]), mapping=migrations.current())  # born in today's layout
            p.execute()
        r.sadd(keys.brands(), brand["id"])
        auth.store_key(r, api_key, brand["id"])
    except redis.RedisError:
        for undo in (lambda: r.delete(keys.brand(brand["id"]), keys.schema(brand["id"])),
                     lambda: r.srem(keys.brands(), brand["id"])):  # fmt: skip
            try:
                undo()
            except redis.RedisError:
                pass  # unreachable: what is left has no key that opens it
        raise
    return brand, api_key


def add_api_key(r: redis.Redis, brand_id: str) -> str:
    api_key = auth.new_api_key()
    with r.pipeline(transaction=False) as p:
        auth.store_key(p, api_key, brand_id)
        p.execute()
    return api_key


def revoke_api_key(r: redis.Redis, api_key: str) -> bool:
    return bool(r.delete(keys.api_key(auth.hash_key(api_key))))


def list_brands(r: redis.Redis) -> list[dict[str, Any]]:
    ids = sorted(i.decode() for i in r.smembers(keys.brands()))
    return [b for b in (get_brand(r, i) for i in ids) if b]

"""Webhook sources of a brand, their options and their secrets (several at once, for rotation), as stored."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

from tracker import keys

SOURCES = ("generic", "shopify", "woocommerce", "stripe", "postback")
MAX_SECRETS = 5
SHOPIFY_ORDER_TOPICS = ("orders/paid", "orders/create")


def load(r: redis.Redis, brand_id: str, source: str) -> dict[str, Any]:
    raw = r.hget(keys.integrations(brand_id), source)
    data = json.loads(raw) if raw else {"secrets": []}
    if source == "shopify":
        data.setdefault("order_topics", ["orders/paid"])
    return data


def load_all(r: redis.Redis, brand_id: str) -> dict[str, dict[str, Any]]:
    return {source: load(r, brand_id, source) for source in SOURCES}


def save(r: redis.Redis, brand_id: str, source: str, data: dict[str, Any]) -> None:
    r.hset(keys.integrations(brand_id), source, json.dumps(data))


def secret_values(r: redis.Redis, brand_id: str, source: str) -> list[str]:
    return [s["secret"] for s in load(r, brand_id, source)["secrets"]]


def brand_for_postback_token(r: redis.Redis, value: str) -> str | None:
    brand_id = r.get(keys.postback_token(hashlib.sha256(value.encode()).hexdigest()))
    return brand_id.decode() if brand_id else None

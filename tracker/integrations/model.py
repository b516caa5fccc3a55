"""Webhook sources of a brand and their secrets (several at once, for rotation)."""

from __future__ import annotations

import hashlib
import json
import secrets as token
from typing import Any

import redis

from tracker import api, keys

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


def add_secret(r: redis.Redis, brand_id: str, source: str, value: str | None) -> dict[str, Any]:
    data = load(r, brand_id, source)
    if len(data["secrets"]) >= MAX_SECRETS:
        raise ValueError(f"At most {MAX_SECRETS} secrets per source; delete an old one first.")
    if value is None:
        value = ("pb_" if source == "postback" else "il_whsec_") + token.token_urlsafe(32)
    entry = {"id": api.new_id(), "secret": value, "created_at": api.now_iso()}
    data["secrets"].append(entry)
    with r.pipeline(transaction=False) as p:  # two slots
        p.hset(keys.integrations(brand_id), source, json.dumps(data))
        if source == "postback":
            p.set(keys.postback_token(hashlib.sha256(value.encode()).hexdigest()), brand_id)
        p.execute()
    return entry


def remove_secret(r: redis.Redis, brand_id: str, source: str, secret_id: str) -> bool:
    data = load(r, brand_id, source)
    keep = [s for s in data["secrets"] if s["id"] != secret_id]
    if len(keep) == len(data["secrets"]):
        return False
    gone = next(s for s in data["secrets"] if s["id"] == secret_id)
    data["secrets"] = keep
    with r.pipeline(transaction=False) as p:
        p.hset(keys.integrations(brand_id), source, json.dumps(data))
        if source == "postback":
            p.delete(keys.postback_token(hashlib.sha256(gone["secret"].encode()).hexdigest()))
        p.execute()
    return True


def brand_for_postback_token(r: redis.Redis, value: str) -> str | None:
    brand_id = r.get(keys.postback_token(hashlib.sha256(value.encode()).hexdigest()))
    return brand_id.decode() if brand_id else None

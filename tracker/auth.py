"""API keys: shown once, stored only as a SHA-256 hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis
from flask import current_app, g, request

from tracker import keys
from tracker.errors import abort

KEY_PREFIX = "il_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def store_key(pipe: redis.client.Pipeline, api_key: str, brand_id: str) -> None:
    pipe.set(keys.api_key(hash_key(api_key)), brand_id)


def brand_for_key(r: redis.Redis, api_key: str) -> str | None:
    digest = hash_key(api_key)
    brand_id = r.get(keys.api_key(digest))
    if brand_id is None:
        # Same work on a miss as on a hit, so timing says nothing about near misses.
        hmac.compare_digest(digest, hash_key(api_key + "!"))
        return None
    return brand_id.decode()


def authenticate() -> None:
    """Before every /api/v1 request: resolve the bearer key to its brand, or 401."""
    from tracker.brands.model import get_brand

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            message="Authorization: send 'Authorization: Bearer <api key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    r = current_app.extensions["redis"]
    brand_id = brand_for_key(r, token.strip())
    brand = get_brand(r, brand_id) if brand_id else None
    if brand is None:
        abort(
            401,
            message="Authorization: unknown or revoked API key.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    g.brand = brand

"""API keys: shown once, stored only as a SHA-256 hash, checked in constant time.

Wrong keys are limited per client address (what PROXY_COUNT proxies say it is): after
AUTH_FAILURES_PER_MINUTE of them, the API and the dashboard sign-in answer 429 with Retry-After,
until the minute that began with its first failure is over. A valid key keeps working from a
blocked address only if it was already used from there (in the last KNOWN_SECONDS): the brand's own
client behind the same address is unaffected, while a key guessed during the block is never
confirmed. Other addresses are not affected. Counters live in Redis, shared by all web workers; a
success reads the block in the same round trip as the key, and records its (key, address) pair at
most once an hour per process.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time

import redis
from flask import current_app, g, request

from tracker import keys
from tracker.errors import abort

KEY_PREFIX = "il_"
FAILURE_WINDOW_SECONDS = 60
KNOWN_SECONDS = 7 * 86400  # a (key, address) pair that succeeded stays known this long
_recorded: dict[tuple[str, str], float] = {}  # (key hash, address) -> when this process last recorded it

log = logging.getLogger(__name__)


class TooManyFailures(Exception):
    """The client sent too many wrong keys lately; it may try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def store_key(r: redis.Redis | redis.client.Pipeline, api_key: str, brand_id: str) -> None:
    r.set(keys.api_key(hash_key(api_key)), brand_id)


def client_address() -> str:
    """This request's client, whose wrong keys are counted together: the socket peer, or the address
    PROXY_COUNT proxies vouch for (ProxyFix in create_app); an IPv6 client by its /64, which one
    subscriber holds whole (else each guess could come from a new address)."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def brand_for_key(r: redis.Redis, api_key: str, client: str = "", limit: int = 0) -> str | None:
    """The brand an API key opens, or None. With a `limit`, raises TooManyFailures when `client`
    has sent that many wrong keys in its window, whatever this key is."""
    digest = hash_key(api_key)
    if limit > 0:
        pipe = r.pipeline(transaction=False)
        pipe.get(keys.auth_failures(client))
        pipe.get(keys.api_key(digest))
        failures, brand_id = pipe.execute()
        if failures is not None and int(failures) >= limit and not (
            brand_id is not None and r.exists(keys.auth_known(digest, client))
        ):
            raise TooManyFailures(max(1, r.ttl(keys.auth_failures(client))))
        if brand_id is not None:
            _record(r, digest, client)
    else:
        brand_id = r.get(keys.api_key(digest))
    if brand_id is None:
        # Same work on a miss as on a hit, so timing says nothing about near misses.
        hmac.compare_digest(digest, hash_key(api_key + "!"))
        return None
    return brand_id.decode()


def _record(r: redis.Redis, digest: str, client: str) -> None:
    """Remember that this key succeeded from this address (so a block on the address spares it);
    written at most once an hour per process and pair."""
    now = time.monotonic()
    if now - _recorded.get((digest, client), -3600.0) < 3600:
        return
    if len(_recorded) > 10_000:
        _recorded.clear()
    r.set(keys.auth_known(digest, client), 1, ex=KNOWN_SECONDS)
    _recorded[(digest, client)] = now


def count_failure(r: redis.Redis, client: str, limit: int, where: str) -> None:
    """Count (and log) one wrong key from `client`; its window starts with its first failure."""
    if limit <= 0:
        return
    key = keys.auth_failures(client)
    pipe = r.pipeline(transaction=False)
    pipe.set(key, 0, ex=FAILURE_WINDOW_SECONDS, nx=True)
    pipe.incr(key)
    failures = pipe.execute()[1]
    if failures < limit:
        log.info("auth: wrong API key (%s) from %s, %d of %d this minute", where, client, failures, limit)
    else:
        log.warning("auth: %d wrong API keys from %s within a minute: its keys are refused (429)", failures, client)


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
    client, limit = client_address(), int(current_app.config["AUTH_FAILURES_PER_MINUTE"])
    try:
        brand_id = brand_for_key(r, token.strip(), client, limit)
    except TooManyFailures as exc:
        abort(
            429,
            message=f"Authorization: too many wrong API keys from your address; retry in {exc.retry_after} s.",
            headers={"Retry-After": str(exc.retry_after)},
        )
    brand = get_brand(r, brand_id) if brand_id else None
    if brand is None:
        count_failure(r, client, limit, "API")
        abort(
            401,
            message="Authorization: unknown or revoked API key.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    g.brand = brand

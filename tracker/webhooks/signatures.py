"""Signature schemes, as each platform computes them. Every comparison is constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def _hmac(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def timestamped(header: str | None, body: bytes, secrets: list[str], now: float | None = None) -> str | None:
    """`t=<unix>,v1=<hex>[,v1=...]` over "t.body" (Stripe's scheme, also our generic one).

    Returns None when valid, else what is wrong."""
    if not header:
        return "missing signature header"
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v.strip() for k, v in parts if k.strip() == "t"]
    signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return "malformed signature header"
    t = int(stamps[0])
    if abs((now or time.time()) - t) > TOLERANCE_SECONDS:
        return "signature timestamp outside the 5-minute tolerance"
    signed = stamps[0].encode() + b"." + body
    ok = False
    for secret in secrets:
        expected = _hmac(secret, signed).hex()
        for candidate in signatures:
            ok |= hmac.compare_digest(expected, candidate)
    return None if ok else "signature does not match"


def base64_body(header: str | None, body: bytes, secrets: list[str]) -> str | None:
    """base64(HMAC-SHA256(body)) (Shopify's and WooCommerce's scheme)."""
    if not header:
        return "missing signature header"
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(base64.b64encode(_hmac(secret, body)).decode(), header.strip())
    return None if ok else "signature does not match"

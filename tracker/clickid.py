"""Click ids: signed, so a forged or altered id never attributes an order.

A click id is 28 url-safe characters followed by the link's code:
base64url(6-byte time in ms + 6 random bytes + 9-byte HMAC-SHA256 over those and the code).
It carries the click's time and link, so an order can name its click for the whole attribution
window without a lookup, and the signature proves we issued it.
"""

from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass
from hashlib import sha256

_TOKEN_LEN = 28  # base64url of 21 bytes, no padding needed
_MAC_LEN = 9


@dataclass(frozen=True)
class Click:
    code: str
    ts_ms: int


def _mac(secret: bytes, body: bytes, code: str) -> bytes:
    return hmac.new(secret, body + code.encode(), sha256).digest()[:_MAC_LEN]


def make(code: str, ts_ms: int, secret: bytes) -> str:
    body = ts_ms.to_bytes(6, "big") + os.urandom(6)
    return base64.urlsafe_b64encode(body + _mac(secret, body, code)).decode() + code


def verify(click_id: str, secrets: list[bytes]) -> Click | None:
    """The click an id names, or None if it was not issued with one of `secrets`."""
    if not isinstance(click_id, str) or len(click_id) <= _TOKEN_LEN or len(click_id) > 200:
        return None
    token, code = click_id[:_TOKEN_LEN], click_id[_TOKEN_LEN:]
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) != 21:
        return None
    body, mac = raw[:12], raw[12:]
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(mac, _mac(secret, body, code))
    if not ok:
        return None
    return Click(code=code, ts_ms=int.from_bytes(body[:6], "big"))

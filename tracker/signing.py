"""The key that signs click ids: SECRET_KEY, or one created once and kept in Redis."""

from __future__ import annotations

import secrets
from typing import Any

import redis

from tracker import keys


class SigningKeys:
    """The current click-id signing key, and the older ones still accepted."""

    def __init__(self, r: redis.Redis, config: dict[str, Any]):
        self.r = r
        self.configured = config.get("SECRET_KEY")
        self.old = [k.encode() for k in config.get("OLD_SECRET_KEYS") or []]
        self._current: bytes | None = self.configured.encode() if self.configured else None

    def current(self) -> bytes:
        if self._current is None:
            self.r.set(keys.secret_key(), secrets.token_hex(32), nx=True)
            self._current = self.r.get(keys.secret_key())
        return self._current

    def all(self) -> list[bytes]:
        """Every key a click id may have been signed with (current first)."""
        return [self.current(), *self.old]

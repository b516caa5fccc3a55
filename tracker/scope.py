"""What a service function works in: one brand, the Redis holding its records, this process's
lookup caches (a change drops its entries) and the service's public address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from tracker.store import Store

if TYPE_CHECKING:
    from flask import Flask

    from tracker.lookups import Lookups


@dataclass(frozen=True)
class Scope:
    r: redis.Redis
    brand: dict[str, Any]
    lookups: Lookups
    base_url: str

    @classmethod
    def of(cls, app: Flask, brand: dict[str, Any]) -> Scope:
        """The brand's scope in this app (its Redis client, its caches, BASE_URL)."""
        ext = app.extensions
        return cls(ext["redis"], brand, ext["lookups"], app.config["BASE_URL"].rstrip("/"))

    @property
    def brand_id(self) -> str:
        return self.brand["id"]

    @property
    def store(self) -> Store:
        return Store(self.r, self.brand["id"])

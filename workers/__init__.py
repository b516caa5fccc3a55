"""RQ jobs: plain functions that take ids and load what they need."""

from __future__ import annotations

from functools import lru_cache

import redis

from tracker import config
from tracker.db import connect


@lru_cache(maxsize=4)
def _client(url: str | None) -> redis.Redis:
    return connect(url, socket_timeout=30)


def settings() -> dict:
    return config.from_env()


def data_redis() -> redis.Redis:
    """The data Redis of this worker process (one client, built on first use)."""
    return _client(settings()["REDIS_URL"])

"""RQ jobs: plain functions that take ids and load what they need."""

from __future__ import annotations

import atexit
from functools import lru_cache

import redis

from tracker import config
from tracker.db import connect


@lru_cache(maxsize=4)
def _client(url: str | None) -> redis.Redis:
    """The worker process's data client (its roll-ups open and close their own pipelined connection,
    tracker.db.Conn); closed when the process exits."""
    client = connect(url, socket_timeout=30)
    atexit.register(client.close)
    return client


def settings() -> dict:
    return config.from_env()


def data_redis() -> redis.Redis:
    """The data Redis of this worker process (one client, built on first use)."""
    return _client(settings()["REDIS_URL"])

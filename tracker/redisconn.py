"""Redis clients: built once per process by the factory (or a worker), never at import time."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_URL = "redis://127.0.0.1:6479/0"  # where `tracker run` starts its embedded server


def connect(url: str | None, **overrides) -> redis.Redis:
    """A client that fails fast: the redirect must not hang on a Redis outage."""
    options = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 5.0,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }
    options.update(overrides)
    return redis.Redis.from_url(url or DEFAULT_URL, **options)

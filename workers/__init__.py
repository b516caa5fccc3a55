"""RQ jobs: plain functions that take ids and load what they need.

Their settings and data Redis come from the process's worker context, built once from the config:
by `tracker worker` at start-up (`start`, before any job; its forked work horses inherit it), or
around jobs run in-process (`using`: `tracker rollup`, the demo, tests with a dict). Jobs never
read the environment.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from tracker import config as settings_
from tracker.db import connect


@dataclass(frozen=True)
class Context:
    """What jobs run with: the settings (every one, defaults filled in) and one data Redis client
    (the roll-ups open and close their own pipelined connection on it, tracker.db.Conn)."""

    config: dict[str, Any]
    redis: redis.Redis

    @classmethod
    def build(cls, config: dict[str, Any]) -> Context:
        full = {**settings_.defaults(), **config}
        return cls(full, connect(full["REDIS_URL"], socket_timeout=30))


_current: Context | None = None


def start(config: dict[str, Any]) -> Context:
    """Build this process's worker context, for every job it runs from now on; closed at exit."""
    global _current
    _current = Context.build(config)
    atexit.register(_current.redis.close)
    return _current


@contextmanager
def using(config: dict[str, Any]) -> Iterator[Context]:
    """Jobs run in this process inside the block use `config`; the previous context comes back after."""
    global _current
    previous = _current
    _current = ctx = Context.build(config)
    try:
        yield ctx
    finally:
        _current = previous
        ctx.redis.close()


def context() -> Context:
    if _current is None:
        raise RuntimeError("no worker context: jobs run under `tracker worker` or inside workers.using(config)")
    return _current


def settings() -> dict[str, Any]:
    """The worker's settings (tracker.config names)."""
    return context().config


def data_redis() -> redis.Redis:
    """The worker's data Redis client."""
    return context().redis

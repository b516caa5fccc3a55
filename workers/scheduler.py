"""The scheduler process: enqueues the roll-up every ROLLUP_INTERVAL_SECONDS.

Several schedulers may run (one per host); a lock in Redis lets only one enqueue per interval.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import redis

from tracker import keys, queues

log = logging.getLogger(__name__)


def tick(qconn: redis.Redis, interval: int) -> bool:
    """Enqueue the roll-up if no scheduler did in the last `interval` seconds."""
    if not qconn.set(keys.scheduler_lock("rollup"), os.getpid(), nx=True, ex=interval):
        return False
    queues.enqueue(qconn, queues.ROLLUP, job_timeout=max(600, interval * 5), result_ttl=3600)
    return True


def run(qconn: redis.Redis, cfg: dict[str, Any], stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    interval = cfg["ROLLUP_INTERVAL_SECONDS"]
    log.info("scheduler: roll-up every %ss", interval)
    while not stop.is_set():
        try:
            if tick(qconn, interval):
                log.info("scheduler: enqueued roll-up")
        except redis.RedisError as exc:
            log.warning("scheduler: redis unavailable (%s)", exc)
        stop.wait(1.0)

"""RQ queue names and enqueueing by dotted name with the JSON serializer (ids only cross)."""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

ROLLUPS = "rollups"
ALL = (ROLLUPS,)

# Jobs, by dotted name, so the web side never imports `workers`.
ROLLUP = "workers.rollup.run"


def queue(conn: redis.Redis, name: str = ROLLUPS) -> Queue:
    return Queue(name, connection=conn, serializer=JSONSerializer)


def enqueue(conn: redis.Redis, func: str, *args: Any, queue_name: str = ROLLUPS, **options: Any):
    return queue(conn, queue_name).enqueue(func, *args, **options)

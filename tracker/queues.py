"""RQ queue names and enqueueing by dotted name with the JSON serializer (ids only cross)."""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

ROLLUPS = "rollups"
ALL = (ROLLUPS,)

# Jobs, by dotted name, so the web side never imports `workers`.
ROLLUP = "workers.rollup.run"
ROLLUP_SHARD = "workers.rollup.run_shard"  # one click shard of one brand (the roll-up fans out to them)


def queue(conn: redis.Redis, name: str = ROLLUPS) -> Queue:
    return Queue(name, connection=conn, serializer=JSONSerializer)


def enqueue_once(conn: redis.Redis, job_id: str, func: str, *args: Any, queue_name: str = ROLLUPS, **options: Any):
    """Enqueue under `job_id` unless a job of that id is still waiting or running (returns None then)."""
    try:
        job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:
        pass
    else:
        if job.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            return None
    return queue(conn, queue_name).enqueue(func, *args, job_id=job_id, **options)


def enqueue(conn: redis.Redis, func: str, *args: Any, queue_name: str = ROLLUPS, **options: Any):
    return queue(conn, queue_name).enqueue(func, *args, **options)

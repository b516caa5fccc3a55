"""`/healthz` (the process is up) and `/readyz` (Redis answers), for load balancers; `/readyz` also
says how many clicks wait in this host's spool and how many Redis refused (tracker/spool.py)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app

from tracker import spool

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int]:
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    checks = {}
    for name in ("redis", "queue_redis"):
        try:
            current_app.extensions[name].ping()
            checks[name] = "ok"
        except redis.RedisError as exc:
            checks[name] = f"unreachable: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    spooled = spool.counts(current_app.config["SPOOL_DIR"])  # clicks waiting on this host, and refused
    body = {"status": "ok" if ok else "unavailable", "checks": checks, "spool": spooled}
    return body, 200 if ok else 503

"""`/healthz` (the process is up) and `/readyz` (Redis answers), for load balancers."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app

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
    return {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503

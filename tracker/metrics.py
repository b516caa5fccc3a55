"""Prometheus metrics: counters the processes bump as they work, gauges read from Redis when scraped.

Several web worker processes (and the RQ worker) each count their own: prometheus_client's
multi-process mode adds them up. It is on when `PROMETHEUS_MULTIPROC_DIR` names a directory
shared by every process of one service, set before they start (`tracker run` makes and empties
`<data-dir>/metrics`); without it a process reports only its own counts. `GET /metrics` answers
only with `Authorization: Bearer <METRICS_TOKEN>`, and is off (404) while that setting is empty.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from tracker import keys
from tracker.brands.model import click_shards_ever, get_brand

bp = Blueprint("metrics", __name__)

REDIRECTS = Counter("tracker_redirects", "Short-link requests answered, by HTTP status.", ["status"])
CLICKS_SPOOLED = Counter("tracker_clicks_spooled", "Clicks written to the disk spool because Redis was unreachable.")
CLICKS_REPLAYED = Counter("tracker_clicks_replayed", "Spooled clicks replayed into Redis.")
WEBHOOKS = Counter("tracker_webhooks", "Webhook deliveries answered, by source and HTTP status.", ["source", "status"])
JOURNAL_RECORDS = Counter("tracker_order_journal_records", "Deliveries of orders and refunds fsync'd to the journal.")
JOURNAL_FSYNCS = Counter("tracker_order_journal_fsyncs", "Journal fsyncs (deliveries arriving together share one).")
SIGNATURE_FAILURES = Counter("tracker_webhook_signature_failures", "Webhook deliveries refused for their signature.",
                             ["source"])  # fmt: skip
ROLLUP_SECONDS = Histogram(
    "tracker_rollup_job_duration_seconds",
    "Wall time of roll-up jobs.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
UA_CACHE = Counter("tracker_useragent_classifications", "User agents classified by the roll-up, by cache result.",
                   ["cache"])  # fmt: skip

# The redirect's own statuses, bound once: the hot path pays one increment, not a label lookup.
REDIRECT_BY_STATUS = {status: REDIRECTS.labels(status) for status in ("302", "404", "410", "503")}


def count_classifications(before: Any, after: Any) -> None:
    """Add the hits and misses of an lru_cache between two `cache_info()` readings."""
    if after.hits > before.hits:
        UA_CACHE.labels("hit").inc(after.hits - before.hits)
    if after.misses > before.misses:
        UA_CACHE.labels("miss").inc(after.misses - before.misses)


class StorageCollector:
    """Read at scrape time: roll-up lag per stream (entries read but not acknowledged, entries not
    yet read, age of the oldest of either) and the clicks waiting in this host's spool."""

    def __init__(self, r: redis.Redis, spool_dir: str):
        self.r = r
        self.spool_dir = Path(spool_dir)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["brand", "stream"]
        pending = GaugeMetricFamily(
            "tracker_rollup_pending_entries", "Stream entries read by a worker, not yet acknowledged.", labels=labels
        )
        unread = GaugeMetricFamily("tracker_rollup_unread_entries", "Stream entries no worker has read yet.",
                                   labels=labels)  # fmt: skip
        oldest = GaugeMetricFamily("tracker_rollup_oldest_unprocessed_seconds",
                                   "Age of the oldest entry not rolled up (0: none).", labels=labels)  # fmt: skip
        now_ms = time.time() * 1000
        for brand_id in sorted(b.decode() for b in self.r.smembers(keys.brands())):
            shards = click_shards_ever(get_brand(self.r, brand_id) or {})
            for kind, stream in (*((f"clicks:{i}" if i else "clicks", keys.clicks_stream(brand_id, i))
                                   for i in range(shards)),
                                 ("conversions", keys.conversions_stream(brand_id))):  # fmt: skip
                p, u, first = self._lag(stream)
                pending.add_metric([brand_id, kind], p)
                unread.add_metric([brand_id, kind], u)
                oldest.add_metric([brand_id, kind], max(0.0, (now_ms - first) / 1000) if first is not None else 0.0)
        yield pending
        yield unread
        yield oldest
        yield from self.spool_gauges()

    def spool_gauges(self) -> Iterator[GaugeMetricFamily]:
        """The clicks in this host's spool: waiting for a replay, and refused by Redis."""
        from tracker.spool import counts  # the spool counts its clicks with these metrics' counters

        spooled = counts(self.spool_dir)
        for name, kind, what in (
            ("tracker_spool_pending_clicks", "clicks", "Clicks in this host's spool, not yet replayed."),
            ("tracker_spool_failed_clicks", "failed", "Spooled clicks Redis refused, kept apart."),
        ):
            gauge = GaugeMetricFamily(name, what)
            gauge.add_metric([], spooled[kind])
            yield gauge

    def _lag(self, stream: str) -> tuple[int, int, float | None]:
        """(pending, unread, oldest entry's time in ms) of a stream's consumer group (the roll-up's,
        its only one)."""
        try:
            groups = self.r.xinfo_groups(stream)
        except redis.ResponseError:  # no stream yet
            return 0, 0, None
        mine = groups[0] if groups else None
        if mine is None:
            first = self.r.xrange(stream, count=1)
            return 0, self.r.xlen(stream), _ms(first[0][0]) if first else None
        pending = int(mine["pending"])
        oldest = None
        if pending:
            summary = self.r.xpending(stream, mine["name"])
            oldest = _ms(summary["min"])
        last = mine["last-delivered-id"]
        after = self.r.xrange(stream, min=b"(" + _b(last), count=10_001)
        if after and oldest is None:
            oldest = _ms(after[0][0])
        lag = mine.get("lag")
        return pending, int(lag) if lag is not None else len(after), oldest


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _ms(entry_id: Any) -> float:
    return float(_b(entry_id).split(b"-")[0])


def exposition(r: redis.Redis, spool_dir: str) -> bytes:
    """Every metric in the text format: all processes' counters plus the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    live = CollectorRegistry()
    live.register(StorageCollector(r, spool_dir))
    return generate_latest(counted) + generate_latest(live)


@bp.get("/metrics")
def metrics() -> Any:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return {"code": 404, "status": "Not Found", "message": "metrics are off: set METRICS_TOKEN"}, 404
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return {"code": 401, "status": "Unauthorized", "message": "Authorization: Bearer <METRICS_TOKEN> required"}, \
            401, {"WWW-Authenticate": 'Bearer realm="metrics"'}  # fmt: skip
    body = exposition(current_app.extensions["redis"], current_app.config["SPOOL_DIR"])
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

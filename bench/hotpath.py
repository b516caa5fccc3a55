"""Does hand-packing still pay? (`.venv/bin/python bench/hotpath.py`)

Per call, on a redis-server of its own (the embedded binary, a free port): the redirect's XADD
and the webhook's record_order script, sent packed in one go on a hot connection
(`tracker.db.Redis.call` / `.run`) against redis-py's generic command path (`execute_command`,
`tracker.db.run`). Best of 3 passes of BENCH_CALLS (20000) each; prints microseconds per call and
whether hiredis parsed the replies.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.utils import HIREDIS_AVAILABLE  # noqa: E402

from tracker import db, embedded  # noqa: E402
from tracker.db import scripts  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", 20000))
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Instagram 300.0"
EVENT = ["id", "x" * 40, "l", "L1", "p", "P1", "t", "1767225600000", "v", "a" * 32, "ua", UA]
STREAM = "il:{b:bench}:clicks"


def per_call(f: Callable[[int], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(CALLS):
            f(i)
        best = min(best, time.perf_counter() - start)
    return best / CALLS * 1e6


def order(i: int) -> scripts.Call[tuple[bool, str]]:
    return scripts.record_order(brand_id="bench", source="shopify", order_id=f"o{i}", conversion_id=f"c{i}",
                                record=json.dumps({"id": f"c{i}", "amount": 100}), amount=100, at_ms=1767225600000,
                                event=[("kind", "order"), ("id", f"c{i}"), ("amount", "100")])  # fmt: skip


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = embedded.start(port, persist=False)
    try:
        r = db.connect(f"redis://127.0.0.1:{port}/0")
        hot = db.Redis(r)
        xadd_hot = per_call(lambda i: hot.call(STREAM, b"XADD", STREAM, b"*", *EVENT))
        xadd_generic = per_call(lambda i: r.execute_command("XADD", STREAM, "*", *EVENT))
        r.flushall()
        order_hot = per_call(lambda i: hot.run(order(i)))
        r.flushall()
        order_generic = per_call(lambda i: db.run(r, order(i)))
        hot.close()
        print(f"hiredis: {HIREDIS_AVAILABLE}")
        print(f"XADD:         hot {xadd_hot:6.1f} us   redis-py {xadd_generic:6.1f} us")
        print(f"record_order: hot {order_hot:6.1f} us   redis-py {order_generic:6.1f} us")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()

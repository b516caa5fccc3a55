"""Reading a brand's stream through the consumer group, exactly once with the apply scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

GROUP = "rollup"

Entries = list[tuple[bytes, dict[bytes, bytes]]]


def drain(
    r: redis.Redis,
    stream: str,
    consumer: str,
    claim_idle_ms: int,
    batch_size: int,
    apply: Callable[[Entries], int],
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Apply every entry nobody acknowledged: first those a crashed consumer left pending (idle
    longer than `claim_idle_ms`), then the new ones. Returns (entries read, entries applied)."""
    try:
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    read = applied = 0

    def step(entries: Entries) -> None:
        nonlocal read, applied
        read += len(entries)
        if progress:  # as soon as a batch is taken, before it is applied
            progress(read)
        applied += apply(entries)

    start: Any = "0-0"
    while True:
        reply = r.xautoclaim(stream, GROUP, consumer, claim_idle_ms, start, count=batch_size)
        start, entries = reply[0], reply[1]
        if entries:
            step(entries)
        if start in (b"0-0", "0-0"):
            break
    while True:
        reply = r.xreadgroup(GROUP, consumer, {stream: ">"}, count=batch_size)
        if not reply or not reply[0][1]:
            break
        step(reply[0][1])
    return read, applied

"""Clicks that could not reach Redis go to an append-only file and are replayed when it is back.

Replays are safe to repeat: the roll-up counts each click id once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: str, r: redis.Redis, interval: float = 2.0):
        self.dir = Path(directory)
        self.r = r
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def write(self, stream: str, fields: dict[str, str]) -> None:
        """Append one event (fsync'd: the visitor already has the redirect) and start replaying."""
        line = json.dumps({"s": stream, "f": fields}, separators=(",", ":")) + "\n"
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with open(self.dir / f"clicks-{os.getpid()}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._replay_loop, name="click-spool", daemon=True)
                self._thread.start()

    def _replay_loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                if self.replay() == 0 and not any(self.dir.glob("*.jsonl")):
                    return
            except redis.RedisError:
                continue

    def replay(self) -> int:
        """Move every spooled event (any process's) into Redis; returns how many."""
        done = 0
        for path in sorted(self.dir.glob("*.jsonl")):
            claimed = path.with_suffix(f".replay-{os.getpid()}")
            try:
                with self._lock:
                    path.rename(claimed)
            except FileNotFoundError:
                continue  # another process took it
            events = [json.loads(line) for line in claimed.read_text(encoding="utf-8").splitlines() if line]
            try:
                with self.r.pipeline(transaction=False) as p:
                    for event in events:
                        p.xadd(event["s"], event["f"])
                    p.execute()
            except redis.RedisError:
                claimed.rename(path.with_name(f"{path.stem}-{time.time_ns()}.jsonl"))
                raise
            claimed.unlink()
            done += len(events)
            log.warning("replayed %d spooled clicks from %s", len(events), path.name)
        return done

"""Clicks that could not reach Redis go to an append-only file and are replayed when it is back.

Files are per host and process (`clicks-<host>-<pid>.jsonl`), so web containers may share the
volume. A writer appends under an exclusive lock and re-opens if the file was claimed for
replay meanwhile; a replayer renames a file to claim it, then takes the lock before reading, so
no line is lost between the two. A claimed file left by a crashed replayer is claimed again after
a minute. Replays are safe to repeat: the roll-up counts each click id once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

import redis

from tracker import metrics

log = logging.getLogger(__name__)
ORPHAN_SECONDS = 60


class Spool:
    def __init__(self, directory: str, r: redis.Redis, interval: float = 2.0):
        self.dir = Path(directory)
        self.r = r
        self.interval = interval
        self.me = f"{socket.gethostname()}-{os.getpid()}"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def write(self, stream: str, fields: dict[str, str]) -> None:
        """Append one event (fsync'd: the visitor already has the redirect) and start replaying."""
        line = (json.dumps({"s": stream, "f": fields}, separators=(",", ":")) + "\n").encode()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"clicks-{self.me}.jsonl"
        with self._lock:
            while True:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    try:
                        same = os.fstat(fd).st_ino == os.stat(path).st_ino
                    except FileNotFoundError:
                        same = False
                    if same:  # not claimed by a replayer while we waited
                        os.write(fd, line)
                        os.fsync(fd)
                        metrics.CLICKS_SPOOLED.inc()
                        break
                finally:
                    os.close(fd)
        self.start()

    def start(self) -> None:
        """Replay in the background until the spool is empty (also at start-up, for leftovers)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._replay_loop, name="click-spool", daemon=True)
                self._thread.start()

    def pending(self) -> bool:
        return self.dir.is_dir() and any(self.dir.glob("clicks-*"))

    def _replay_loop(self) -> None:
        while True:
            try:
                self.replay()
                if not self.pending():
                    return
            except redis.RedisError:
                pass
            time.sleep(self.interval)

    def replay(self) -> int:
        """Move every spooled event (any process's) into Redis; returns how many."""
        done = 0
        for path in sorted(self.dir.glob("clicks-*")):
            if ".replay-" in path.name and time.time() - path.stat().st_mtime < ORPHAN_SECONDS:
                continue  # being replayed by a live process
            claimed = self.dir / f"{path.name.split('.')[0]}.replay-{self.me}-{time.time_ns()}"
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue  # another process took it
            with open(claimed, "rb") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # wait for a writer that opened it before the rename
                events = [json.loads(line) for line in fh.read().splitlines() if line]
            try:
                with self.r.pipeline(transaction=False) as p:
                    for event in events:
                        p.xadd(event["s"], event["f"])
                    p.execute()
            except redis.RedisError:
                claimed.rename(self.dir / f"clicks-{self.me}-{time.time_ns()}.jsonl")
                raise
            claimed.unlink()
            metrics.CLICKS_REPLAYED.inc(len(events))
            done += len(events)
            log.warning("replayed %d spooled clicks from %s", len(events), path.name)
        return done

"""Clicks that could not reach Redis go to an append-only file and are replayed when it is back.

Files are per host and process (`clicks-<host>-<pid>.jsonl`), so web containers may share the
volume. A writer appends under an exclusive lock and re-opens if the file was claimed for
replay meanwhile; a replayer renames a file to claim it, then takes the lock before reading, so
no line is lost between the two. A claimed file left by a crashed replayer is claimed again after
a minute. Replays are safe to repeat: the roll-up counts each click id once.

A replay sends each stream's clicks to the node that holds the stream (one pipeline per stream,
`tracker.db.pipeline`: on a Redis Cluster, each brand's node). Nothing fails silently: clicks a
node could not take because it is unreachable (or the cluster is in flux) stay in the spool and
are retried, with a warning in the log at most once a minute; clicks Redis refuses (an error that
retrying will not cure, e.g. WRONGTYPE) are moved to `failed-clicks-*.jsonl` in the same folder,
logged as errors, and left there for an operator (`tracker spool --replay` tries them again).
Both counts are in `/readyz`'s detail and `tracker spool`.
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
from redis.exceptions import AskError, BusyLoadingError, ClusterDownError, ReadOnlyError, TryAgainError

from tracker import db, metrics

log = logging.getLogger(__name__)
ORPHAN_SECONDS = 60
BATCH = 1000  # XADDs per round trip
WARN_EVERY = 60.0  # seconds between two warnings of clicks kept for a retry
# Errors that pass (Redis unreachable, restarting, a replica promoted, slots moving): clicks kept, retried.
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, BusyLoadingError, ReadOnlyError, ClusterDownError,
             TryAgainError, AskError)  # fmt: skip


def counts(directory: str | Path) -> dict[str, int]:
    """Clicks in the spool folder: waiting for a replay (`clicks`), refused by Redis (`failed`)."""
    directory = Path(directory)
    return {"clicks": _lines(directory, "clicks-*"), "failed": _lines(directory, "failed-clicks-*")}


def _lines(directory: Path, pattern: str) -> int:
    total = 0
    try:
        files = list(directory.glob(pattern))
    except OSError:
        return 0
    for path in files:
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    total += chunk.count(b"\n")
        except OSError:
            continue  # claimed or replayed meanwhile
    return total


class Spool:
    def __init__(self, directory: str, r: redis.Redis, interval: float = 2.0):
        self.dir = Path(directory)
        self.r = r
        self.interval = interval
        self.me = f"{socket.gethostname()}-{os.getpid()}"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warned = 0.0  # when clicks kept for a retry were last logged

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
            except Exception:  # never a silent death: logged, and the clicks stay on disk for the next pass
                log.exception("click spool replay failed; the clicks stay in %s", self.dir)
            time.sleep(self.interval)

    def replay(self) -> int:
        """Move every spooled event (any process's) into Redis, each stream's to its node; returns
        how many. What a node could not take is spooled again (and logged), what Redis refuses is
        moved to a failed-clicks file (and logged)."""
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
                lines = [line for line in fh.read().splitlines() if line]
            streams: dict[str, list[bytes]] = {}
            for line in lines:
                streams.setdefault(json.loads(line)["s"], []).append(line)
            kept: list[bytes] = []  # to retry
            failed: list[bytes] = []  # refused
            errors: list[str] = []
            for stream, events in streams.items():
                for start in range(0, len(events), BATCH):
                    batch = events[start : start + BATCH]
                    try:
                        with db.pipeline(self.r, stream) as p:
                            for line in batch:
                                p.xadd(stream, json.loads(line)["f"])
                            p.execute()
                        done += len(batch)
                    except TRANSIENT as exc:
                        kept += batch
                        errors.append(f"{stream}: {exc.__class__.__name__}: {exc}")
                    except redis.RedisError as exc:
                        failed += batch
                        log.error("Redis refused %d spooled clicks of %s (%s: %s); kept in %s",
                                  len(batch), stream, exc.__class__.__name__, exc, self._failed_path())  # fmt: skip
            if failed:
                self._append(self._failed_path(), failed)
            if kept:
                self._append(self.dir / f"clicks-{self.me}-{time.time_ns()}.jsonl", kept)
                if time.monotonic() - self._warned >= WARN_EVERY:
                    self._warned = time.monotonic()
                    log.warning("%d spooled clicks kept for a retry: %s", len(kept), "; ".join(errors[:3]))
            claimed.unlink()
            replayed = len(lines) - len(kept) - len(failed)
            if replayed:
                metrics.CLICKS_REPLAYED.inc(replayed)
                log.warning("replayed %d spooled clicks from %s", replayed, path.name)
        return done

    def _failed_path(self) -> Path:
        return self.dir / f"failed-clicks-{self.me}.jsonl"

    @staticmethod
    def _append(path: Path, lines: list[bytes]) -> None:
        """Lines added to a file of this process's, fsync'd (a file no writer appends to: the claimed
        file is only unlinked once they are)."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"".join(line + b"\n" for line in lines))
            os.fsync(fd)
        finally:
            os.close(fd)


def retry_failed(directory: str | Path) -> int:
    """Put the clicks Redis refused back in the spool (once the cause is fixed); returns how many."""
    directory = Path(directory)
    moved = 0
    for path in sorted(directory.glob("failed-clicks-*")):
        lines = _lines(directory, path.name)
        path.rename(directory / f"clicks-retry-{time.time_ns()}.jsonl")
        moved += lines
    return moved

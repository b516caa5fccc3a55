"""Orders and refunds on disk before their 2xx: an append-only journal, fsync'd, group-committed.

Redis fsyncs its AOF once a second, so a power cut can lose the last second of writes. A shop
stops retrying after a 2xx, so what a 2xx acknowledges is first appended here and fsync'd; the
journal is replayed at start-up (and by `tracker replay-orders`), and recording is idempotent, so
replaying puts back what Redis lost and counts nothing twice.

Files are per host and process, in segments started every few seconds:
`orders-<host>-<pid>-<start ms>.jsonl`. Every write to a segment happens within SEGMENT_SECONDS of
its start, so a segment is wholly older than `keep` seconds once `start + SEGMENT_SECONDS + keep`
has passed; it is then deleted (`keep` must exceed Redis's fsync lag). `append` blocks until its
record is fsync'd; threads appending together share one write and one fsync (group commit): the
first waiting thread writes everyone's pending records, the others wait for it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tracker import metrics

log = logging.getLogger(__name__)
SEGMENT_SECONDS = 5.0
PREFIX = "orders-"


class JournalError(Exception):
    """The journal could not be written (disk full, read-only, gone): nothing may be acknowledged."""


class _Batch:
    __slots__ = ("lines", "done", "error")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.done = False
        self.error: OSError | None = None


class Journal:
    def __init__(self, directory: str, keep_seconds: float, clock: Callable[[], float] = time.time):
        self.dir = Path(directory)
        self.keep = float(keep_seconds)
        self.clock = clock
        self.fsyncs = 0  # one per batch written: fewer than the records when threads group-commit
        self._cond = threading.Condition()
        self._open = _Batch()  # records waiting for the next write
        self._writing = False  # a leader is writing a batch
        self._fd: int | None = None
        self._started = 0.0  # when the current segment started (clock seconds)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and return once it is fsync'd; JournalError if the disk refused it."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._cond:
            batch = self._open
            batch.lines.append(line)
            while not batch.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing, leading, self._open = True, self._open, _Batch()
                self._cond.release()
                try:
                    self._write(leading.lines)
                except OSError as exc:
                    leading.error = exc
                finally:
                    self._cond.acquire()
                    leading.done, self._writing = True, False
                    self._cond.notify_all()
        if batch.error is not None:
            raise JournalError(f"order journal in {self.dir}: {batch.error}") from batch.error

    def _write(self, lines: list[bytes]) -> None:
        """One write and one fsync for a batch (only the leader is here)."""
        now = self.clock()
        if self._fd is None or now - self._started >= SEGMENT_SECONDS:
            self._rotate(now)
        data = b"".join(lines)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            os.fdatasync(self._fd)
        except OSError:
            self._close()  # a torn line stays in this segment (replay skips it); the next batch starts a new one
            raise
        self.fsyncs += 1
        metrics.JOURNAL_FSYNCS.inc()
        metrics.JOURNAL_RECORDS.inc(len(lines))

    def _rotate(self, now: float) -> None:
        self._close()
        self.dir.mkdir(parents=True, exist_ok=True)
        ms = int(now * 1000)
        me = f"{socket.gethostname()}-{os.getpid()}"
        while True:
            try:
                path = self.dir / f"{PREFIX}{me}-{ms}.jsonl"
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                ms += 1  # another journal of this process started one the same millisecond
        self._started = ms / 1000
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's name is on disk too
        finally:
            os.close(dir_fd)
        self.prune()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with self._cond:
            self._close()

    def segments(self) -> list[Path]:
        """Every process's segments, oldest first."""
        if not self.dir.is_dir():
            return []
        return sorted((p for p in self.dir.glob(f"{PREFIX}*.jsonl") if _start(p) is not None), key=_start)

    def prune(self) -> int:
        """Delete the segments (any process's) whose every record is older than `keep`; how many."""
        now, gone = self.clock(), 0
        for path in self.segments():
            if _start(path) + SEGMENT_SECONDS + self.keep <= now:
                try:
                    path.unlink()
                    gone += 1
                except FileNotFoundError:
                    pass  # another process pruned it
                except OSError as exc:
                    log.warning("order journal: could not delete %s: %s", path.name, exc)
        return gone

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        """A segment's records; a torn line (a write cut by a crash or a full disk) is skipped."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        for line in data.splitlines():
            try:
                yield json.loads(line)
            except ValueError:
                log.warning("order journal %s: skipped a torn line of %d bytes", path.name, len(line))


def _start(path: Path) -> float | None:
    """A segment's start (seconds) from its name, or None for a name that is not a segment's."""
    stamp = path.name.removesuffix(".jsonl").rsplit("-", 1)[-1]
    return int(stamp) / 1000 if stamp.isdigit() else None

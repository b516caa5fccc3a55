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
first waiting thread writes everyone's pending records, the others wait for it. `append_async`
is the same for a coroutine on an event loop (the ASGI webhook path): its record joins the
pending batch and it awaits the batch's fsync without blocking the loop; when no thread is there
to lead, the journal's writer thread writes the batch and settles the coroutines' futures on
their loops.
"""

from __future__ import annotations

import asyncio
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
    __slots__ = ("lines", "done", "error", "futures")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.done = False
        self.error: OSError | None = None
        self.futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []  # append_async's

    def settle(self) -> None:
        """Resolve the coroutines waiting for this batch (on their loops' threads), once it is done."""
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for loop, future in self.futures:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, futures, self.error)
            except RuntimeError:
                pass  # that loop is closed: nobody waits any more


def _settle(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(None)


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
        self._writer_pid = 0  # the process whose writer thread runs (a forked child starts its own)

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
                self._lead()
        if batch.error is not None:
            raise JournalError(f"order journal in {self.dir}: {batch.error}") from batch.error

    async def append_async(self, record: dict[str, Any]) -> None:
        """`append` for a coroutine: returns once the record is fsync'd, the loop free meanwhile."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._writer_pid != os.getpid():
                self._writer_pid = os.getpid()
                threading.Thread(target=self._writer, name="journal", daemon=True).start()
            self._open.lines.append(line)
            self._open.futures.append((loop, future))
            self._cond.notify_all()
        try:
            await future
        except OSError as exc:
            raise JournalError(f"order journal in {self.dir}: {exc}") from exc

    def _writer(self) -> None:
        """The writer thread: leads every batch that has coroutines waiting and no thread leading."""
        with self._cond:
            while True:
                if self._writing or not self._open.futures:
                    self._cond.wait()
                    continue
                self._lead()

    def _lead(self) -> None:
        """Write the pending batch (called holding the lock, which is released for the write)."""
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
        leading.settle()

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

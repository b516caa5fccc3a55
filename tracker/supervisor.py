"""`tracker run`'s supervisor: a child that dies is started again, one that keeps dying stops the service.

Each child leads its own process group. When one exits, whatever it left behind in its group
(granian's workers, an RQ work horse) is killed, and the child is started again after a delay
that doubles with each death in a row (`delay` up to `delay_max`), and once what it needs is up
(the worker and scheduler wait for the embedded Redis, which may be loading its AOF). More than `max_restarts` deaths
of one child within `window` seconds is a crash loop: `check()` raises CrashLoop and the caller
stops everything with a non-zero exit, rather than flapping silently.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("tracker.run")


@dataclass(frozen=True)
class Policy:
    delay: float = 0.5  # first restart delay, seconds; doubles with each death in a row
    delay_max: float = 10.0
    max_restarts: int = 5  # deaths of one child within `window` that are restarted; one more stops the service
    window: float = 60.0


class CrashLoop(Exception):
    """A child died more than the policy allows; the message says which and how."""


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen]  # the first start
    restart: Callable[[], subprocess.Popen] | None = None  # a restart, when it differs (default: start)
    last: bool = False  # stopped after the others (Redis)
    needs: Callable[[], bool] | None = None  # a restart waits until this says what it needs is up (Redis)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    due: float | None = None  # when a dead child is started again
    delay: float = 0.0
    deaths: deque[float] = field(default_factory=deque)


def describe(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class Supervisor:
    def __init__(
        self, children: list[Child], policy: Policy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.children = children
        self.policy = policy or Policy()
        self.clock = clock

    def start(self) -> None:
        """Start the children in order (a failure raises and leaves the ones started to `stop()`)."""
        for child in self.children:
            child.proc = child.start()
            child.started_at = self.clock()
            child.delay = self.policy.delay

    def check(self) -> None:
        """Notice dead children, schedule their restart, start those that are due; CrashLoop on too many deaths."""
        now = self.clock()
        for child in self.children:
            if child.due is None and child.proc is not None and child.proc.poll() is not None:
                self._died(child, child.proc.returncode, now)
            if child.due is not None and child.due <= now and (child.needs is None or child.needs()):
                self._restart(child)

    def _died(self, child: Child, status: int, now: float) -> None:
        _kill_group(child.proc)
        policy = self.policy
        if now - child.started_at >= policy.window:
            child.delay = policy.delay  # it had been running fine: not a death in a row
        child.deaths.append(now)
        while child.deaths and child.deaths[0] < now - policy.window:
            child.deaths.popleft()
        if len(child.deaths) > policy.max_restarts:
            message = (
                f"CRASH LOOP: {child.name} died {len(child.deaths)} times within {policy.window:g} s "
                f"(last: {describe(status)}); more than {policy.max_restarts} restarts, stopping the service"
            )
            log.critical(message)
            raise CrashLoop(message)
        child.due = now + child.delay
        log.error(
            "%s (pid %d) died: %s; restarting in %.1f s (death %d of %d allowed within %g s)",
            child.name, child.proc.pid, describe(status), child.delay, len(child.deaths),
            policy.max_restarts, policy.window,
        )  # fmt: skip
        child.delay = min(child.delay * 2, policy.delay_max)

    def _restart(self, child: Child) -> None:
        child.due = None
        child.started_at = self.clock()
        try:
            child.proc = (child.restart or child.start)()
        except (OSError, RuntimeError) as exc:
            log.error("%s could not be started: %s", child.name, exc)
            child.proc = _Failed()
            return
        log.warning("%s restarted (pid %d)", child.name, child.proc.pid)

    def stop(self, timeout: float = 20.0, on_kill: Callable[[str], None] | None = None) -> None:
        """The others first (the worker finishes its job), then the `last` ones (Redis); `timeout` in all."""
        deadline = self.clock() + timeout
        for group in ([c for c in self.children if not c.last], [c for c in self.children if c.last]):
            running = [c for c in group if c.proc is not None and c.proc.poll() is None]
            for child in running:
                child.proc.terminate()
            for child in running:
                try:
                    child.proc.wait(max(0.1, deadline - self.clock()))
                except subprocess.TimeoutExpired:
                    if on_kill:
                        on_kill(child.name)
                    child.proc.kill()
                    child.proc.wait()
            for child in group:
                if child.proc is not None and not isinstance(child.proc, _Failed):
                    _kill_group(child.proc)  # anything a child left behind


def _kill_group(proc: subprocess.Popen | None) -> None:
    """Kill what a dead child left in its process group (it led the group: start_new_session)."""
    if proc is None or isinstance(proc, _Failed):
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _Failed:
    """Stands for a child whose restart raised: it counts as dead at once."""

    pid = 0
    returncode = 1

    def poll(self) -> int:
        return 1

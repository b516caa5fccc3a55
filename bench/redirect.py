"""Redirect benchmark driver (`make bench` -> bench/run.sh -> this).

Three servers, one after the other, each loaded with wrk on loopback for the same time:
  (a) a hello-world Flask app answering 302, gunicorn sync workers;
  (b) a bare WSGI callable doing one Redis XADD and a 302, under the service's granian settings;
  (c) ours, `tracker.asgi:app` as `tracker web` serves it (ASGI), same workers, on a real short link.
Prints req/s, p50 and p99, the ratios ours/(a) and ours/(b) against their targets, and checks
that every redirect ours served under load has its click in the brand's Redis stream.
Writes the same to bench/results/redirect.json.

Environment: BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_THREADS (2), BENCH_CONNECTIONS (32),
BENCH_WORKERS (2), BENCH_SERVERS (a,b,c), BENCH_APPENDFSYNC (everysec, the default: AOF fsync'd each
second, as `tracker run`'s Redis; no: Redis without AOF; always: AOF fsync'd before every reply).
Exit 0 whatever the ratios (PASS/MISS is printed), 1 when clicks are missing (or more than wrk's
in-flight requests can explain), 2 on harness failure.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
from harness import (
    BENCH_DIR,
    ROOT,
    VENV_BIN,
    HarnessError,
    Procs,
    WrkResult,
    base_env,
    cli_brand,
    env_int,
    free_port,
    granian_argv,
    http_api,
    http_request,
    log_tail,
    main,
    ratio,
    ratio_line,
    service_env,
    short_link,
    start_redis,
    wait_http,
    write_results,
    wrk,
)

LUA_SCRIPT = BENCH_DIR / "count.lua"
TARGET_VS_A = 2.0
TARGET_VS_B = 0.7
BASELINE_STREAM = "bench:baseline:clicks"


@dataclass(frozen=True)
class Settings:
    seconds: int
    warmup: int
    threads: int
    connections: int
    workers: int
    blocking_threads: int
    servers: tuple[str, ...]

    @classmethod
    def from_env(cls) -> Settings:
        servers = tuple(s.strip() for s in os.environ.get("BENCH_SERVERS", "a,b,c").split(",") if s.strip())
        unknown = set(servers) - {"a", "b", "c"}
        if unknown or not servers:
            raise HarnessError(f"BENCH_SERVERS must list some of a,b,c (got {sorted(unknown)})")
        return cls(
            seconds=env_int("BENCH_SECONDS", 10),
            warmup=env_int("BENCH_WARMUP", 2),
            threads=env_int("BENCH_THREADS", 2),
            connections=env_int("BENCH_CONNECTIONS", 32),
            workers=env_int("BENCH_WORKERS", 2),
            blocking_threads=env_int("BENCH_BLOCKING_THREADS", 2),
            servers=servers,
        )

    def granian(self, port: int, app: str, interface: str = "wsgi") -> list[str]:
        return granian_argv(self.workers, self.blocking_threads, port, app, interface)

    def wrk(self, url: str, seconds: int) -> WrkResult:
        return wrk(self.threads, self.connections, url, seconds, LUA_SCRIPT)[0]


def settled_xlen(client: redis.Redis, key: str, at_least: int = 0, timeout: float = 10.0) -> int:
    """XLEN once it has stopped moving for half a second (and reached `at_least`, if it will)."""
    deadline = time.monotonic() + timeout
    last = int(client.xlen(key))
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = int(client.xlen(key))
        if now != last:
            last, stable_since = now, time.monotonic()
        elif last >= at_least and time.monotonic() - stable_since >= 0.5:
            break
    return last


# -- the servers ----------------------------------------------------------------------------
@dataclass
class Clicks:
    """XLEN of a click stream around the load, against the 302s wrk received. Requests still in
    flight when wrk stopped may have been served and logged, unseen by wrk: they are the only
    clicks allowed beyond the redirects; a redirect without its click is never allowed."""

    stream: str
    before: int
    after: int
    redirects: int
    in_flight: int
    spooled: int = 0  # clicks the service wrote to its disk spool, not (yet) to Redis

    @property
    def logged(self) -> int:
        return self.after - self.before

    @property
    def ok(self) -> bool:
        return self.redirects <= self.logged <= self.redirects + self.in_flight


@dataclass
class Outcome:
    key: str
    label: str
    result: WrkResult | None = None
    warmup: WrkResult | None = None
    clicks: Clicks | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Target:
    """What a server needs: how to start it and, once it answers, the path of a redirect
    (plus the click stream to account, if any)."""

    label: str
    argv: list[str]
    env: dict[str, str]
    prepare: Callable[[int], str]
    stream: str | None = None
    cwd: Path = ROOT
    spool_dir: Path | None = None


def target_a(settings: Settings, port: int) -> Target:
    argv = [str(VENV_BIN / "gunicorn"), "--workers", str(settings.workers), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "apps:flask_app"]  # fmt: skip
    return Target(f"(a) Flask 302, gunicorn sync x{settings.workers}", argv, base_env(PYTHONPATH=str(BENCH_DIR)),
                  lambda _port: "/bench", cwd=BENCH_DIR)  # fmt: skip


def target_b(settings: Settings, port: int, redis_url: str) -> Target:
    env = base_env(PYTHONPATH=str(BENCH_DIR), BENCH_REDIS_URL=redis_url, BENCH_STREAM=BASELINE_STREAM)
    return Target(f"(b) WSGI XADD+302, granian x{settings.workers}", settings.granian(port, "apps:xadd_app"), env,
                  lambda _port: "/bench", stream=BASELINE_STREAM, cwd=BENCH_DIR)  # fmt: skip


def target_c(settings: Settings, port: int, redis_url: str, tmp: Path) -> Target:
    from tracker.keys import clicks_stream

    env = service_env(redis_url, port, tmp)
    brand_id, api_key = cli_brand(env)
    return Target(
        "(c) ours: tracker.asgi:app, granian x" + str(settings.workers),
        settings.granian(port, "tracker.asgi:app", "asgi"),  # as `tracker web` serves it
        env,
        lambda p: "/" + short_link(http_api(p, api_key)),
        stream=clicks_stream(brand_id),
        spool_dir=Path(env["SPOOL_DIR"]),
    )


def check_redirect(port: int, path: str) -> None:
    status, headers, body = http_request(port, "GET", path, headers={"User-Agent": "Mozilla/5.0 (bench check)"})
    location = headers.get("location", "")
    if status != 302 or "shop.example" not in location:
        raise HarnessError(f"GET {path} answered {status} to {location!r}, not a 302 to the shop: {body[:300]!r}")


def measure(settings: Settings, procs: Procs, key: str, target: Target, port: int, client: redis.Redis) -> Outcome:
    from tracker import spool

    outcome = Outcome(key, target.label)
    proc = procs.start(f"server-{key}", target.argv, target.env, cwd=target.cwd)
    try:
        wait_http(proc, port)
        path = target.prepare(port)
        check_redirect(port, path)
        before = settled_xlen(client, target.stream) if target.stream else 0
        url = f"http://127.0.0.1:{port}{path}"
        outcome.warmup = settings.wrk(url, settings.warmup)
        outcome.result = settings.wrk(url, settings.seconds)
        if proc.popen.poll() is not None:
            raise HarnessError(f"{proc.name} died under load:\n{log_tail(proc)}")
    finally:
        procs.stop(proc)  # a graceful stop lets the requests wrk left in flight finish first
    if target.stream:
        runs = (outcome.warmup, outcome.result)
        redirects = sum(r.status_302 for r in runs)
        in_flight = sum(r.sent - r.requests for r in runs)
        after = settled_xlen(client, target.stream, at_least=before + redirects)
        spooled = sum(spool.counts(target.spool_dir).values()) if target.spool_dir else 0
        outcome.clicks = Clicks(target.stream, before, after, redirects, in_flight, spooled)
    for name, run in (("warm-up", outcome.warmup), ("measured run", outcome.result)):
        assert run is not None
        if run.status_other or any(run.socket_errors.values()):
            outcome.notes.append(
                f"{name}: {run.status_other} non-302 responses "
                f"({run.non_2xx_3xx} non-2xx/3xx), socket errors {run.socket_errors}"
            )
    return outcome


# -- report ---------------------------------------------------------------------------------
def rps_ratio(outcomes: dict[str, Outcome], num: str, den: str, target: float) -> dict[str, Any] | None:
    a, b = outcomes.get(num), outcomes.get(den)
    if not (a and b and a.result and b.result and b.result.rps > 0):
        return None
    return ratio(a.result.rps / b.result.rps, target)


def clicks_line(clicks: Clicks) -> str:
    extra = clicks.logged - clicks.redirects
    line = f"clicks logged: {clicks.logged} of {clicks.redirects} redirects"
    if clicks.ok:
        return f"{line}  OK (+{extra} of the {clicks.in_flight} requests in flight when wrk stopped)"
    if extra < 0:
        spool = f" ({clicks.spooled} in the service's disk spool)" if clicks.spooled else ""
        return f"{line}  MISMATCH: {-extra} CLICKS MISSING from Redis{spool}"
    return f"{line}  MISMATCH: {extra} more clicks than redirects, only {clicks.in_flight} were in flight"


def print_report(settings: Settings, outcomes: dict[str, Outcome], ratios: dict[str, dict[str, Any] | None]) -> None:
    print()
    print(
        f"redirect benchmark: wrk -t{settings.threads} -c{settings.connections} -d{settings.seconds}s "
        f"(after {settings.warmup}s warm-up), loopback, {os.cpu_count()} CPUs"
    )
    print(f"{'server':<42} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'requests':>10} {'non-302':>8}")
    for outcome in outcomes.values():
        r = outcome.result
        if r is None:
            print(f"{outcome.label:<42} FAILED: {(outcome.error or '').splitlines()[0]}")
            continue
        print(
            f"{outcome.label:<42} {r.rps:>10.1f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} {r.requests:>10} {r.status_other:>8}"
        )
    print()
    print(ratio_line("ours/(a)", ratios.get("vs_a")))
    print(ratio_line("ours/(b)", ratios.get("vs_b")))
    print()
    for outcome in outcomes.values():
        for note in outcome.notes:
            print(f"WARNING {outcome.label}: {note}")
        if outcome.clicks is not None:
            line = clicks_line(outcome.clicks)
            if outcome.key == "c":
                print(line if outcome.clicks.ok else f"!!!!!!!! {line} !!!!!!!!")
            else:
                print(f"[baseline (b), harness self-check] {line}")


def results(settings: Settings, outcomes: dict[str, Outcome], ratios: dict[str, Any]) -> dict[str, Any]:
    import granian

    def server(outcome: Outcome) -> dict[str, Any]:
        data: dict[str, Any] = {"label": outcome.label, "error": outcome.error, "notes": outcome.notes}
        for name in ("result", "warmup"):
            run = getattr(outcome, name)
            data[name] = asdict(run) if run else None
        if outcome.clicks:
            data["clicks"] = {**asdict(outcome.clicks), "logged": outcome.clicks.logged, "ok": outcome.clicks.ok}
        if outcome.result:
            data.update(rps=outcome.result.rps, p50_ms=outcome.result.p50_ms, p99_ms=outcome.result.p99_ms)
        return data

    return {
        "settings": {
            **asdict(settings),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "granian": granian.__version__,
        },  # fmt: skip
        "servers": {k: server(o) for k, o in outcomes.items()},
        "ratios": ratios,
    }


# -- main -----------------------------------------------------------------------------------
def run(settings: Settings, procs: Procs) -> int:
    redis_url, client = start_redis(procs)
    outcomes: dict[str, Outcome] = {}
    labels = {
        "a": "(a) Flask 302, gunicorn",
        "b": "(b) WSGI XADD+302, granian",
        "c": "(c) ours: tracker.asgi:app, granian",
    }
    for key in settings.servers:
        port = free_port()
        print(f"bench: server ({key}) on port {port} ...", flush=True)
        try:
            if key == "a":
                target = target_a(settings, port)
            elif key == "b":
                target = target_b(settings, port, redis_url)
            else:
                target = target_c(settings, port, redis_url, procs.tmp)
            outcomes[key] = measure(settings, procs, key, target, port, client)
        except HarnessError as exc:
            outcomes[key] = Outcome(key, labels[key], error=str(exc))
            print(f"bench: server ({key}) FAILED: {exc}", file=sys.stderr, flush=True)
    ratios = {"vs_a": rps_ratio(outcomes, "c", "a", TARGET_VS_A), "vs_b": rps_ratio(outcomes, "c", "b", TARGET_VS_B)}
    print_report(settings, outcomes, ratios)
    write_results("redirect", results(settings, outcomes, ratios))
    if any(o.error for o in outcomes.values()):
        return 2
    ours = outcomes.get("c")
    return 1 if ours is not None and ours.clicks is not None and not ours.clicks.ok else 0


if __name__ == "__main__":
    sys.exit(main(lambda procs: run(Settings.from_env(), procs)))

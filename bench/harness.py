"""What the benchmarks share: their processes (Redis through tracker/embedded.py, servers), settings,
wrk, a brand set up through the real code, report timings, ratios against targets, results files.

Exit codes of every benchmark: 0 measured (targets print PASS/MISS), 1 the code measured failed or
a count is wrong, 2 the harness could not measure.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import redis

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from tracker import embedded  # noqa: E402
from tracker.demo.client import Api, Refused  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
SECRET_KEY = "bench-secret-key-not-for-production"
START_TIMEOUT = 30.0


class HarnessError(Exception):
    """The benchmark could not measure (as opposed to: it measured and a target was missed)."""


class CodeFailed(Exception):
    """The code measured raised (exit 1), not the harness."""


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


def main(body: Callable[[Procs], int]) -> int:
    """What every benchmark's main does: signals end the run cleanly, a temporary folder for its
    processes (BENCH_TMP when run.sh made one), every process stopped at the end; the exit codes."""

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    own_tmp = "BENCH_TMP" not in os.environ
    tmp = Path(os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="tracker-bench."))
    procs = Procs(tmp)
    try:
        return body(procs)
    except CodeFailed as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except (HarnessError, Refused) as exc:
        print(f"bench: harness failure: {exc}", file=sys.stderr)
        return 2
    except (redis.RedisError, OSError) as exc:
        print(f"bench: harness failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


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

    def adopt(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> Proc:
        proc = Proc(name, popen, log)
        self.running.append(proc)
        self.pidfile.write_text("".join(f"{p.popen.pid}\n" for p in self.running))
        return proc

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        return self.adopt(name, popen, log)

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
        while _group_alive(proc.popen.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(proc.popen.pid):
            try:
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.popen.poll() is None:
            proc.popen.wait(5)
        if proc in self.running:
            self.running.remove(proc)
            self.pidfile.write_text("".join(f"{p.popen.pid}\n" for p in self.running))

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)

    def redis(self, cluster: bool = False) -> tuple[int, Proc]:
        """A redis-server of tracker/embedded.py on a free port (a cluster node: its bus port free
        too), AOF as BENCH_APPENDFSYNC says; its port and process."""
        mode = os.environ.get("BENCH_APPENDFSYNC", "").strip() or "everysec"
        if mode not in ("no", "everysec", "always"):
            raise HarnessError(f"BENCH_APPENDFSYNC must be no, everysec or always (got {mode!r})")
        port = free_port()
        while cluster and not (port + 10000 <= 65535 and embedded.port_free(port + 10000)):
            port = free_port()
        data = self.tmp / f"redis-{port}"
        try:
            popen = embedded.start(port, str(data), persist=mode != "no", cluster=cluster, appendfsync=mode)
        except RuntimeError as exc:
            raise HarnessError(str(exc)) from exc
        return port, self.adopt(f"redis-{port}", popen, data / "redis-server.log")


def _group_alive(pgid: int) -> bool:
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


def start_redis(procs: Procs) -> tuple[str, redis.Redis]:
    """A standalone Redis for the run: its URL and a client."""
    port, _ = procs.redis()
    url = f"redis://127.0.0.1:{port}/0"
    return url, redis.Redis.from_url(url, socket_timeout=5)


def base_env(**extra: str) -> dict[str, str]:
    """The caller's environment without server tuning that would make the comparison unfair."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GRANIAN_") and k not in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY")}  # fmt: skip
    return env | extra


# -- servers over HTTP ----------------------------------------------------------------------
def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One request on a connection of its own: (status, headers in lower case, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
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


def granian_argv(workers: int, blocking_threads: int, port: int, app: str, interface: str = "wsgi") -> list[str]:
    """granian with the service's settings (`tracker web`): `workers` processes, loopback."""
    argv = [str(VENV_BIN / "granian"), "--interface", interface, "--workers", str(workers)]
    if interface == "wsgi":  # granian refuses more than one blocking thread on ASGI
        argv += ["--blocking-threads", str(blocking_threads)]
    if _granian_has_no_ws():
        argv.append("--no-ws")
    return [*argv, "--host", "127.0.0.1", "--port", str(port), app]


@cache
def _granian_has_no_ws() -> bool:
    out = subprocess.run([str(VENV_BIN / "granian"), "--help"], capture_output=True, text=True, check=False)
    return "--no-ws" in out.stdout


def service_env(redis_url: str, port: int, tmp: Path) -> dict[str, str]:
    """The service's settings for a server on `port` (`tracker.asgi:app`, as `tracker web` serves it)."""
    return base_env(REDIS_URL=redis_url, QUEUE_REDIS_URL=redis_url, SECRET_KEY=SECRET_KEY,
                    BASE_URL=f"http://127.0.0.1:{port}", SPOOL_DIR=str(tmp / "spool"))  # fmt: skip


def cli_brand(env: dict[str, str], name: str = "Bench") -> tuple[str, str]:
    """(brand id, API key) from `tracker brand create <name> --json`."""
    argv = [str(VENV_BIN / "tracker"), "brand", "create", name, "--json"]
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


def http_api(port: int, key: str) -> Api:
    """The brand's API on the server at `port`."""
    return Api(lambda method, path, body, headers: http_request(port, method, path, body, headers), key)


# -- wrk ------------------------------------------------------------------------------------
@dataclass
class WrkResult:
    requests: int  # responses wrk received
    sent: int  # requests wrk sent; the difference was in flight when it stopped
    rps: float
    p50_ms: float
    p99_ms: float
    status_302: int  # responses of the expected kind (302; bench/webhook.lua: below 400)
    status_other: int
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    duration_s: float


def wrk(
    threads: int, connections: int, url: str, seconds: int, script: Path, *script_args: str
) -> tuple[WrkResult, str]:
    """One wrk run (latency on, a Lua script that prints `BENCH requests= status= p50_us= p99_us=
    duration_us=`): its figures and its output."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    if script_args:
        argv += ["--", *script_args]
    if shutil.which("wrk") is None:
        raise HarnessError("wrk is not installed (apt-get install wrk)")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"wrk failed: {exc}") from exc
    if done.returncode != 0:
        raise HarnessError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return _parse_wrk(done.stdout, connections), done.stdout + done.stderr


def _parse_wrk(text: str, connections: int) -> WrkResult:
    summary = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", text, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    lua = re.search(r"^BENCH (.+)$", text, re.M)
    if not (summary and rps and lua):
        raise HarnessError(f"could not parse wrk output:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    names = ("connect", "read", "write", "timeout")
    errors = dict(zip(names, map(int, sock.groups()), strict=True)) if sock else dict.fromkeys(names, 0)
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


# -- a brand through the real code ----------------------------------------------------------
@dataclass(frozen=True)
class Link:
    link_id: str
    code: str
    promotion_id: str
    discount_code: str
    weight: float


@dataclass
class Brand:
    """A brand, its API (in process or over HTTP) and the links made through it."""

    record: dict[str, Any]
    api: Api
    links: list[Link]

    @property
    def id(self) -> str:
        return str(self.record["id"])


def in_process(url: str, procs: Procs, **config: Any) -> Any:
    """The service's Flask app in this process on Redis `url`, and the worker context for the jobs
    run here (roll-ups); `config` on top."""
    import workers
    from tracker import create_app

    settings = {"REDIS_URL": url, "QUEUE_REDIS_URL": url, "SECRET_KEY": SECRET_KEY,
                "SPOOL_DIR": str(procs.tmp / "spool"), "ARCHIVE_DIR": str(procs.tmp / "archive"), **config}  # fmt: skip
    workers.start(settings)
    return create_app({**settings, "TESTING": True})


def new_brand(app: Any, name: str) -> Brand:
    """A brand made by `create_brand`, its API through the app's test client."""
    from tracker.brands.model import create_brand
    from tracker.demo.client import in_process as through

    record, key = create_brand(app.extensions["redis"], name, "USD")
    return Brand(record, Api(through(app.test_client()), key), [])


def campaign(api: Api, name: str, slug: str, destination: str, starts_on: str) -> str:
    body = {"name": name, "slug": slug, "destination_url": destination, "starts_on": starts_on}
    return str(api("POST", "/campaigns", body)["id"])


def promote(
    api: Api, campaign_id: str, handle: str, followers: int, *, platform: str = "instagram",
    style: str = "long_running", posted_at: str = "2026-01-02T00:00:00Z", cost: dict[str, Any] | None = None,
    code: str = "", weight: float = 1.0,
) -> Link:  # fmt: skip
    """An influencer, their promotion in the campaign (with discount `code`, if any) and its link."""
    influencer = api("POST", "/influencers", {"handle": handle, "platform": platform, "followers": followers})
    body: dict[str, Any] = {"campaign_id": campaign_id, "influencer_id": influencer["id"], "style": style,
                            "posted_at": posted_at}  # fmt: skip
    if cost:
        body["cost"] = cost
    if code:
        body["discount_codes"] = [code]
    promotion = api("POST", "/promotions", body)
    link = api("POST", "/links", {"promotion_id": promotion["id"]})
    return Link(str(link["id"]), str(link["code"]), str(promotion["id"]), code, weight)


def short_link(api: Api, tag: str = "bench", destination: str = "https://shop.example/p?x=1", code: str = "") -> str:
    """A real short link (influencer, campaign, promotion, link) through the API; its code.
    `tag` names them all ('bench-hooks': handle bench_hooks, campaign 'Bench hooks')."""
    campaign_id = campaign(api, tag.replace("-", " ").capitalize(), tag, destination, "2026-01-01")
    return promote(api, campaign_id, tag.replace("-", "_"), 50000, code=code).code


# -- measurements and results ---------------------------------------------------------------
@dataclass
class Latency:
    path: str
    calls: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    cpu_median_ms: float  # this process's CPU time: less sensitive to a busy machine than wall time
    response_bytes: int


def time_report(api: Api, path: str, calls: int) -> Latency:
    """GET `path` of the brand's API `calls` times after two warm-up calls (first-request costs are
    not the report's); each must answer 200."""
    times, cpu, size = [], [], 0
    for n in range(calls + 2):
        started, started_cpu = time.perf_counter(), time.process_time()
        status, body = api.raw("GET", path)
        if n >= 2:
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        if status != 200:
            raise HarnessError(f"GET {path} answered {status}: {body[:500]!r}")
        size = len(body)
    times.sort()
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    return Latency(path, calls, round(statistics.median(times), 2), round(p90, 2), round(times[0], 2),
                   round(times[-1], 2), round(statistics.median(cpu), 2), size)  # fmt: skip


def ratio(value: float, target: float, at_most: bool = False) -> dict[str, Any]:
    """A measured ratio against its target (at least, or at most, the target)."""
    return {"value": round(value, 3), "target": target, "pass": value <= target if at_most else value >= target}


def ratio_line(name: str, item: dict[str, Any] | None, digits: int = 2, at_most: bool = False) -> str:
    """`name = 0.87  (target >= 0.5)  PASS`, or `name: n/a` when it could not be measured."""
    if item is None:
        return f"{name}: n/a"
    verdict = "PASS" if item["pass"] else "MISS"
    return f"{name} = {item['value']:.{digits}f}  (target {'<=' if at_most else '>='} {item['target']})  {verdict}"


def code_state() -> dict[str, Any]:
    """The commit measured and the measured code's uncommitted changes (workers/ and tracker/)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "workers", "tracker")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": [line[3:] for line in changed.splitlines()]}


def write_results(name: str, payload: dict[str, Any]) -> None:
    """bench/results/<name>.json, stamped with the time."""
    path = BENCH_DIR / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **payload},
                               indent=2) + "\n")  # fmt: skip
    print(f"\nwrote {path.relative_to(ROOT)}")

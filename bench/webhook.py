"""Webhook benchmark driver (`make bench-webhook` -> `bench/run.sh webhook` -> this).

Signed-webhook ingestion of the service against a hello-world POST, in the same run, both under
the service's granian settings and loaded by wrk on loopback with the same script and requests:
  (base) bench/webhook_apps.py:hello_app, Flask, `POST /webhooks/<brand>/<source>` -> 200 {"status": "ok"};
  (ours) `tracker.asgi:app` as `tracker web` serves it (ASGI; order requests on the bridge's
         threads), the generic webhook of a brand set up through the CLI and the JSON API, each
         order fsync'd in the journal (SPOOL_DIR in the run's temporary directory, on the same disk
         as the checkout) before its 200, Redis with the AOF as `tracker run` has it (everysec).
Every request is a different order (a repeat would take the cheaper duplicate path), signed with
the brand's generic secret and carrying one of a few hundred real click ids, so that orders are
attributed by click id like real traffic. The requests are generated in Python right before the
runs (signatures have a 5-minute tolerance) and replayed by bench/webhook.lua.

Afterwards every 200 of ours must be a conversion in Redis (plus at most the requests wrk had in
flight when it stopped), no response may be >= 400, and every conversion must be attributed.
Prints req/s, p50 and p99, ours/baseline against its target; writes bench/results/webhook.json.

Environment: BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_THREADS (2), BENCH_CONNECTIONS (32),
BENCH_WORKERS (2), BENCH_BLOCKING_THREADS (2), BENCH_CLICKS (300 click ids), BENCH_REQUESTS
(size of the measured request set; default: 2 x the baseline's warm-up rate x BENCH_SECONDS),
BENCH_WARMUP_RATE (30000: requests per warm-up second generated), BENCH_APPENDFSYNC (everysec, the
default and what the product runs; no or always: see bench/redirect.py), BENCH_JOURNAL (disk, the
default; tmpfs: SPOOL_DIR on /dev/shm, where fsync costs nothing, to measure what the journal's
fsyncs cost; never the product's setting). Exit 0 whatever the ratio
(PASS/MISS is printed), 1 on an accounting mismatch, 2 on harness failure.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from harness import (
    BENCH_DIR,
    ROOT,
    HarnessError,
    Proc,
    Procs,
    WrkResult,
    base_env,
    cli_brand,
    env_int,
    free_port,
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
from redirect import Settings

from tracker.demo.client import click_id
from tracker.demo.traffic import order_payload, signature, signed

LUA_SCRIPT = BENCH_DIR / "webhook.lua"
TARGET = 0.5
MARGIN = 2.0  # the measured set holds this many times what the baseline's warm-up rate needs
MIN_REQUESTS = 20_000
SOURCE = "generic"
AMOUNT = 4990
CURRENCY = "USD"


@dataclass(frozen=True)
class Options:
    clicks: int
    requests: int | None
    warmup_rate: int

    @classmethod
    def from_env(cls) -> Options:
        return cls(
            clicks=env_int("BENCH_CLICKS", 300),
            requests=env_int("BENCH_REQUESTS", 1) if os.environ.get("BENCH_REQUESTS", "").strip() else None,
            warmup_rate=env_int("BENCH_WARMUP_RATE", 30_000),
        )


def settings_from_env() -> Settings:
    return Settings(
        seconds=env_int("BENCH_SECONDS", 10),
        warmup=env_int("BENCH_WARMUP", 2),
        threads=env_int("BENCH_THREADS", 2),
        connections=env_int("BENCH_CONNECTIONS", 32),
        workers=env_int("BENCH_WORKERS", 2),
        blocking_threads=env_int("BENCH_BLOCKING_THREADS", 2),
        servers=("base", "ours"),
    )


def journal_mode() -> str:
    """BENCH_JOURNAL: disk (the default: SPOOL_DIR in the run's directory) or tmpfs (/dev/shm)."""
    mode = os.environ.get("BENCH_JOURNAL", "").strip() or "disk"
    if mode not in ("disk", "tmpfs"):
        raise HarnessError(f"BENCH_JOURNAL must be disk or tmpfs (got {mode!r})")
    return mode


def ours_argv(settings: Settings, port: int) -> list[str]:
    """The service as `tracker web` serves it: granian's ASGI interface, tracker.asgi:app."""
    return settings.granian(port, "tracker.asgi:app", "asgi")


def tolerance_seconds() -> int:
    from tracker.webhooks.signatures import TOLERANCE_SECONDS

    return int(TOLERANCE_SECONDS)


# -- setup through the real interfaces ------------------------------------------------------
@dataclass(frozen=True)
class Brand:
    id: str
    api_key: str
    secret: str
    click_ids: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/webhooks/{self.id}/{SOURCE}"


def real_click(port: int, code: str) -> str:
    """A real click: GET /<code>, the `tid` of the Location (redirects not followed)."""
    status, headers, _ = http_request(port, "GET", f"/{code}", headers={"User-Agent": "Mozilla/5.0 (bench webhook)"})
    if status != 302:
        raise HarnessError(f"GET /{code} answered {status} to {headers.get('location')!r}, not a 302 with a tid")
    return click_id(headers.get("location", ""))


def set_up_brand(port: int, brand_id: str, api_key: str, clicks: int) -> Brand:
    """Influencer, campaign, promotion and link through the JSON API, a generic webhook secret,
    and `clicks` distinct click ids from real redirects."""
    api = http_api(port, api_key)
    code = short_link(api, "bench-hooks", "https://shop.example/p", "BENCH10")
    secret = str(api("POST", f"/integrations/{SOURCE}/secrets", {})["secret"])
    tids = tuple(dict.fromkeys(real_click(port, code) for _ in range(clicks)))
    if len(tids) != clicks:
        raise HarnessError(f"{clicks} redirects gave only {len(tids)} distinct click ids")
    return Brand(brand_id, api_key, secret, tids)


# -- signed requests ------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestSet:
    """`count` signed webhooks split into one file per wrk thread: <prefix>.<i>.txt (1-based)."""

    prefix: Path
    count: int
    signed_at: int  # the `t` of every signature

    def expires_at(self, tolerance: int) -> float:
        return self.signed_at + tolerance


def write_requests(prefix: Path, brand: Brand, count: int, slices: int) -> RequestSet:
    """One line per request, "<X-Signature>\\t<body>", in the order wrk sends them; each order id
    is unique across the run (the prefix's name is part of it)."""
    t = int(time.time())
    occurred_at = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = f"{prefix.name}-{secrets.token_hex(3)}"
    files = [open(f"{prefix}.{i}.txt", "w", encoding="utf-8") for i in range(1, slices + 1)]
    try:
        for n in range(count):
            payload = order_payload(f"{run}-{n:07d}", AMOUNT, CURRENCY, occurred_at=occurred_at,
                                    click_id=brand.click_ids[n % len(brand.click_ids)])  # fmt: skip
            body = json.dumps(payload, separators=(",", ":"))
            files[n % slices].write(f"{signature(brand.secret, t, body.encode())}\t{body}\n")
    finally:
        for file in files:
            file.close()
    return RequestSet(prefix, count, t)


def signed_post(port: int, brand: Brand, order_id: str) -> tuple[int, dict[str, Any]]:
    """One webhook outside the load, on a connection of its own."""
    occurred_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = order_payload(order_id, AMOUNT, CURRENCY, occurred_at=occurred_at, click_id=brand.click_ids[0])
    status, _, raw = http_request(port, "POST", brand.path, *signed(brand.secret, payload))
    try:
        data = json.loads(raw)
    except ValueError:
        data = {"raw": raw[:300].decode(errors="replace")}
    return status, data if isinstance(data, dict) else {"raw": data}


# -- wrk ------------------------------------------------------------------------------------
@dataclass
class Load:
    """One wrk run of a request set: wrk's figures plus what the script counted."""

    wrk: WrkResult
    issued: int  # request() calls (see bench/webhook.lua)
    loaded: int  # requests the threads had
    connections: int

    @property
    def ok(self) -> int:
        """Responses below 400 (both servers answer 200 or an error)."""
        return self.wrk.status_302

    @property
    def errors(self) -> int:
        return self.wrk.status_other

    @property
    def in_flight(self) -> int:
        """Requests that may have been served unseen by wrk: at most one per connection, and no
        more than the script handed out beyond the responses (which counts wrk's one unsent
        check of request() on its first thread, hence the cap)."""
        return max(0, min(self.issued - self.wrk.requests, self.connections))

    def as_dict(self) -> dict[str, Any]:
        w = self.wrk
        return {"requests": w.requests, "ok": self.ok, "status_ge_400": self.errors, "issued": self.issued,
                "in_flight": self.in_flight, "loaded": self.loaded, "rps": w.rps, "p50_ms": w.p50_ms,
                "p99_ms": w.p99_ms, "socket_errors": w.socket_errors, "duration_s": w.duration_s}  # fmt: skip


def run_wrk(settings: Settings, url: str, seconds: int, requests: RequestSet, tolerance: int) -> Load:
    if time.time() + seconds + 5 > requests.expires_at(tolerance):
        raise HarnessError(
            f"the requests signed at {requests.signed_at} would expire during the run "
            f"(signature tolerance {tolerance}s); lower BENCH_SECONDS"
        )
    result, output = wrk(settings.threads, settings.connections, url, seconds, LUA_SCRIPT, str(requests.prefix))
    extra = re.search(r"issued=(\d+) loaded=(\d+) exhausted=(\d+)", output)
    if not extra:
        raise HarnessError(f"no request counts in wrk's output:\n{output}")
    issued, loaded, exhausted = map(int, extra.groups())
    if loaded != requests.count:
        raise HarnessError(f"wrk's threads loaded {loaded} of {requests.count} requests:\n{output}")
    if exhausted:
        raise HarnessError(
            f"{exhausted} wrk thread(s) ran out of requests ({requests.count} for {seconds}s); "
            "set BENCH_REQUESTS (measured run) or BENCH_WARMUP_RATE (warm-up) higher"
        )
    return Load(result, issued, loaded, settings.connections)


# -- the two servers ------------------------------------------------------------------------
@dataclass
class Outcome:
    key: str
    label: str
    warmup: Load | None = None
    result: Load | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def start_server(procs: Procs, name: str, argv: list[str], env: dict[str, str], port: int, cwd: Path) -> Proc:
    proc = procs.start(name, argv, env, cwd=cwd)
    wait_http(proc, port)
    return proc


def check_baseline(port: int, brand: Brand) -> None:
    status, data = signed_post(port, brand, "check-baseline")
    if status != 200 or data != {"status": "ok"}:
        raise HarnessError(f"the baseline answered {status} {data}, not 200 {{'status': 'ok'}}")


def check_ours(port: int, brand: Brand) -> None:
    """One signed order before the load: recorded, and attributed by its click id."""
    status, data = signed_post(port, brand, "check-ours")
    events = data.get("events") or [{}]
    if status != 200 or events[0].get("outcome") != "recorded":
        raise HarnessError(f"a signed webhook answered {status}: {data}")
    status, body = http_api(port, brand.api_key).raw("GET", f"/conversions/{events[0]['conversion_id']}")
    attribution = json.loads(body).get("attribution", {}) if status == 200 else {}
    if attribution.get("status") != "attributed" or attribution.get("matched_by") != "click_id":
        raise HarnessError(f"the check order was not attributed by click id: {status} {body[:500]!r}")


def check_alive(proc: Proc) -> None:
    if proc.popen.poll() is not None:
        raise HarnessError(f"{proc.name} died under load:\n{log_tail(proc)}")


def notes_of(outcome: Outcome) -> None:
    for name, run in (("warm-up", outcome.warmup), ("measured run", outcome.result)):
        if run is not None and (run.errors or any(run.wrk.socket_errors.values())):
            outcome.notes.append(f"{name}: {run.errors} responses >= 400, socket errors {run.wrk.socket_errors}")


# -- accounting -----------------------------------------------------------------------------
@dataclass
class Accounting:
    """HLEN of the brand's conversions around the load against the 200s wrk received; the
    conversions stream's order events after the load began, by attribution status."""

    before: int
    after: int
    ok_responses: int
    error_responses: int
    in_flight: int
    stream_orders: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return self.after - self.before

    @property
    def attributed(self) -> int:
        return self.statuses.get("attributed", 0)

    @property
    def counts_ok(self) -> bool:
        return self.error_responses == 0 and self.ok_responses <= self.stored <= self.ok_responses + self.in_flight

    @property
    def attribution_ok(self) -> bool:
        return self.stream_orders == self.stored and self.attributed == self.stored

    @property
    def ok(self) -> bool:
        return self.counts_ok and self.attribution_ok


def stream_tail(client: redis.Redis, stream: str) -> str:
    last = client.xrevrange(stream, count=1)
    return last[0][0].decode() if last else "0-0"


def scan_stream(client: redis.Redis, stream: str, after_id: str, acc: Accounting, chunk: int = 10_000) -> None:
    start = f"({after_id}"
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    while True:
        entries = client.xrange(stream, min=start, count=chunk)
        for _id, fields in entries:
            if fields.get(b"kind") != b"order":
                continue
            status = fields.get(b"status", b"").decode()
            statuses[status] += 1
            if status != "attributed":
                reasons[fields.get(b"reason", b"").decode()] += 1
        if len(entries) < chunk:
            break
        start = f"({entries[-1][0].decode()}"
    acc.stream_orders = sum(statuses.values())
    acc.statuses = dict(statuses)
    acc.reasons = dict(reasons)


# -- report ---------------------------------------------------------------------------------
def ratio_of(outcomes: dict[str, Outcome]) -> dict[str, Any] | None:
    ours, base = outcomes["ours"].result, outcomes["base"].result
    if ours is None or base is None or base.wrk.rps <= 0:
        return None
    return ratio(ours.wrk.rps / base.wrk.rps, TARGET)


def accounting_lines(acc: Accounting) -> list[str]:
    extra = acc.stored - acc.ok_responses
    line = f"conversions stored: {acc.stored} for {acc.ok_responses} 200s, {acc.error_responses} responses >= 400"
    if acc.counts_ok:
        line += f"  OK (+{extra} of the {acc.in_flight} requests in flight when wrk stopped)"
    elif acc.error_responses:
        line = f"!!!!!!!! {line}  MISMATCH: responses >= 400 !!!!!!!!"
    elif extra < 0:
        line = f"!!!!!!!! {line}  MISMATCH: {-extra} ANSWERED 200 BUT NOT STORED !!!!!!!!"
    else:
        line = f"!!!!!!!! {line}  MISMATCH: {extra} more than the 200s, only {acc.in_flight} were in flight !!!!!!!!"
    others = ", ".join(f"{n} {reason or '?'}" for reason, n in sorted(acc.reasons.items()))
    unattributed = f"{acc.stream_orders - acc.attributed} not" + (f" ({others})" if others else "")
    attribution = (
        f"attribution (conversions stream): {acc.attributed} attributed, {unattributed}, "
        f"of {acc.stream_orders} order events"
    )
    if acc.attribution_ok:
        attribution += "  OK"
    else:
        attribution = f"!!!!!!!! {attribution}  MISMATCH (expected {acc.stored}, all attributed) !!!!!!!!"
    return [line, attribution]


def print_report(
    settings: Settings, outcomes: dict[str, Outcome], ratio: dict[str, Any] | None, acc: Accounting | None
) -> None:
    print()
    print(
        f"webhook benchmark: wrk -t{settings.threads} -c{settings.connections} -d{settings.seconds}s "
        f"(after {settings.warmup}s warm-up), loopback, {os.cpu_count()} CPUs, every request a new signed order"
    )
    print(f"{'server':<42} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'requests':>10} {'>=400':>7} {'sock err':>8}")
    for outcome in outcomes.values():
        r = outcome.result
        if r is None:
            reason = (outcome.error or "not run").splitlines()[0]
            print(f"{outcome.label:<42} FAILED: {reason}")
            continue
        sock = sum(r.wrk.socket_errors.values())
        print(
            f"{outcome.label:<42} {r.wrk.rps:>10.1f} {r.wrk.p50_ms:>9.2f} {r.wrk.p99_ms:>9.2f} "
            f"{r.wrk.requests:>10} {r.errors:>7} {sock:>8}"
        )
    print()
    print(ratio_line("ours/baseline", ratio))
    print()
    for outcome in outcomes.values():
        for note in outcome.notes:
            print(f"WARNING {outcome.label}: {note}")
    if acc is not None:
        print("\n".join(accounting_lines(acc)))


def results(
    settings: Settings,
    options: Options,
    outcomes: dict[str, Outcome],
    ratio: dict[str, Any] | None,
    acc: Accounting | None,
    sets: dict[str, RequestSet],
) -> dict[str, Any]:
    import granian

    def server(outcome: Outcome) -> dict[str, Any]:
        data: dict[str, Any] = {"label": outcome.label, "error": outcome.error, "notes": outcome.notes}
        for name in ("result", "warmup"):
            run = getattr(outcome, name)
            data[name] = run.as_dict() if run else None
        if outcome.result:
            r = outcome.result.wrk
            data.update(rps=r.rps, p50_ms=r.p50_ms, p99_ms=r.p99_ms)
        return data

    return {
        "settings": {
            **{k: v for k, v in asdict(settings).items() if k != "servers"},
            **asdict(options),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "granian": granian.__version__,
        },
        "request_sets": {name: {"count": s.count, "signed_at": s.signed_at} for name, s in sets.items()},
        "servers": {k: server(o) for k, o in outcomes.items()},
        "ratio": ratio,
        "accounting": None
        if acc is None
        else {
            **asdict(acc),
            "stored": acc.stored,
            "attributed": acc.attributed,
            "counts_ok": acc.counts_ok,
            "attribution_ok": acc.attribution_ok,
            "ok": acc.ok,
        },
    }


# -- main -----------------------------------------------------------------------------------
def run(settings: Settings, options: Options, procs: Procs) -> int:
    from tracker import keys

    tolerance = tolerance_seconds()
    journal = journal_mode()
    redis_url, client = start_redis(procs)

    port = free_port()
    print(f"bench: setting up a brand through the CLI and the API (port {port}) ...", flush=True)
    env = service_env(redis_url, port, procs.tmp)
    brand_id, api_key = cli_brand(env)
    proc = start_server(procs, "ours-setup", ours_argv(settings, port), env, port, ROOT)
    try:
        brand = set_up_brand(port, brand_id, api_key, options.clicks)
        check_ours(port, brand)
    finally:
        procs.stop(proc)
    conversions, stream = keys.conversions(brand_id), keys.conversions_stream(brand_id)

    workers = f"granian x{settings.workers}"
    outcomes = {
        "base": Outcome("base", f"baseline: Flask hello POST, {workers}"),
        "ours": Outcome("ours", f"ours: tracker.asgi:app, journal on {journal}, {workers}"),
    }
    warmup_count = settings.warmup * options.warmup_rate
    sets = {"warmup": write_requests(procs.tmp / "warmup", brand, warmup_count, settings.threads)}
    acc: Accounting | None = None
    current = outcomes["base"]
    try:
        port = free_port()
        print(f"bench: baseline on port {port} ...", flush=True)
        env = base_env(PYTHONPATH=str(BENCH_DIR))
        proc = start_server(procs, "base", settings.granian(port, "webhook_apps:hello_app"), env, port, BENCH_DIR)
        try:
            check_baseline(port, brand)
            url = f"http://127.0.0.1:{port}{brand.path}"
            current.warmup = run_wrk(settings, url, settings.warmup, sets["warmup"], tolerance)
            count = options.requests or max(MIN_REQUESTS, int(current.warmup.wrk.rps * settings.seconds * MARGIN))
            sets["measured"] = write_requests(procs.tmp / "measured", brand, count, settings.threads)
            current.result = run_wrk(settings, url, settings.seconds, sets["measured"], tolerance)
            check_alive(proc)
        finally:
            procs.stop(proc)

        current = outcomes["ours"]
        port = free_port()
        print(f"bench: ours on port {port} ...", flush=True)
        env = service_env(redis_url, port, procs.tmp)
        if journal == "tmpfs":
            env["SPOOL_DIR"] = tempfile.mkdtemp(prefix="tracker-bench-journal.", dir="/dev/shm")
            atexit.register(shutil.rmtree, env["SPOOL_DIR"], True)
        proc = start_server(procs, "ours", ours_argv(settings, port), env, port, ROOT)
        before, tail = int(client.hlen(conversions)), stream_tail(client, stream)
        try:
            url = f"http://127.0.0.1:{port}{brand.path}"
            current.warmup = run_wrk(settings, url, settings.warmup, sets["warmup"], tolerance)
            current.result = run_wrk(settings, url, settings.seconds, sets["measured"], tolerance)
            check_alive(proc)
        finally:
            procs.stop(proc)  # a graceful stop lets the requests wrk left in flight finish first
        runs = (current.warmup, current.result)
        acc = Accounting(
            before=before,
            after=int(client.hlen(conversions)),
            ok_responses=sum(r.ok for r in runs),
            error_responses=sum(r.errors for r in runs),
            in_flight=sum(r.in_flight for r in runs),
        )
        scan_stream(client, stream, tail, acc)
    except HarnessError as exc:
        current.error = str(exc)
        print(f"bench: {current.label} FAILED: {exc}", file=sys.stderr, flush=True)
    for outcome in outcomes.values():
        notes_of(outcome)
    ratio = ratio_of(outcomes)
    print_report(settings, outcomes, ratio, acc)
    write_results("webhook", results(settings, options, outcomes, ratio, acc, sets))
    if any(o.error for o in outcomes.values()):
        return 2
    return 0 if acc is not None and acc.ok else 1


if __name__ == "__main__":
    sys.exit(main(lambda procs: run(settings_from_env(), Options.from_env(), procs)))

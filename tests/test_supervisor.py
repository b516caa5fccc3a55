"""`tracker run` supervises: real children SIGKILLed under load come back, and every 302 is counted once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from tests.conftest import Api, free_port, wait_answering, wait_for
from tracker import embedded
from workers import archive

pytestmark = pytest.mark.slow

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def start_run(tmp: Path, *args: str, **env: str) -> tuple[subprocess.Popen, int, int]:
    port, redis_port = free_port(), free_port()
    environ = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    # Its output goes to a file: a pipe read only at the end fills up, and then every process of
    # the service blocks on its next log line (a redirect included).
    log = tmp / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "run", "--port", str(port), "--redis-port", str(redis_port),
             "--data-dir", str(tmp / "var"), *args],
            env={**environ, **env}, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    proc.log = log  # type: ignore[attr-defined]
    return proc, port, redis_port


def output(proc: subprocess.Popen) -> str:
    return proc.log.read_text(errors="replace")  # type: ignore[attr-defined]


def stop_run(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
        return output(proc)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError(f"tracker run did not stop:\n{output(proc)[-3000:]}") from None


@dataclass
class Service:
    proc: subprocess.Popen
    base: str
    redis_port: int
    api: Api
    output: list[str] = field(default_factory=list)

    def child(self, kind: str) -> int:
        """The pid of one child of `tracker run`: redis, web (granian's master), worker, scheduler."""
        mark = {"redis": "redis-server", "web": "granian"}.get(kind, f"tracker {kind}")
        found = [pid for pid in children(self.proc.pid) if mark in cmdline(pid)]
        assert len(found) <= 1, found
        return found[0] if found else 0

    def web_workers(self) -> list[int]:
        return children(self.child("web"))


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("run")
    proc, port, redis_port = start_run(
        tmp, "--workers", "2", "--restart-delay", "0.2", ROLLUP_INTERVAL_SECONDS="1", CLAIM_IDLE_SECONDS="1"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(proc, f"{base}/readyz", 30, lambda: output(proc))
        created = subprocess.run(
            [sys.executable, "-m", "tracker", "brand", "create", "Supervised", "--json"],
            env={**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        api = Api(base, {"id": json.loads(created.stdout)["id"]}, json.loads(created.stdout)["api_key"])
        service = Service(proc, base, redis_port, api)
        yield service
    finally:
        out = stop_run(proc)
        if "service" in locals():
            service.output.append(out)
            service.api.http.close()


def test_the_embedded_redis_keeps_an_aof_and_orders_are_fsynced_in_the_journal_before_their_200(service):
    """Every write is in Redis's AOF (fsync'd each second: a dead process loses nothing); what a 2xx
    acknowledges for an order is also fsync'd in the journal under the data dir before the answer."""
    from tests.platforms import generic_order

    r = redis.Redis(port=service.redis_port)
    try:
        assert r.config_get("append*") == {
            "appendonly": "yes",
            "appendfsync": "everysec",
            "appendfilename": "appendonly.aof",
        }
        spool = Path(r.config_get("dir")["dir"]).parent / "spool"  # --data-dir's redis/ and spool/
    finally:
        r.close()
    assert embedded.APPENDFSYNC == "everysec"
    secret = service.api.create("/integrations/generic/secrets")["secret"]
    order_id = f"journaled-{time.time_ns()}"
    body, headers = generic_order(secret, order_id=order_id, amount=1250, currency="USD")
    resp = requests.post(f"{service.base}/webhooks/{service.api.brand['id']}/generic", data=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["events"][0]["outcome"] == "recorded", resp.text
    journaled = [line for path in spool.glob("orders-*.jsonl") for line in path.read_text().splitlines()]
    assert any(f'"order_id":"{order_id}"' in line for line in journaled), journaled[-3:]


class Load:
    """Redirects of one link as fast as one thread goes; keeps the click id of every 302."""

    def __init__(self, base: str, code: str):
        self.url = f"{base}/{code}"
        self.tids: list[str] = []
        self.failed = 0  # cut without an answer (a web worker killed mid-request): the click may be logged
        self.timeouts = 0  # of which no answer within 5 s
        self.slowest = 0.0  # seconds, of the answered redirects
        self.errors: list[str] = []  # what cut them
        self.other: list[int] = []  # answers that are not 302
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with requests.Session() as s:
            s.headers["User-Agent"] = BROWSER
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    resp = s.get(self.url, allow_redirects=False, timeout=5)
                except requests.ConnectionError as exc:
                    if "Connection refused" not in str(exc):  # refused: it never reached the service
                        self.failed += 1
                        self.errors.append(str(exc)[:200])
                    continue
                except requests.Timeout:  # held by a process as it was killed: its click may be logged
                    self.failed += 1
                    self.timeouts += 1
                    continue
                self.slowest = max(self.slowest, time.monotonic() - started)
                if resp.status_code == 302:
                    self.tids.append(resp.headers["Location"].split("tid=")[1])
                else:
                    self.other.append(resp.status_code)

    def answered_since(self, count: int, more: int = 20) -> Callable[[], bool]:
        return lambda: len(self.tids) >= count + more


def test_each_child_sigkilled_under_load_comes_back_and_every_302_is_counted_once(service):
    api = service.api
    link = api.link()
    load = Load(service.base, link["code"])
    load.thread.start()
    try:
        wait_for("redirects under load", load.answered_since(0, 200), 20)
        victims = {
            "redis": lambda: service.child("redis"),
            "worker": lambda: service.child("worker"),
            "scheduler": lambda: service.child("scheduler"),
            "one granian worker": lambda: service.web_workers()[0],
            "granian's master": lambda: service.child("web"),
        }
        for name, find in victims.items():
            pid = find()
            assert pid, f"no {name} among {[cmdline(p) for p in children(service.proc.pid)]}"
            served = len(load.tids)
            os.kill(pid, signal.SIGKILL)
            if name == "redis":
                # Cached links keep redirecting while the embedded Redis restarts; their clicks are spooled.
                wait_for("redirects while Redis is down", load.answered_since(served, 1), 5)
            took = wait_for(f"{name} restarted", lambda n=name, p=pid: restarted(service, n, p), 10)
            wait_for(f"redirects after killing {name}", load.answered_since(len(load.tids)), 10)
            assert service.proc.poll() is None, f"tracker run stopped after {name} was killed"
            assert took < 5, f"{name} came back after {took:.1f} s"
        assert requests.get(f"{service.base}/healthz", timeout=2).status_code == 200
    finally:
        load.stop.set()
        load.thread.join(10)
    assert load.other == [], f"answers other than 302 under load: {sorted(set(load.other))}"
    assert load.timeouts == 0, f"{load.timeouts} redirects got no answer within 5 s"

    # Every 302 has its click counted, once; a request cut by a killed web worker may have one too.
    r = redis.Redis(port=service.redis_port)
    try:
        brand_id = api.brand["id"]
        wait_for("spooled clicks replayed", lambda: not list((service_dir(service) / "spool").glob("clicks-*")), 15)

        def rolled_up() -> bool:
            return api.get(f"/links/{link['id']}").json()["stats"]["clicks"] >= len(load.tids)

        wait_for("every 302 rolled up", rolled_up, 30)
        counted = {e["id"] for e in archive.read(service_dir(service) / "archive", brand_id)}  # every click counted
        assert set(load.tids) <= counted, f"{len(set(load.tids) - counted)} redirects without their click"
        assert len(load.tids) == len(set(load.tids))
        assert len(counted) - len(load.tids) <= load.failed
        stats = api.get(f"/links/{link['id']}").json()["stats"]
        assert stats["clicks"] == len(counted), "a click counted twice"

        def report_clicks() -> int:
            return api.get("/reports", params={"by": "promotion"}).json()["totals"]["clicks"]

        wait_for("the report counts them", lambda: report_clicks() == len(counted), 10)
    finally:
        r.close()


def test_redirects_stay_fast_while_redis_dies_and_comes_back(service):
    """A dead Redis fails the pipelined XADD at once (the click is spooled): no redirect waits out
    the 5 s timeout, however the loop reports the broken connection (granian's: RuntimeError)."""
    load = Load(service.base, service.api.link()["code"])
    load.thread.start()
    try:
        wait_for("redirects under load", load.answered_since(0, 100), 20)
        for _ in range(2):
            pid = service.child("redis")
            os.kill(pid, signal.SIGKILL)
            wait_for("redis restarted", lambda p=pid: restarted(service, "redis", p), 10)
            wait_for("redirects after the restart", load.answered_since(len(load.tids), 100), 10)
    finally:
        load.stop.set()
        load.thread.join(10)
    assert load.other == [] and load.failed == 0, (load.other, load.timeouts, load.errors)
    assert load.slowest < 2, f"a redirect took {load.slowest:.1f} s while Redis was down"


def restarted(service: Service, name: str, pid: int) -> bool:
    """Whether the killed child `pid` has its replacement up."""
    if name == "redis":
        return ping(service.redis_port)
    if name == "one granian worker":
        return len([w for w in service.web_workers() if w != pid]) == 2
    kind = {"granian's master": "web"}.get(name, name)
    return service.child(kind) not in (0, pid) and (kind != "web" or len(service.web_workers()) == 2)


def service_dir(service: Service) -> Path:
    return Path(cmdline(service.proc.pid).split("--data-dir ")[1].split()[0])


def ping(port: int) -> bool:
    r = redis.Redis(port=port, socket_connect_timeout=0.2)
    try:
        return bool(r.ping())
    except redis.RedisError:
        return False
    finally:
        r.close()


def test_a_child_in_a_crash_loop_stops_the_service_loudly_with_a_non_zero_exit(tmp_path):
    """A worker that cannot start (its queue Redis refuses connections) is restarted, then stops the service."""
    proc, port, redis_port = start_run(
        tmp_path, "--workers", "1", "--max-restarts", "2", "--restart-window", "30", "--restart-delay", "0.1",
        QUEUE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip
    try:
        proc.wait(timeout=45)
        out = output(proc)
    except subprocess.TimeoutExpired:
        out = stop_run(proc)
        raise AssertionError(f"tracker run kept flapping:\n{out[-3000:]}") from None
    assert proc.returncode == 1, out[-3000:]
    assert out.count("worker (pid") == 2 and "restarting in 0.1 s" in out and "restarting in 0.2 s" in out
    assert "CRASH LOOP: worker died 3 times within 30 s" in out
    assert "more than 2 restarts, stopping the service" in out
    pattern = f"--port {port}|redis-server 127.0.0.1:{redis_port}"
    leftovers = subprocess.run(["pgrep", "-f", pattern], capture_output=True)
    assert leftovers.stdout == b"", "tracker run left processes behind"

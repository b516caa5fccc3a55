"""Fixtures: a real redis-server on a free port, the real WSGI stack over real HTTP (the API client
in process through it), burst workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

import workers
from tracker import create_wsgi, db, embedded, queues
from tracker.brands.model import create_brand
from tracker.cli import _web_args

SECRET = "test-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_ports(n: int) -> list[int]:
    """`n` free ports whose cluster bus ports (+10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port + 10000 > 65535 or port in ports:
            continue
        if embedded.port_free(port + 10000):
            ports.append(port)
    return ports


@pytest.fixture(scope="session")
def standalone_url() -> Iterator[str]:
    """A standalone redis-server: the data Redis of most tests, and the RQ queue's Redis of all."""
    port = free_port()
    proc = embedded.start(port, persist=False)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-primary Redis Cluster from the same redis-server binary (slots split in thirds)."""
    procs = embedded.start_cluster(free_cluster_ports(3), persist=False)
    yield f"redis+cluster://127.0.0.1:{procs[0].args[procs[0].args.index('--port') + 1]}"
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


SLOW_FIXTURES = {"browser", "tab", "granian", "cluster_url"}  # Chromium, granian processes, the cluster itself
LONGEST = "tests/test_openapi_fuzz.py"  # ~20 s of CPU in one test: first, so pytest -n 2 runs the rest beside it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow`: a real browser, Redis Cluster, or whole processes; `pytest -m "not slow"` runs the
    rest. Marked here by their fixtures and the cluster's parametrisation; the tests that start
    processes themselves carry the mark."""
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST))  # stable: the rest keep their order
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_cluster = callspec is not None and callspec.params.get("backend") == "cluster"
        if on_cluster or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `cluster` run twice: their data on the standalone Redis, then on the cluster
    (`cluster(only=True)`: on the cluster alone)."""
    marker = metafunc.definition.get_closest_marker("cluster")
    if marker and "backend" in metafunc.fixturenames:
        both = ["cluster"] if marker.kwargs.get("only") else ["standalone", "cluster"]
        metafunc.parametrize("backend", both, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """Where the data lives: "standalone" unless a `cluster` test asks for both."""
    return getattr(request, "param", "standalone")


QUEUE_OF: dict[str, str] = {}  # a cluster's URL -> the standalone Redis that holds its RQ queue


@pytest.fixture(scope="session")
def redis_url(backend: str, standalone_url: str, request: pytest.FixtureRequest) -> str:
    """The data Redis of this test (REDIS_URL); the queue is always on the standalone one."""
    url = request.getfixturevalue("cluster_url") if backend == "cluster" else standalone_url
    if db.is_cluster(url):
        QUEUE_OF[url] = standalone_url
    return url


@pytest.fixture(scope="session")
def archive_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the tests' workers archive counted clicks (ARCHIVE_DIR): never the repo's var/."""
    return str(tmp_path_factory.mktemp("archive"))


def environment(config: dict[str, Any]) -> dict[str, str]:
    """Settings as a process's environment variables (for a `tracker worker` started by a test)."""
    return {name: str(value) for name, value in config.items() if value is not None}


@pytest.fixture(scope="session")
def worker_config(redis_url: str, archive_dir: str) -> dict[str, Any]:
    """The settings of the tests' workers (workers.using); the others are tracker.config's defaults."""
    return {"REDIS_URL": redis_url, "QUEUE_REDIS_URL": QUEUE_OF.get(redis_url), "ARCHIVE_DIR": archive_dir}


@pytest.fixture
def queue_r(standalone_url: str) -> Iterator[redis.Redis]:
    """The RQ queue's Redis (the standalone one, whatever holds the data)."""
    client = redis.Redis.from_url(standalone_url)
    yield client
    client.close()


def emptied(redis_url: str, queue_r: redis.Redis) -> redis.Redis:
    """A client of the data Redis, emptied (a cluster client on the cluster: every primary emptied,
    and the queue's Redis)."""
    if db.is_cluster(redis_url):
        client = db.connect(redis_url, socket_timeout=None)
        queue_r.flushall()
    else:
        client = redis.Redis.from_url(redis_url)
    client.flushall()
    return client


@pytest.fixture
def r(redis_url: str, queue_r: redis.Redis) -> Iterator[redis.Redis]:
    """The data Redis, emptied."""
    client = emptied(redis_url, queue_r)
    yield client
    client.close()


class Snapshot:
    """Every key of the data Redis but RQ's (DUMP, with its TTL): a state built once per module,
    put back into each of its tests' emptied Redis."""

    def __init__(self, r: redis.Redis):
        names = sorted(k for k in r.scan_iter(count=1000) if not k.startswith(b"rq:"))
        with r.pipeline(transaction=False) as p:
            for name in names:
                p.pttl(name)
                p.dump(name)
            raw = p.execute()
        self.items = [(name, max(raw[2 * n], 0), raw[2 * n + 1]) for n, name in enumerate(names)]

    def restore(self, r: redis.Redis) -> None:
        with r.pipeline(transaction=False) as p:
            for name, ttl, value in self.items:
                p.restore(name, ttl, value, replace=True)
            p.execute()


def base_config(redis_url: str, tmp: str, **extra: Any) -> dict[str, Any]:
    return {
        "REDIS_URL": redis_url,
        "QUEUE_REDIS_URL": QUEUE_OF.get(redis_url),
        "SECRET_KEY": SECRET,
        "SPOOL_DIR": os.path.join(tmp, "spool"),
        "ARCHIVE_DIR": os.path.join(tmp, "archive"),  # where a roll-up run with this config (the demo's) archives
        "LINK_CACHE_SECONDS": 0.3,
        "TESTING": True,
        **extra,
    }


def wait_for(what: str, ok: Callable[[], Any], seconds: float = 30.0) -> float:
    """Poll `ok` until it holds; returns the seconds it took, fails after `seconds`."""
    start = time.monotonic()
    while not ok():
        assert time.monotonic() - start < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - start


def wait_answering(proc: subprocess.Popen, url: str, seconds: float, output: Callable[[], str]) -> None:
    """Wait until `url` answers 200; fails with `output()` if `proc` exits first."""

    def answers() -> bool:
        assert proc.poll() is None, output()
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(f"{url} answers", answers, seconds)


@contextmanager
def served(redis_url: str, spool: Path, workers: int = 1, **config: str) -> Iterator[str]:
    """The web server as `tracker web` starts it (granian, the ASGI bridge) on a free port, with
    `config` on top of this process's environment (less its granian and metrics settings); its
    base URL once /healthz answers."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRANIAN_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env = {**environ, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "SPOOL_DIR": str(spool), **config}
    proc = subprocess.Popen(_web_args("127.0.0.1", port, workers), env=env, stdout=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(proc, f"{base}/healthz", 30, lambda: "granian exited")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class LiveServer:
    """The served WSGI callable (redirect + Flask) on a real port, in a thread."""

    def __init__(self, config: dict[str, Any]):
        self.app = create_wsgi(config)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """shutdown() waits until serve_forever sees the request, which it looks at when its select()
        returns: after its poll interval (0.5 s), or at once when a connection comes; one comes."""
        stopping = threading.Thread(target=self.server.shutdown)
        stopping.start()
        while stopping.is_alive():
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.server.server_port), timeout=1):
                pass
            stopping.join(0.05)
        self.server.server_close()


@pytest.fixture(scope="session")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = str(tmp_path_factory.mktemp("server"))
    live = LiveServer(base_config(redis_url, tmp, BASE_URL="https://go.example"))
    yield live
    live.stop()


@pytest.fixture
def make_server_with(redis_url: str, tmp_path) -> Iterator[Any]:
    """Start an extra live server with its own settings (closed after the test)."""
    started: list[LiveServer] = []

    def start(**config: Any) -> LiveServer:
        live = LiveServer(base_config(config.pop("REDIS_URL", redis_url), str(tmp_path), **config))
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


class Clock:
    """A clock the test moves (e.g. the link cache's: `live.app.links.clock = Clock()`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class InProcess(BaseAdapter):
    """A `requests` transport that hands each request to a WSGI callable in this process (the
    served stack itself: redirect, webhooks, Flask), as a server on 127.0.0.1 would, with no socket."""

    def __init__(self, app: Any):
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        body = request.body or b""
        environ = EnvironBuilder(
            request.url, method=request.method, headers=dict(request.headers),
            data=body.encode() if isinstance(body, str) else body, environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).get_environ()  # fmt: skip
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        resp = requests.Response()
        resp.status_code, resp.reason = int(status[:3]), status[4:]
        resp.headers = CaseInsensitiveDict(headers.items())
        resp.encoding = get_encoding_from_headers(resp.headers)
        resp._content = b"".join(app_iter)
        resp.url, resp.request = request.url, request
        return resp

    def close(self) -> None:
        pass


class Api:
    """A brand's API client: over real HTTP, or in process through the served WSGI stack when
    given it (`app`: API behaviour that is not about HTTP)."""

    def __init__(self, base: str, brand: dict[str, Any], key: str, app: Any = None):
        self.base = base
        self.brand = brand
        self.key = key
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"
        if app is not None:
            self.http.mount(base, InProcess(app))

    def __getattr__(self, method: str) -> Any:
        if method not in ("get", "post", "patch", "put", "delete", "head"):
            raise AttributeError(method)
        return lambda path, **kw: self.http.request(method.upper(), f"{self.base}/api/v1{path}", **kw)

    def create(self, path: str, **body: Any) -> dict[str, Any]:
        resp = self.post(path, json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def promotion(self, followers: int = 50_000, style: str = "long_running", **extra: Any) -> dict[str, Any]:
        """An influencer, campaign and promotion; returns the promotion."""
        n = os.urandom(3).hex()
        inf = self.create("/influencers", handle=f"inf{n}", platform="instagram", followers=followers)
        camp = self.create(
            "/campaigns",
            name="Spring",
            slug=f"spring-{n}",
            destination_url="https://shop.example/landing?ref=ig",
            starts_on="2026-03-01",
        )
        body = {"campaign_id": camp["id"], "influencer_id": inf["id"], "style": style}
        body["posted_at"] = "2026-03-02T12:00:00Z"
        return self.create("/promotions", **{**body, **extra})

    def link(self, **extra: Any) -> dict[str, Any]:
        promotion = self.promotion()
        return self.create("/links", promotion_id=promotion["id"], **extra)


@pytest.fixture
def new_brand(r: redis.Redis, server: LiveServer) -> Iterator[Any]:
    made: list[Api] = []

    def make(name: str = "Acme", currency: str = "USD", base: str | None = None) -> Api:
        brand, key = create_brand(r, name, currency)
        made.append(Api(base, brand, key) if base else Api(server.url, brand, key, app=server.app))
        return made[-1]

    yield make
    for client in made:
        client.http.close()


@pytest.fixture
def api(request: pytest.FixtureRequest, new_brand) -> Api:
    """A new brand's API client; in a test of the scenario, the scenario's brand."""
    if "scenario" in request.fixturenames:
        return request.getfixturevalue("scenario").api
    return new_brand()


def browser_like() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    return s


@pytest.fixture
def visitor(server: LiveServer) -> Iterator[requests.Session]:
    """A browser-like client (the tests pass allow_redirects=False)."""
    s = browser_like()
    yield s
    s.close()


class BurstWorker(SimpleWorker):
    """rq's SimpleWorker without its command channel: a burst run inside a test is sent no
    commands, and rq's teardown waits up to 1 s for the channel's listening thread to stop."""

    def subscribe(self) -> None:
        pass


def roll_up(queue_r: redis.Redis, config: dict[str, Any]) -> SimpleWorker:
    """Run the queued jobs with a real RQ worker in burst mode (rq's SimpleWorker: in this process)
    with the worker settings `config`."""
    worker = BurstWorker(list(queues.ALL), connection=queue_r, serializer=JSONSerializer)
    with workers.using(config):
        worker.work(burst=True)
    return worker


@pytest.fixture
def burst_worker(r: redis.Redis, queue_r: redis.Redis, worker_config: dict[str, Any]):
    """Run the queued jobs with a real RQ worker in burst mode (rq's SimpleWorker: in this process),
    with `worker_config` and the settings given on top."""

    def work(**config: Any) -> SimpleWorker:
        return roll_up(queue_r, {**worker_config, **config})

    return work


@pytest.fixture
def run_worker(queue_r: redis.Redis, burst_worker):
    """Enqueue the roll-up and run it with a real RQ worker until the queue is empty."""

    def run(**config: Any) -> SimpleWorker:
        queues.enqueue(queue_r, queues.ROLLUP)
        return burst_worker(**config)

    return run


@pytest.fixture
def shop(api, server, visitor) -> Any:
    """A brand's promotion, link, discount code and webhook secrets (tests/test_conversions.py's Shop)."""
    from tests.test_conversions import Shop

    return Shop(api, server, visitor)


@pytest.fixture(scope="module")
def played_scenario(
    redis_url: str, standalone_url: str, server: LiveServer, worker_config: dict[str, Any]
) -> Iterator[tuple[Any, Snapshot]]:
    """The hand-computed brand of tests/test_reports.py (Scenario), played and rolled up once per
    module, and its data (Snapshot)."""
    from tests.test_reports import Scenario

    queue_r = redis.Redis.from_url(standalone_url)
    data = emptied(redis_url, queue_r)
    brand, key = create_brand(data, "Acme", "USD")
    s = Scenario(Api(server.url, brand, key, app=server.app), server, browser_like())
    s.play()
    queues.enqueue(queue_r, queues.ROLLUP)
    roll_up(queue_r, worker_config)
    yield s, Snapshot(data)
    s.api.http.close()
    s.visitor.close()
    for client in (data, queue_r):
        client.close()


@pytest.fixture
def scenario(r: redis.Redis, played_scenario: tuple[Any, Snapshot]) -> Any:
    """The scenario's brand, as played and rolled up, in this test's emptied Redis (its `api` is the
    test's `api`)."""
    s, snapshot = played_scenario
    snapshot.restore(r)
    return s

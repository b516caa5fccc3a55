"""Orders on disk before their 2xx: the journal (fsync'd, group-committed), its replay after Redis
lost its last writes, a disk that refuses it (503), and its pruning."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests import platforms
from tests.conftest import SECRET, Api, base_config, free_port, served
from tracker import create_app, create_wsgi, embedded
from tracker.brands.model import create_brand
from tracker.conversions import replay_journal
from tracker.journal import SEGMENT_SECONDS, Journal, JournalError

TOKEN = "metrics-token"


class Brand:
    """A brand on one server: a promotion with a discount code, and its webhook secrets."""

    def __init__(self, api: Api, base: str):
        self.api, self.base = api, base
        self.promotion = api.promotion(discount_codes=["SAVE10"])
        self.secrets = {s: api.create(f"/integrations/{s}/secrets")["secret"] for s in ("generic", "postback")}

    def order(self, order_id: str, amount: int = 1250) -> requests.Response:
        body, headers = platforms.generic_order(
            self.secrets["generic"], order_id=order_id, amount=amount, currency="USD", discount_code="SAVE10"
        )
        return requests.post(f"{self.base}/webhooks/{self.api.brand['id']}/generic", data=body, headers=headers)

    def conversions(self) -> list[dict[str, Any]]:
        page = self.api.get("/conversions", params={"page_size": 100}).json()
        return page["items"]


def journaled_order_ids(spool: Path) -> list[str]:
    return [
        event["order_id"]
        for path in sorted(spool.glob("orders-*.jsonl"))
        for line in path.read_text().splitlines()
        for event in json.loads(line)["events"]
    ]


def snapshot(r: redis.Redis) -> list[tuple[bytes, int, bytes]]:
    return [(key, max(r.pttl(key), 0), r.dump(key)) for key in r.scan_iter()]


def restore(r: redis.Redis, keys: list[tuple[bytes, int, bytes]]) -> None:
    """Redis as it restarts when its AOF lost every write after `snapshot` (the last second before a
    power cut): exactly the snapshot's keys, nothing written since."""
    r.flushdb()
    for key, ttl, value in keys:
        r.restore(key, ttl, value)


def test_an_order_answered_200_is_in_the_journal_on_disk_when_the_answer_comes(make_server_with, new_brand, tmp_path):
    live = make_server_with()
    shop = Brand(new_brand(base=live.url), live.url)
    resp = shop.order("journal-1")
    assert resp.status_code == 200 and resp.json()["events"][0]["outcome"] == "recorded", resp.text
    assert journaled_order_ids(tmp_path / "spool") == ["journal-1"]
    line = json.loads((next((tmp_path / "spool").glob("orders-*.jsonl"))).read_text())
    assert line["brand"] == shop.api.brand["id"]
    assert line["events"][0] | {"occurred_at": "-"} == {
        "kind": "order", "source": "generic", "order_id": "journal-1", "amount": 1250, "currency": "USD",
        "occurred_at": "-", "click_ids": [], "discount_codes": ["SAVE10"], "landing_url": None, "customer_id": None,
    }  # fmt: skip


def replay_by_cli(redis_url: str, spool: Path) -> int:
    env = {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "SPOOL_DIR": str(spool)}
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "replay-orders"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])["recorded_again"]


@pytest.mark.slow  # `tracker replay-orders` processes
@pytest.mark.parametrize("how", ["web start-up", "tracker replay-orders"])
def test_an_order_redis_lost_after_its_200_is_recorded_again_once(
    how, make_server_with, new_brand, r, redis_url, tmp_path, run_worker
):
    live = make_server_with()
    shop = Brand(new_brand(base=live.url), live.url)
    assert shop.order("kept").status_code == 200
    before = snapshot(r)
    resp = shop.order("lost", amount=3000)
    assert resp.status_code == 200, resp.text
    restore(r, before)  # a power cut: Redis's AOF lost its last second, the journal did not
    assert [c["order_id"] for c in shop.conversions()] == ["kept"]

    spool = tmp_path / "spool"
    if how == "web start-up":
        create_wsgi(base_config(redis_url, str(tmp_path)))
    else:
        assert replay_by_cli(redis_url, spool) == 1
    assert sorted(c["order_id"] for c in shop.conversions()) == ["kept", "lost"]
    # Replaying again, both ways, counts nothing twice.
    assert replay_by_cli(redis_url, spool) == 0
    create_wsgi(base_config(redis_url, str(tmp_path)))
    assert sorted(c["order_id"] for c in shop.conversions()) == ["kept", "lost"]
    run_worker()
    report = shop.api.get("/reports", params={"by": "promotion"}).json()
    row = next(row for row in report["rows"] if row["promotion"] == shop.promotion["id"])
    assert (row["conversions"], row["revenue"]) == (2, 1250 + 3000)


@pytest.fixture
def granian(redis_url: str, tmp_path: Path) -> Iterator[str]:
    with served(redis_url, tmp_path / "spool", METRICS_TOKEN=TOKEN) as base:
        yield base


def journal_metric(base: str, name: str) -> float:
    text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name}_total"))


def test_concurrent_deliveries_over_granian_share_fsyncs_and_are_each_recorded_once(granian, new_brand, tmp_path):
    shop = Brand(new_brand(base=granian), granian)
    fsyncs = journal_metric(granian, "tracker_order_journal_fsyncs")
    start = threading.Barrier(24)

    def deliver(n: int) -> requests.Response:
        start.wait()
        return shop.order(f"together-{n}")

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(deliver, range(24)))
    assert [a.status_code for a in answers] == [200] * 24, [a.text for a in answers if a.status_code != 200]
    assert {a.json()["events"][0]["outcome"] for a in answers} == {"recorded"}
    assert sorted(c["order_id"] for c in shop.conversions()) == sorted(f"together-{n}" for n in range(24))
    assert sorted(journaled_order_ids(tmp_path / "spool")) == sorted(f"together-{n}" for n in range(24))
    assert journal_metric(granian, "tracker_order_journal_records") == 24
    assert journal_metric(granian, "tracker_order_journal_fsyncs") - fsyncs < 24  # group commit


@pytest.mark.parametrize("entry", ["webhook", "api", "postback"])
def test_a_journal_the_disk_refuses_answers_503_and_records_nothing(entry, make_server_with, new_brand, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    live = make_server_with(SPOOL_DIR=str(blocker))
    shop = Brand(new_brand(base=live.url), live.url)
    if entry == "webhook":
        resp = shop.order("refused")
    elif entry == "api":
        body = {"type": "order", "order_id": "refused", "amount": 1250, "currency": "USD"}
        resp = shop.api.post("/conversions", json=body)
    else:
        params = {"order_id": "refused", "amount": "12.50", "currency": "USD", "token": shop.secrets["postback"]}
        resp = requests.get(f"{live.url}/postback", params=params)
    assert resp.status_code == 503, resp.text
    assert resp.json()["message"] == "storage unavailable; retry" and resp.headers["Retry-After"] == "5"
    assert shop.conversions() == []


def test_segments_are_deleted_once_every_record_is_older_than_the_keep_time(tmp_path):
    now = [1_000_000.0]
    journal = Journal(str(tmp_path), keep_seconds=10, clock=lambda: now[0])
    journal.append({"n": 1})
    now[0] += SEGMENT_SECONDS  # the next write starts a new segment
    journal.append({"n": 2})
    first, second = journal.segments()
    assert [list(Journal.read(p)) for p in (first, second)] == [[{"n": 1}], [{"n": 2}]]
    now[0] = 1_000_000 + SEGMENT_SECONDS + 10 - 0.001  # the first segment's last write may be 10 s old only now
    assert journal.prune() == 0
    now[0] += 0.001
    assert journal.prune() == 1 and journal.segments() == [second]
    now[0] += SEGMENT_SECONDS  # a rotation prunes too
    journal.append({"n": 3})
    assert [list(Journal.read(p)) for p in journal.segments()] == [[{"n": 3}]]
    assert journal.fsyncs == 3


def test_a_replay_deletes_the_segments_older_than_journal_keep_seconds(
    make_server_with, new_brand, redis_url, tmp_path
):
    live = make_server_with(JOURNAL_KEEP_SECONDS=0.5)
    shop = Brand(new_brand(base=live.url), live.url)
    assert shop.order("old").status_code == 200
    app = create_app(base_config(redis_url, str(tmp_path), JOURNAL_KEEP_SECONDS=0.5))
    assert replay_journal(app) == 0 and journaled_order_ids(tmp_path / "spool") == ["old"]  # younger: kept
    app.extensions["journal"].clock = lambda: time.time() + SEGMENT_SECONDS + 0.5
    assert replay_journal(app) == 0 and journaled_order_ids(tmp_path / "spool") == []
    assert [c["order_id"] for c in shop.conversions()] == ["old"]


def test_concurrent_appends_share_fsyncs_and_lose_no_record(tmp_path):
    journal = Journal(str(tmp_path), keep_seconds=30)
    start = threading.Barrier(16)

    def append(n: int) -> None:
        start.wait()
        for k in range(10):
            journal.append({"n": n, "k": k})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(append, range(16)))
    records = [rec for path in journal.segments() for rec in Journal.read(path)]
    assert sorted((rec["n"], rec["k"]) for rec in records) == [(n, k) for n in range(16) for k in range(10)]
    assert journal.fsyncs < 160


def test_coroutines_appending_together_share_fsyncs_and_each_record_is_on_disk_when_its_await_returns(tmp_path):
    journal = Journal(str(tmp_path), keep_seconds=30)

    async def append(n: int) -> None:
        await journal.append_async({"n": n})
        assert n in {rec["n"] for path in journal.segments() for rec in Journal.read(path)}

    async def burst() -> None:
        await asyncio.gather(*(append(n) for n in range(50)))
        journal.append({"n": 50})  # a thread's append still works beside the writer thread

    asyncio.run(burst())
    records = [rec["n"] for path in journal.segments() for rec in Journal.read(path)]
    assert sorted(records) == list(range(51))
    assert journal.fsyncs < 51


def test_a_coroutines_append_the_disk_refuses_raises_journal_error(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    journal = Journal(str(blocker), keep_seconds=30)
    with pytest.raises(JournalError):
        asyncio.run(journal.append_async({"n": 1}))


# -- orders on the event loop: a plainly valid delivery, its lookups cached, never leaves the loop ------
def test_deliveries_on_the_loop_each_record_once_and_are_journaled_before_their_200(granian, new_brand, tmp_path):
    shop = Brand(new_brand(base=granian), granian)
    assert shop.order("warm").status_code == 200  # the caches filled (on a thread): the next ones stay on the loop
    start = threading.Barrier(32)

    def deliver(n: int) -> tuple[str, str]:
        start.wait()
        resp = shop.order(f"loop-{n // 2}")  # each order twice, at the same time
        assert resp.status_code == 200, resp.text
        assert f"loop-{n // 2}" in journaled_order_ids(tmp_path / "spool")  # on disk when the 200 came
        return resp.json()["events"][0]["order_id"], resp.json()["events"][0]["outcome"]

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(deliver, range(32)))
    assert sorted(answers) == sorted((f"loop-{n}", o) for n in range(16) for o in ("recorded", "duplicate"))
    assert sorted(c["order_id"] for c in shop.conversions()) == sorted(["warm", *(f"loop-{n}" for n in range(16))])


def test_an_order_on_the_loop_is_recorded_after_redis_forgot_its_scripts(granian, new_brand, r):
    shop = Brand(new_brand(base=granian), granian)
    assert shop.order("before-flush").status_code == 200
    r.script_flush()  # a restarted Redis: NOSCRIPT, loaded again on the same connection
    resp = shop.order("after-flush", amount=990)
    assert resp.status_code == 200 and resp.json()["events"][0]["outcome"] == "recorded", resp.text
    assert {c["order_id"]: c["amount"] for c in shop.conversions()} == {"before-flush": 1250, "after-flush": 990}


@pytest.mark.slow  # granian
def test_an_order_on_the_loop_while_redis_is_down_is_answered_503_and_acknowledged_nowhere(tmp_path):
    port = free_port()
    proc = embedded.start(port, persist=False)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        brand, key = create_brand(redis.Redis.from_url(url), "Down", "USD")
        with served(url, tmp_path / "spool", METRICS_TOKEN=TOKEN, LINK_CACHE_SECONDS="60") as base:
            shop = Brand(Api(base, brand, key), base)
            assert shop.order("up").status_code == 200  # every lookup cached now
            proc.terminate()
            proc.wait(10)
            resp = shop.order("down")
            assert resp.status_code == 503, resp.text
            assert resp.headers["Retry-After"] == "5"
            assert requests.get(f"{base}/healthz").status_code == 200  # the worker still serves
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)

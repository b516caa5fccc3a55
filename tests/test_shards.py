"""Click shards: a brand's clicks spread over N streams, each in its own slot, folded one by one (in
parallel jobs) exactly once, summed by the reports; N changed without losing or doubling a click."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from tests.test_clicks import FIREFOX, IPHONE
from tracker import keys, queues
from workers import archive, clicks

DAY_MS = 86_400_000


def set_shards(api, n: int) -> dict:
    resp = api.patch("/brand", json={"click_shards": n})
    assert resp.status_code == 200, resp.text
    return resp.json()


def click(visitor, server, code: str, ua: str) -> str:
    resp = visitor.get(f"{server.url}/{code}", headers={"User-Agent": ua}, allow_redirects=False)
    assert resp.status_code == 302
    return resp.headers["Location"].split("tid=")[1]


def streams(r, brand_id: str, shards: int) -> list[set[str]]:
    """The click ids waiting in each shard's stream."""
    return [{f[b"id"].decode() for _, f in r.xrange(keys.clicks_stream(brand_id, s))} for s in range(shards)]


def shard_totals(r, brand_id: str, link_id: str, shards: int, field: str = "clicks") -> list[int]:
    return [int(r.hget(keys.link_totals(brand_id, link_id, s), field) or 0) for s in range(shards)]


def add_event(r, brand_id: str, shard: int, link: dict, tid: str, ts_ms: int, visitor: str = "v1") -> None:
    fields = {"id": tid, "l": link["id"], "p": link["promotion_id"], "t": ts_ms, "v": visitor, "ua": IPHONE}
    r.xadd(keys.clicks_stream(brand_id, shard), fields)


def report_clicks(api, **params) -> int:
    return api.get("/reports", params={"by": "promotion", **params}).json()["totals"]["clicks"]


@pytest.mark.parametrize(("value", "status"), [(0, 422), (65, 422), ("4", 422), (1.5, 422), (64, 200), (1, 200)])
def test_the_click_shards_setting_is_validated(api, value, status):
    resp = api.patch("/brand", json={"click_shards": value})
    assert resp.status_code == status, resp.text
    if status == 422:
        assert "click_shards" in resp.json()["errors"]["json"]


def test_shards_ever_used_are_remembered_and_shown(api):
    assert api.get("/brand").json()["click_shards"] == 1
    set_shards(api, 4)
    brand = set_shards(api, 2)
    assert (brand["click_shards"], brand["click_shards_max"]) == (2, 4)
    assert api.get("/brand").json()["click_shards_max"] == 4


def test_a_visitors_clicks_stay_on_one_shard_and_visitors_spread_over_all(api, server, visitor, r, run_worker):
    set_shards(api, 4)
    link = api.link()  # its record carries the 4 shards
    agents = [f"{FIREFOX} v{n}" for n in range(40)]  # 40 visitors (one address, 40 user agents)
    pairs = [(click(visitor, server, link["code"], ua), click(visitor, server, link["code"], ua)) for ua in agents]
    held = streams(r, api.brand["id"], 4)
    assert sum(len(s) for s in held) == 80 and all(held), "every shard gets visitors"
    assert all(any({a, b} <= s for s in held) for a, b in pairs)  # a visitor's second click: their first's shard
    run_worker()
    assert shard_totals(r, api.brand["id"], link["id"], 4) == [len(s) for s in held]
    stats = api.get(f"/links/{link['id']}").json()["stats"]
    assert (stats["clicks"], stats["unique_clicks"]) == (80, 40)  # each visitor unique once: their shard knew them
    assert report_clicks(api) == 80
    assert sum(len(s) for s in streams(r, api.brand["id"], 4)) == 0  # counted, archived, gone from Redis


def test_the_roll_up_folds_extra_shards_in_parallel_jobs_and_reports_sum_every_shard(api, r, queue_r, run_worker):
    set_shards(api, 4)
    link = api.link()
    now = int(time.time() * 1000)
    for shard in range(4):  # clicks on 3 days, spread over the shards
        for n in range(shard + 1):
            add_event(r, api.brand["id"], shard, link, f"s{shard}-{n}", now - n * DAY_MS, visitor=f"v{shard}{n}")
    run_worker()
    assert shard_totals(r, api.brand["id"], link["id"], 4) == [1, 2, 3, 4]
    done = FinishedJobRegistry(queues.ROLLUPS, connection=queue_r, serializer=JSONSerializer).get_job_ids()
    assert {f"rollup-shard-{api.brand['id']}-{s}" for s in (1, 2, 3)} <= set(done)  # one job per extra shard
    assert report_clicks(api) == 10
    today = datetime.fromtimestamp(now / 1000, UTC).date()
    assert report_clicks(api, **{"from": today.isoformat()}) == 4  # a dated report sums the shards' days too
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    assert (row["clicks"], row["unique_clicks"]) == (10, 10)
    by_channel = api.get("/reports", params={"by": "channel"}).json()["rows"]
    assert sum(c["clicks"] for c in by_channel) == 10  # the split by channel sums the shards as well


def test_changing_the_shard_count_from_1_to_4_to_2_loses_and_doubles_no_click(
    api, server, visitor, r, run_worker, archive_dir
):
    link = api.link()
    sent: list[str] = []

    def burst(n: int, tag: str) -> None:
        sent.extend(click(visitor, server, link["code"], f"{FIREFOX} {tag}{i}") for i in range(n))

    burst(10, "a")  # on shard 0, not rolled up yet
    set_shards(api, 4)
    deadline = time.monotonic() + 10  # the redirect's link cache (0.3 s here) learns the 4 shards
    while not any(streams(r, api.brand["id"], 4)[1:]):
        assert time.monotonic() < deadline, "no click reached shards 1-3"
        burst(4, "b")
    burst(20, "c")
    run_worker()
    burst(20, "d")  # these wait, some on shards 2 and 3...
    set_shards(api, 2)  # ...which no new click will reach
    burst(20, "e")
    run_worker()
    counted = [e["id"] for e in archive.read(archive_dir, api.brand["id"])]
    assert sorted(counted) == sorted(sent)  # every click archived once
    assert sum(shard_totals(r, api.brand["id"], link["id"], 4)) == len(sent)
    assert api.get(f"/links/{link['id']}").json()["stats"]["clicks"] == len(sent)
    assert report_clicks(api) == len(sent)


def test_the_same_click_id_twice_on_a_shard_is_counted_once(api, r, run_worker):
    set_shards(api, 4)
    link = api.link()
    now = int(time.time() * 1000)
    add_event(r, api.brand["id"], 2, link, "dup", now)
    add_event(r, api.brand["id"], 2, link, "dup", now)  # a spool replay of an XADD that had in fact succeeded
    run_worker()
    add_event(r, api.brand["id"], 2, link, "dup", now)  # and again after the first was rolled up
    run_worker()
    assert shard_totals(r, api.brand["id"], link["id"], 4) == [0, 0, 1, 0]
    assert report_clicks(api) == 1


def test_entries_a_crashed_consumer_left_pending_on_a_shard_are_counted_once(api, r, run_worker):
    set_shards(api, 4)
    link = api.link()
    now = int(time.time() * 1000)
    for n in range(6):
        add_event(r, api.brand["id"], 3, link, f"p{n}", now, visitor=f"v{n}")
    stream = keys.clicks_stream(api.brand["id"], 3)
    r.xgroup_create(stream, clicks.GROUP, id="0")
    assert len(r.xreadgroup(clicks.GROUP, "crashed-worker", {stream: ">"}, count=4)[0][1]) == 4  # never acked
    run_worker(CLAIM_IDLE_SECONDS=3600)
    assert shard_totals(r, api.brand["id"], link["id"], 4)[3] == 2
    run_worker(CLAIM_IDLE_SECONDS=0)
    assert shard_totals(r, api.brand["id"], link["id"], 4)[3] == 6
    assert r.xpending(stream, clicks.GROUP)["pending"] == 0 and r.xlen(stream) == 0


@pytest.mark.slow
def test_a_worker_killed_mid_fold_on_a_shard_loses_and_doubles_nothing(api, r, redis_url, run_worker, archive_dir):
    """A real worker process folding shard 1 is SIGKILLed between batches or inside one: what it
    archived but did not count is counted by the next worker, once, and archived once more
    (readers skip the entry id seen)."""
    set_shards(api, 4)
    link = api.link()
    now, total = int(time.time() * 1000), 30_000
    stream = keys.clicks_stream(api.brand["id"], 1)
    with r.pipeline(transaction=False) as p:
        for n in range(total):
            p.xadd(stream, {"id": f"k{n}", "l": link["id"], "p": link["promotion_id"], "t": now, "v": f"v{n % 500}",
                            "ua": IPHONE})  # fmt: skip
        p.execute()
    code = (
        "import sys, workers; from tracker import config; from workers import clicks; "
        "w = workers.start(config.from_env()); clicks.consume(w.redis, sys.argv[1], 'victim', w.config, 50, shard=1)"
    )
    env = {**os.environ, "REDIS_URL": redis_url, "ARCHIVE_DIR": archive_dir}
    victim = subprocess.Popen([sys.executable, "-c", code, api.brand["id"]], env=env)
    try:
        deadline = time.monotonic() + 60
        while not shard_totals(r, api.brand["id"], link["id"], 4)[1]:  # it has counted some
            assert victim.poll() is None and time.monotonic() < deadline, "the worker ended before counting"
            time.sleep(0.005)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
    counted_then = shard_totals(r, api.brand["id"], link["id"], 4)[1]
    assert 0 < counted_then < total, "killed mid-fold"
    run_worker(CLAIM_IDLE_SECONDS=0)
    assert shard_totals(r, api.brand["id"], link["id"], 4) == [0, total, 0, 0]
    assert shard_totals(r, api.brand["id"], link["id"], 4, "unique_clicks")[1] == 500
    assert r.xlen(stream) == 0 and r.xpending(stream, clicks.GROUP)["pending"] == 0
    ids = [e["id"] for e in archive.read(archive_dir, api.brand["id"], 1)]
    assert len(ids) == len(set(ids)) == total

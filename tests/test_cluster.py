"""The data on a Redis Cluster: start-up rules, slots that move under a running app, all-or-nothing
brand creation, the click spool's routing and its failures. (The behaviour suites marked `cluster`,
tests/conftest.py, run on both the standalone Redis and the cluster.)"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests
from click.testing import CliRunner

from tests.conftest import free_cluster_ports, free_port, wait_answering, wait_for
from tracker import create_app, db, embedded, keys
from tracker.brands.model import create_brand
from tracker.cli import main
from tracker.db import aio
from tracker.spool import Spool, counts


def test_a_cluster_without_a_queue_redis_is_a_clear_start_up_error(cluster_url, standalone_url, tmp_path):
    with pytest.raises(ValueError, match="QUEUE_REDIS_URL"):
        create_app({"REDIS_URL": cluster_url, "SPOOL_DIR": str(tmp_path)})
    env = {"REDIS_URL": cluster_url, "QUEUE_REDIS_URL": ""}
    for command in (["worker", "--burst"], ["scheduler"], ["web"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 1 and "set QUEUE_REDIS_URL to a standalone Redis" in result.output, command
    app = create_app({"REDIS_URL": cluster_url, "QUEUE_REDIS_URL": standalone_url, "SPOOL_DIR": str(tmp_path)})
    assert isinstance(app.extensions["redis"], redis.RedisCluster)
    assert not isinstance(app.extensions["queue_redis"], redis.RedisCluster)


def move_slot(r: redis.RedisCluster, key: str, finish: bool = True) -> None:
    """Move the slot of `key` to another primary, as `redis-cli --cluster reshard` does: the target
    IMPORTING, the source MIGRATING, the slot's keys MIGRATEd; `finish`: the slot then given to the
    target on every node (else left half-way: the source answers ASK for keys it no longer has)."""
    slot = r.keyslot(key)
    source = r.get_node_from_key(key)
    target = next(n for n in r.get_primaries() if n.name != source.name)
    src, dst = r.get_redis_connection(source), r.get_redis_connection(target)
    src_id, dst_id = src.execute_command("CLUSTER MYID"), dst.execute_command("CLUSTER MYID")
    dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
    for name in src.execute_command("CLUSTER GETKEYSINSLOT", slot, 10_000):
        src.execute_command("MIGRATE", target.host, target.port, name, 0, 5000)
    if finish:
        for primary in r.get_primaries():
            r.get_redis_connection(primary).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)


@pytest.mark.cluster(only=True)
def test_a_brands_slot_moving_under_the_app_is_followed_and_no_click_is_lost(api, server, visitor, r, run_worker):
    """ASK while the slot migrates, MOVED once it has moved: clicks answered and written where the
    slot is, none spooled; the API and the roll-up follow."""
    link = api.link()
    stream = keys.clicks_stream(api.brand["id"])
    assert visitor.get(f"{server.url}/{link['code']}", allow_redirects=False).status_code == 302
    before = r.get_node_from_key(stream).name
    move_slot(r, stream, finish=False)  # the stream is on the target now, its slot still the source's: ASK
    assert visitor.get(f"{server.url}/{link['code']}", allow_redirects=False).status_code == 302
    move_slot(r, stream)  # the slot is the target's: MOVED
    assert visitor.get(f"{server.url}/{link['code']}", allow_redirects=False).status_code == 302
    r.nodes_manager.initialize()
    assert r.get_node_from_key(stream).name != before
    assert r.xlen(stream) == 3
    assert counts(server.app.flask_app.config["SPOOL_DIR"]) == {"clicks": 0, "failed": 0}
    assert api.get("/brand").status_code == 200
    run_worker()
    assert api.get(f"/links/{link['id']}").json()["stats"]["clicks"] == 3


@pytest.mark.cluster(only=True)
def test_the_asgi_redirects_pipelined_xadd_follows_a_slot_that_moves(r, redis_url):
    """tracker.db.aio (the redirect under ASGI): ASK, then MOVED, each command on the right node."""
    pipes = aio.Pipes(db.connect(redis_url))
    stream = keys.clicks_stream("moving")

    async def add(n: int) -> bytes:
        return await pipes.call(stream, b"XADD", stream, b"*", "n", str(n))

    async def run() -> None:
        try:
            await add(1)
            move_slot(r, stream, finish=False)
            await asyncio.gather(*(add(n) for n in range(2, 12)))  # ASK, each behind its own ASKING
            move_slot(r, stream)
            await asyncio.gather(*(add(n) for n in range(12, 22)))  # MOVED
        finally:
            await pipes.close()

    asyncio.run(run())
    r.nodes_manager.initialize()
    assert sorted(int(f[b"n"]) for _, f in r.xrange(stream)) == list(range(1, 22))


@pytest.mark.cluster(only=True)
def test_brand_creation_is_all_or_nothing_when_a_node_refuses_writes(r):
    """The node of the brands set refuses writes (no replica to acknowledge them): no brand, no API key."""
    refusing = r.get_redis_connection(r.get_node_from_key(keys.brands()))
    refusing.config_set("min-replicas-to-write", 1)
    try:
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            create_brand(r, "Half", "USD")
    finally:
        refusing.config_set("min-replicas-to-write", 0)
    assert list(r.scan_iter("*", target_nodes=redis.RedisCluster.PRIMARIES)) == []
    brand, key = create_brand(r, "Whole", "USD")
    assert r.get(keys.brand(brand["id"])) is not None and r.sismember(keys.brands(), brand["id"])


def spool_file(directory: Path, events: list[tuple[str, dict[str, str]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"s": stream, "f": fields}) for stream, fields in events]
    (directory / "clicks-otherhost-1.jsonl").write_text("".join(line + "\n" for line in lines))


@pytest.mark.cluster
def test_spooled_clicks_go_to_their_streams_node_and_refused_ones_are_kept_logged_and_counted(
    r, redis_url, make_server_with, tmp_path, caplog
):
    streams = [keys.clicks_stream(f"brand{n}") for n in range(6)]  # spread over the nodes on a cluster
    r.set(streams[-1], "not a stream")  # Redis refuses an XADD there (WRONGTYPE)
    spool_dir = tmp_path / "spool"
    spool_file(spool_dir, [(s, {"id": f"c{n}", "t": "1"}) for n, s in enumerate(streams)])
    with caplog.at_level(logging.ERROR, logger="tracker.spool"):
        assert Spool(str(spool_dir), r).replay() == 5
    assert [r.xlen(s) for s in streams[:-1]] == [1] * 5
    assert "WRONGTYPE" in caplog.text and streams[-1] in caplog.text
    assert counts(spool_dir) == {"clicks": 0, "failed": 1}
    live = make_server_with(SPOOL_DIR=str(spool_dir))
    assert requests.get(f"{live.url}/readyz").json()["spool"] == {"clicks": 0, "failed": 1}
    r.delete(streams[-1])  # the cause fixed: the operator replays them
    result = CliRunner().invoke(main, ["spool", "--replay"], env={"REDIS_URL": redis_url, "SPOOL_DIR": str(spool_dir)})
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[-1])["failed"] == 0
    assert r.xlen(streams[-1]) == 1


@pytest.mark.cluster
def test_clicks_redis_cannot_take_stay_in_the_spool_and_are_logged(r, tmp_path, caplog):
    spool_dir = tmp_path / "spool"
    spool_file(spool_dir, [(keys.clicks_stream("b1"), {"id": "c1", "t": "1"})])
    dead = db.connect(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="tracker.spool"):
        assert Spool(str(spool_dir), dead).replay() == 0
    assert "1 spooled clicks kept for a retry" in caplog.text and "ConnectionError" in caplog.text
    assert counts(spool_dir) == {"clicks": 1, "failed": 0}
    assert Spool(str(spool_dir), r).replay() == 1
    assert counts(spool_dir) == {"clicks": 0, "failed": 0}


@pytest.mark.slow
def test_tracker_run_cluster_serves_and_counts_a_click(tmp_path):
    """`tracker run --cluster`: three cluster nodes and a queue Redis, the web, a worker, a scheduler."""
    port, redis_port = free_port(), free_run_ports()
    env = {**os.environ, "ROLLUP_INTERVAL_SECONDS": "1", "SECRET_KEY": "run-cluster"}
    for name in ("REDIS_URL", "QUEUE_REDIS_URL"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "tracker", "run", "--cluster", "--port", str(port), "--redis-port", str(redis_port),
           "--workers", "1", "--data-dir", str(tmp_path / "var")]  # fmt: skip
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(proc, f"{base}/readyz", 60, (tmp_path / "run.log").read_text)
        data = db.connect(f"redis+cluster://127.0.0.1:{redis_port + 1}")
        try:
            assert len(data.get_primaries()) == 3
            brand, key = create_brand(data, "Run", "USD")
        finally:
            data.close()
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        inf = http.post(f"{base}/api/v1/influencers", json={"handle": "run", "platform": "instagram", "followers": 900})
        camp = http.post(f"{base}/api/v1/campaigns", json={"name": "Run", "slug": "run", "starts_on": "2026-03-01",
                                                            "destination_url": "https://shop.example/"})  # fmt: skip
        promo = http.post(f"{base}/api/v1/promotions", json={"campaign_id": camp.json()["id"], "style": "long_running",
                                                              "influencer_id": inf.json()["id"]})  # fmt: skip
        link = http.post(f"{base}/api/v1/links", json={"promotion_id": promo.json()["id"]}).json()
        ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
        assert requests.get(f"{base}/{link['code']}", headers=ua, allow_redirects=False).status_code == 302
        wait_for(
            "the scheduled roll-up counts the click",
            lambda: http.get(f"{base}/api/v1/links/{link['id']}").json()["stats"]["clicks"] == 1,
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)
        log.close()


def free_run_ports() -> int:
    """A port p with p to p + 3 free, and the cluster bus ports of p + 1 to p + 3."""
    while True:
        p = free_cluster_ports(1)[0]
        wanted = [p, p + 1, p + 2, p + 3, p + 10001, p + 10002, p + 10003]
        if wanted[-1] <= 65535 and all(embedded.port_free(q) for q in wanted):
            return p



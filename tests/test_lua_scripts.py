"""Each Lua script called directly through its typed wrapper (tracker.db.scripts), on the real Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from tracker import db, keys
from tracker.db import scripts
from tracker.db.scripts import Click, ConversionEvent, Target

B = "brand1"
GROUP = "rollup"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000


def _stream_with(r: redis.Redis, stream: str, n: int) -> list[bytes]:
    """n entries read (so pending) through the group: what a roll-up's script acknowledges."""
    r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    for _ in range(n):
        r.xadd(stream, {"x": "1"})
    return [eid for eid, _ in r.xreadgroup(GROUP, "me", {stream: ">"})[0][1]]


def _click(entry: bytes, click_id: str, visitor: str = "v1", minutes: int = 0, family: str = "",
           link: str = "L1", promotion: str = "P1", since: str = "s0") -> Click:  # fmt: skip
    ts = T0 + minutes * 60_000
    hour, before = ("2026010100", "2025123123") if minutes < 60 else ("2026010101", "2026010100")
    return Click(entry, scripts.click_digest(click_id), link, promotion, ts, hour, before,
                 scripts.visitor_digest(visitor), family, since)  # fmt: skip


def _apply(r: redis.Redis, stream: str, clicks: list[Click], shard: int = 0, ttl: int = 3600) -> int:
    return db.run(r, scripts.apply_clicks(brand_id=B, shard=shard, stream=stream, group=GROUP, marker_ttl=ttl,
                                          clicks=clicks))  # fmt: skip


def _totals(r: redis.Redis, link: str = "L1", shard: int = 0) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in r.hgetall(keys.link_totals(B, link, shard)).items()}


# (clicks as (click id, visitor, minutes, family), counted by the script, link totals after)
CLICK_CASES = {
    "one click": ([("c1", "v1", 0, "")], 1, {"clicks": 1, "unique_clicks": 1}),
    "a duplicate click id is skipped": ([("c1", "v1", 0, ""), ("c1", "v1", 0, "")], 1,
                                        {"clicks": 1, "unique_clicks": 1}),
    "a visitor again within the hour is not unique": ([("c1", "v1", 0, ""), ("c2", "v1", 30, "")], 2,
                                                      {"clicks": 2, "unique_clicks": 1}),
    "a visitor again after an hour is unique again": ([("c1", "v1", 0, ""), ("c2", "v1", 61, "")], 2,
                                                      {"clicks": 2, "unique_clicks": 2}),
    "the hour before is read across the hour's boundary": ([("c1", "v1", 30, ""), ("c2", "v1", 70, "")], 2,
                                                           {"clicks": 2, "unique_clicks": 1}),
    "an unknown visitor is always unique": ([("c1", "", 0, ""), ("c2", "", 1, "")], 2,
                                            {"clicks": 2, "unique_clicks": 2}),
    "bot hits by family, never clicks": ([("c1", "v1", 0, "googlebot"), ("c2", "v2", 0, "head"), ("c3", "v3", 0, "")],
                                         3, {"clicks": 1, "unique_clicks": 1, "bot_hits": 2, "bot:googlebot": 1,
                                             "bot:head": 1}),
}  # fmt: skip


@pytest.mark.parametrize("shard", [0, 3])
@pytest.mark.parametrize(("batch", "counted", "totals"), CLICK_CASES.values(), ids=CLICK_CASES.keys())
def test_apply_clicks_counts_each_click_once(r: redis.Redis, batch, counted, totals, shard) -> None:
    stream = keys.clicks_stream(B, shard)
    entries = _stream_with(r, stream, len(batch))
    clicks = [_click(e, cid, v, m, f) for e, (cid, v, m, f) in zip(entries, batch, strict=True)]
    assert _apply(r, stream, clicks, shard) == counted
    assert _totals(r, shard=shard) == totals
    assert r.xpending(stream, GROUP)["pending"] == 0  # every entry acknowledged
    assert r.xlen(stream) == 0  # and deleted (the worker archived it first)
    assert _apply(r, stream, clicks, shard) == 0  # the same batch again: nothing counted twice
    assert _totals(r, shard=shard) == totals
    days = {k.decode(): int(v) for k, v in r.hgetall(keys.promotion_days(B, "P1", shard)).items()}
    assert days["20260101:clicks"] == totals["clicks"]
    all_time = r.hgetall(keys.promotion_all_time(B, "P1", shard))
    assert (all_time[b"first"], all_time[b"last"]) == (b"20260101", b"20260101")
    seen = keys.clicks_seen(B, shard, clicks[0].hour)
    assert r.sismember(seen, scripts.click_digest(batch[0][0]))  # the exactly-once marker
    assert 0 < r.ttl(seen) <= 3600
    assert r.object("encoding", seen) == b"intset"  # 8 bytes a marker while the hour's set is small
    if shard:  # nothing on the brand's own slot
        assert not [k for k in r.scan_iter(f"il:{{b:{B}}}:*")]


def test_apply_clicks_spans_promotions_and_links_in_one_batch(r: redis.Redis) -> None:
    stream = keys.clicks_stream(B)
    e1, e2 = _stream_with(r, stream, 2)
    clicks = [_click(e1, "c1", link="L1"), _click(e2, "c2", "v9", link="L2", promotion="P2", since="")]
    assert _apply(r, stream, clicks, ttl=60) == 2
    assert _totals(r, "L1")["clicks"] == _totals(r, "L2")["clicks"] == 1
    assert r.hget(keys.promotion_since(B, "P1"), "s0:clicks") == b"1"
    assert r.hlen(keys.promotion_since(B, "P2")) == 0  # no posting time: nothing since posting


def test_apply_clicks_markers_expire_and_unique_visitors_last_two_hours(r: redis.Redis) -> None:
    stream = keys.clicks_stream(B, 1)
    (entry,) = _stream_with(r, stream, 1)
    assert _apply(r, stream, [_click(entry, "c1")], shard=1, ttl=7 * 86400) == 1
    assert 7 * 86400 - 5 < r.ttl(keys.clicks_seen(B, 1, "2026010100")) <= 7 * 86400
    assert 7200 - 5 < r.ttl(keys.last_unique(B, 1, "L1", "2026010100")) <= 7200
    r.delete(keys.clicks_seen(B, 1, "2026010100"))  # what its expiry does after the dedupe window
    assert _apply(r, stream, [_click(entry, "c1")], shard=1) == 1  # so the window bounds the deduplication


def _order(order_id: str, conversion_id: str, amount: int = 1000) -> scripts.Call[tuple[bool, str]]:
    record = json.dumps({"id": conversion_id, "amount": amount})
    event = [("kind", "order"), ("id", conversion_id)]
    return scripts.record_order(brand_id=B, source="shopify", order_id=order_id, conversion_id=conversion_id,
                                record=record, amount=amount, at_ms=T0, event=event)  # fmt: skip


def _refund(order_id: str, refund_id: str, amount: int) -> scripts.Call[tuple[str, str | None]]:
    return scripts.record_refund(brand_id=B, source="shopify", order_id=order_id, refund_id=refund_id, amount=amount,
                                 at_ms=T0 + 1)  # fmt: skip


def test_record_order_records_once_per_order_id(r: redis.Redis) -> None:
    assert db.run(r, _order("o1", "conv1")) == (True, "conv1")
    assert db.run(r, _order("o1", "conv2")) == (False, "conv1")  # the first one's id
    assert db.run(r, _order("o2", "conv3", 500)) == (True, "conv3")
    assert json.loads(r.hget(keys.conversions(B), "conv1"))["amount"] == 1000
    assert r.hget(keys.conversion_amounts(B), "conv1") == b"1000"
    assert r.zscore(keys.conversion_order(B), "conv1") == T0
    assert r.hget(keys.conversion_refunded(B), "conv1") == b"0"
    events = [f for _, f in r.xrange(keys.conversions_stream(B))]
    assert events == [{b"kind": b"order", b"id": b"conv1", b"refunded": b"0"},
                      {b"kind": b"order", b"id": b"conv3", b"refunded": b"0"}]  # fmt: skip


# (steps: ('order', id, amount) or ('refund', refund id, amount) with what it returns, refunded after)
REFUND_CASES = {
    "a refund once per refund id": ([("order", "o1", 1000), ("refund", "r1", 300, "recorded"),
                                     ("refund", "r1", 300, "duplicate")], 300),
    "a refund id's amount may only grow": ([("order", "o1", 1000), ("refund", "r1", 300, "recorded"),
                                            ("refund", "r1", 500, "recorded"), ("refund", "r1", 400, "duplicate")],
                                           500),
    "refunds are capped at the order's amount": ([("order", "o1", 1000), ("refund", "r1", 800, "recorded"),
                                                  ("refund", "r2", 800, "recorded")], 1000),
    "a refund before its order is pending, then counted": ([("refund", "r1", 300, "pending"),
                                                            ("order", "o1", 1000)], 300),
}  # fmt: skip


@pytest.mark.parametrize(("steps", "refunded"), REFUND_CASES.values(), ids=REFUND_CASES.keys())
def test_record_refund(r: redis.Redis, steps, refunded) -> None:
    for step in steps:
        if step[0] == "order":
            assert db.run(r, _order(step[1], "conv1", step[2]))[0]
        else:
            outcome, cid = db.run(r, _refund("o1", step[1], step[2]))
            assert outcome == step[3]
            assert cid == ("conv1" if outcome == "recorded" else None)
    assert int(r.hget(keys.conversion_refunded(B), "conv1")) == refunded


def test_apply_conversions_applies_each_entry_once(r: redis.Redis) -> None:
    stream = keys.conversions_stream(B)
    e1, e2 = _stream_with(r, stream, 2)
    hours, days, hist = keys.promotion_hours(B, "P1"), keys.promotion_all_time(B, "P1"), keys.ttc_all_time(B, "P1")
    events = [
        ConversionEvent(e1, [Target(hours, "h", [("2026010100:conversions", 1), ("2026010100:revenue:USD", 900)]),
                             Target(days, "s", ["20260103"]), Target(hist, "b", [2])]),
        ConversionEvent(e2, [Target(hours, "h", [("2026010100:revenue:USD", -100)]), Target(days, "s", ["20260101"]),
                             Target(hist, "b", [2, 0])]),
    ]  # fmt: skip
    call = scripts.apply_conversions(brand_id=B, stream=stream, group=GROUP, marker_ttl=60, events=events)
    for applied in (2, 0):  # again: the entries' markers say they were applied
        assert db.run(r, call) == applied
        assert r.hgetall(hours) == {b"2026010100:conversions": b"1", b"2026010100:revenue:USD": b"800"}
        assert r.hgetall(days) == {b"first": b"20260101", b"last": b"20260103"}
        assert r.bitfield(hist).get("u32", "#0").get("u32", "#2").execute() == [1, 2]
        assert r.xpending(stream, GROUP)["pending"] == 0


def test_migrate_promotion_moves_since_posting_and_rebuilds_all_time(r: redis.Redis) -> None:
    days, since, all_time = (keys.promotion_days(B, "P1"), keys.promotion_since(B, "P1"),
                             keys.promotion_all_time(B, "P1"))  # fmt: skip
    r.hset(days, mapping={"20260101:clicks": 3, "20260105:clicks": 2, "s3:clicks": 4, "D2:clicks": 1})
    r.hset(keys.ttc_histogram(B, "P1"), mapping={"20260101:1": 2, "20260105:1": 1, "20260105:4": 1})
    r.hset(all_time, "stale", 99)
    call = scripts.migrate_promotion(brand_id=B, promotion_id="P1")
    for moved in (2, 0):  # the same result when run again
        assert db.run(r, call) == moved
        assert r.hgetall(days) == {b"20260101:clicks": b"3", b"20260105:clicks": b"2"}
        assert r.hgetall(since) == {b"s3:clicks": b"4", b"D2:clicks": b"1"}
        assert r.hgetall(all_time) == {b"clicks": b"5", b"first": b"20260101", b"last": b"20260105"}
        assert r.bitfield(keys.ttc_all_time(B, "P1")).get("u32", "#1").get("u32", "#4").execute() == [3, 1]


HASH_CASES = {
    "the whole hash": ({}, {b"20260101:clicks 3 20260102:clicks 5"}),
    "some days' metrics, a missing one empty": ({"days": ["20260101", "20260102"], "metrics": ["clicks", "orders"]},
                                                {b"3  5 "}),
}  # fmt: skip


@pytest.mark.parametrize(("kwargs", "expected"), HASH_CASES.values(), ids=HASH_CASES.keys())
def test_hash_joined_reads_without_writing(r: redis.Redis, kwargs, expected) -> None:
    key = keys.promotion_days(B, "P1")
    r.hset(key, mapping={"20260101:clicks": 3, "20260102:clicks": 5})
    before = r.dump(key)
    reply = db.run(r, scripts.hash_joined(key=key, **kwargs))
    if not kwargs:  # field order is the hash's: compare as pairs
        flat = reply.split(b" ")
        reply = b" ".join(b" ".join(p) for p in sorted(zip(flat[0::2], flat[1::2], strict=True)))
    assert {reply} == expected
    assert r.dump(key) == before and r.dbsize() == 1


def _runners(r: redis.Redis) -> dict[str, Callable[[scripts.Call[Any]], Any]]:
    """Every way tracker.db runs a script."""

    def piped(call: scripts.Call[Any]) -> Any:
        with db.pipeline(r, call.keys[0]) as p:
            p.get("before")
            p.run(call)
            p.get("after")
            return p.execute()[1]

    def conn(call: scripts.Call[Any]) -> Any:
        c = db.Conn(r, call.keys[0])
        try:
            return c.run(call)
        finally:
            c.close()

    hot = db.Redis(r)
    return {"run": lambda call: db.run(r, call), "hot": hot.run, "pipeline": piped, "conn": conn}


@pytest.mark.parametrize("runner", ["run", "hot", "pipeline", "conn"])
def test_a_script_redis_lost_is_loaded_again(r: redis.Redis, runner: str) -> None:
    run = _runners(r)[runner]
    assert run(_order("o1", "conv1")) == (True, "conv1")
    r.script_flush()  # as after a restart
    assert run(_order("o1", "conv2")) == (False, "conv1")
    r.script_flush()
    assert run(_order("o2", "conv3")) == (True, "conv3")
    assert r.script_exists(scripts.RECORD_ORDER.sha) == [True]

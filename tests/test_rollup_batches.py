"""The click apply script over whole batches as the worker lays them out (tracker.db.scripts.ClickBatch:
counter groups and sets of breakdown values), and which stream entries it deletes."""

from __future__ import annotations

import pytest
import redis

from tracker import db, keys
from tracker.db import scripts
from tracker.db.scripts import Click

B = "brand1"
GROUP = "rollup"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000
HOURS = {0: ("2026010100", "2025123123"), 1: ("2026010101", "2026010100"), 2: ("2026010102", "2026010101")}
IPHONE = ("l.instagram.com", "US", "mobile", "Mobile Safari", "iOS")
FIREFOX = ("(direct)", "DE", "desktop", "Firefox", "Linux")


def _read(r: redis.Redis, stream: str, n: int, consumer: str = "me") -> list[bytes]:
    """n new entries read through the group by `consumer` (pending until acknowledged)."""
    try:
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError:
        pass
    reply = r.xreadgroup(GROUP, consumer, {stream: ">"}, count=n)
    return [eid for eid, _ in reply[0][1]] if reply else []


def _add(r: redis.Redis, stream: str, n: int) -> None:
    with r.pipeline(transaction=False) as p:
        for _ in range(n):
            p.xadd(stream, {"x": "1"})
        p.execute()


def _click(entry: bytes, click_id: str, minutes: int = 0, visitor: str = "v1", family: str = "", link: str = "L1",
           dims: tuple[str, ...] = IPHONE, local_hour: str = "") -> Click:  # fmt: skip
    hour, before = HOURS[minutes // 60]
    return Click(entry, scripts.click_digest(click_id), link, "P1", T0 + minutes * MINUTE, hour, before,
                 scripts.visitor_digest(visitor), family, f"s{minutes // 60}", local_hour, dims)  # fmt: skip


def _apply(r: redis.Redis, stream: str, clicks: list[Click]) -> int:
    return db.run(r, scripts.apply_clicks(brand_id=B, shard=0, stream=stream, group=GROUP, marker_ttl=3600,
                                          clicks=clicks, cap=2))  # fmt: skip


def _hash(r: redis.Redis, key: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in r.hgetall(key).items() if k not in (b"first", b"last")}


def test_a_click_id_twice_in_a_batch_and_again_in_the_next_batch_counts_once_in_every_counter(r):
    stream = keys.clicks_stream(B)
    _add(r, stream, 6)
    e = _read(r, stream, 6)
    first = [_click(e[0], "c1"), _click(e[1], "c1"), _click(e[2], "c2", 10, "v2", dims=FIREFOX),
             _click(e[3], "b1", 20, "v3", family="googlebot")]  # fmt: skip
    assert _apply(r, stream, first) == 3
    again = [_click(e[4], "c2", 10, "v2", dims=FIREFOX), _click(e[5], "c3", 70, "v1")]  # c2 counted already
    assert _apply(r, stream, again) == 1
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": 3, "unique_clicks": 3, "bot_hits": 1, "bot:googlebot": 1}
    assert _hash(r, keys.promotion_hours(B, "P1")) == {
        "2026010100:clicks": 2, "2026010100:unique_clicks": 2, "2026010100:bot_hits": 1,
        "2026010101:clicks": 1, "2026010101:unique_clicks": 1,
    }  # fmt: skip
    assert _hash(r, keys.promotion_days(B, "P1")) == {
        "20260101:clicks": 3, "20260101:unique_clicks": 3, "20260101:bot_hits": 1, "20260101:bot:googlebot": 1,
    }  # fmt: skip
    assert _hash(r, keys.promotion_since(B, "P1")) == {"s0:clicks": 2, "s1:clicks": 1}
    assert _hash(r, keys.promotion_all_time(B, "P1")) == _hash(r, keys.link_totals(B, "L1"))
    assert _hash(r, keys.day_series(B, "l:L1", "20260101")) == {
        "clicks": 3, "unique_clicks": 3, "bot_hits": 1, "h00:clicks": 2, "h00:unique_clicks": 2, "h00:bot_hits": 1,
        "h01:clicks": 1, "h01:unique_clicks": 1,
    }  # fmt: skip
    assert _hash(r, keys.day_breakdown(B, "l:L1", "20260101")) == {
        "r:l.instagram.com": 2, "r:(direct)": 1, "cc:US": 2, "cc:DE": 1, "d:mobile": 2, "d:desktop": 1,
        "b:Mobile Safari": 2, "b:Firefox": 1, "o:iOS": 2, "o:Linux": 1, "n:r": 2, "n:cc": 2, "n:d": 2, "n:b": 2,
        "n:o": 2,
    }  # fmt: skip
    assert r.xlen(stream) == 0 and r.xpending(stream, GROUP)["pending"] == 0


def test_groups_of_one_batch_share_keys_and_breakdown_values_past_the_cap_go_to_other(r):
    """Two links, two local days (the brand's zone), uniques per visitor, a cap of 2 values per
    dimension reached inside the batch: each counter as if clicks had been counted one by one."""
    stream = keys.clicks_stream(B)
    _add(r, stream, 7)
    e = _read(r, stream, 7)
    other = ("t.co", "FR", "tablet", "Chrome", "Android")
    batch = [
        _click(e[0], "a1", 0, "v1", local_hour="2025123123"),
        _click(e[1], "a2", 5, "v1", local_hour="2025123123"),  # v1 again within the hour: not unique
        _click(e[2], "a3", 10, "v2", dims=FIREFOX, local_hour="2025123123"),
        _click(e[3], "a4", 30, "v3", dims=other, local_hour="2025123123"),  # a third value of each: other
        _click(e[4], "a5", 70, "v3", local_hour="2026010100"),  # the hour before is read: not unique
        _click(e[5], "a6", 20, "v1", link="L2", local_hour="2025123123"),  # another link: unique there
        _click(e[6], "a7", 21, "", family="head", link="L2", local_hour="2025123123"),
    ]
    assert _apply(r, stream, batch) == 7
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": 5, "unique_clicks": 3}
    assert _hash(r, keys.link_totals(B, "L2")) == {"clicks": 1, "unique_clicks": 1, "bot_hits": 1, "bot:head": 1}
    assert _hash(r, keys.promotion_all_time(B, "P1")) == {"clicks": 6, "unique_clicks": 4, "bot_hits": 1,
                                                          "bot:head": 1}  # fmt: skip
    assert _hash(r, keys.day_series(B, "l:L1", "20251231")) == {
        "clicks": 4, "unique_clicks": 3, "h23:clicks": 4, "h23:unique_clicks": 3,
    }  # fmt: skip
    assert _hash(r, keys.day_series(B, "l:L1", "20260101")) == {"clicks": 1, "h00:clicks": 1}
    breakdown = _hash(r, keys.day_breakdown(B, "l:L1", "20251231"))
    for dimension in ("r", "cc", "d", "b", "o"):
        values = {k: v for k, v in breakdown.items() if k.startswith(f"{dimension}:")}
        assert sum(values.values()) == 4 and len(values) == 3 and values[f"{dimension}:~"] >= 1
        assert breakdown[f"n:{dimension}"] == 2
    assert _hash(r, keys.day_breakdown(B, "l:L2", "20251231"))["r:l.instagram.com"] == 1  # the bot hit adds none
    assert r.xlen(stream) == 0


def test_entries_another_consumer_has_pending_are_kept_until_it_is_counted(r):
    """A batch deletes what the group acknowledged up to the first entry still pending (another
    worker's batch, or one a crashed worker left): that one is still there to claim."""
    stream = keys.clicks_stream(B)
    _add(r, stream, 3)
    theirs = _read(r, stream, 3, "crashed")
    _add(r, stream, 3)
    mine = _read(r, stream, 3)
    _add(r, stream, 2)  # not delivered to anyone yet
    assert _apply(r, stream, [_click(e, f"m{n}", visitor=f"m{n}") for n, e in enumerate(mine)]) == 3
    assert [eid for eid, _ in r.xrange(stream)][:3] == theirs  # still there, claimable
    assert r.xlen(stream) == 8  # mine too (behind theirs) until theirs are counted
    claimed = r.xautoclaim(stream, GROUP, "me", 0, "0-0")[1]
    assert [eid for eid, _ in claimed] == theirs
    assert _apply(r, stream, [_click(e, f"t{n}", visitor=f"t{n}") for n, e in enumerate(theirs)]) == 3
    assert r.xlen(stream) == 2  # only the 2 never delivered
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": 6, "unique_clicks": 6}
    rest = _read(r, stream, 10)
    assert _apply(r, stream, [_click(e, f"r{n}", visitor=f"r{n}") for n, e in enumerate(rest)]) == 2
    assert r.xlen(stream) == 0 and r.xpending(stream, GROUP)["pending"] == 0


def test_a_visitors_clicks_of_one_batch_across_an_hour_boundary_are_unique_as_if_counted_one_by_one(r):
    """A visitor's click is unique when their last unique click on the link (this hour's, else the
    previous hour's) is an hour old or more; clicks earlier in the same batch count as last ones."""
    stream = keys.clicks_stream(B)
    _add(r, stream, 9)
    e = _read(r, stream, 9)
    assert _apply(r, stream, [_click(e[0], "a", 50, "v1")]) == 1  # unique: v1's last is at 0:50
    batch = [
        _click(e[1], "b", 55, "v1"),  # 5 min after 0:50: not unique
        _click(e[2], "c", 70, "v1"),  # nothing this hour, the hour before says 0:50: not unique
        _click(e[3], "d", 111, "v1"),  # 61 min after 0:50: unique, the last is now 1:51
        _click(e[4], "e", 0, "v2"),  # another visitor: unique
        _click(e[5], "f", 115, "v1"),  # 4 min after 1:51 (this batch's): not unique
        _click(e[6], "g", 61, "v2"),  # 61 min after 0:00: unique
        _click(e[7], "h", 90, "v2"),  # 29 min after 1:01: not unique
        _click(e[8], "i", 171, "v1"),  # exactly an hour after 1:51, from the hour before: unique
    ]
    assert _apply(r, stream, batch) == 8
    assert _hash(r, keys.promotion_hours(B, "P1")) == {
        "2026010100:clicks": 3, "2026010100:unique_clicks": 2, "2026010101:clicks": 5,
        "2026010101:unique_clicks": 2, "2026010102:clicks": 1, "2026010102:unique_clicks": 1,
    }  # fmt: skip
    v1, v2 = scripts.visitor_digest("v1"), scripts.visitor_digest("v2")
    assert r.hgetall(keys.last_unique(B, 0, "L1", "2026010100")) == {v1: b"%d" % (T0 + 50 * MINUTE),
                                                                        v2: str(T0).encode()}  # fmt: skip
    assert r.hgetall(keys.last_unique(B, 0, "L1", "2026010101")) == {v1: b"%d" % (T0 + 111 * MINUTE),
                                                                        v2: b"%d" % (T0 + 61 * MINUTE)}  # fmt: skip
    assert 0 < r.ttl(keys.last_unique(B, 0, "L1", "2026010102")) <= 7200


def test_a_click_id_three_times_in_a_batch_and_once_in_the_next_counts_once(r):
    stream = keys.clicks_stream(B)
    _add(r, stream, 7)
    e = _read(r, stream, 7)
    first = [_click(e[0], "c1", 1, "v1"), _click(e[1], "c1", 1, "v1"), _click(e[2], "c2", 2, "v2"),
             _click(e[3], "c1", 1, "v1")]  # fmt: skip
    assert _apply(r, stream, first) == 2
    assert _apply(r, stream, [_click(e[4], "c1", 1, "v1"), _click(e[5], "c3", 3, "v3"),
                              _click(e[6], "c3", 3, "v3")]) == 1  # fmt: skip
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": 3, "unique_clicks": 3}
    assert r.smembers(keys.clicks_seen(B, 0, "2026010100")) == {b"%d" % scripts.click_digest(c)
                                                                 for c in ("c1", "c2", "c3")}  # fmt: skip
    assert r.xlen(stream) == 0 and r.xpending(stream, GROUP)["pending"] == 0


def test_clicks_whose_digest_their_hours_marker_set_holds_already_are_not_counted(r):
    """Markers of a crashed batch counted before: each hour's set says for its own clicks only (a
    digest another hour's set holds counts); more digests than one read of a set takes (1000)."""
    stream = keys.clicks_stream(B)
    n = 2_500
    _add(r, stream, n + 2)
    e = _read(r, stream, n + 2)
    seen = [scripts.click_digest(f"k{i}") for i in range(n) if i % 7 == 3]
    r.sadd(keys.clicks_seen(B, 0, "2026010100"), *seen[:-10])
    r.sadd(keys.clicks_seen(B, 0, "2026010101"), *seen[-10:], scripts.click_digest("k0"))
    clicks = [_click(x, f"k{i}", i % 60, f"v{i % 10}") for i, x in enumerate(e[:n])]
    clicks += [_click(e[n], "k0", 61, "v0"), _click(e[n + 1], "y", 65, "v0")]  # k0 counted in hour 0 only
    counted = n - len(seen) + 10 + 1
    assert _apply(r, stream, clicks) == counted
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": counted, "unique_clicks": 11}  # v0 at 0:00 and 1:05
    assert r.scard(keys.clicks_seen(B, 0, "2026010100")) == n
    assert r.scard(keys.clicks_seen(B, 0, "2026010101")) == 12
    assert 0 < r.ttl(keys.clicks_seen(B, 0, "2026010100")) <= 3600


def test_a_batch_larger_than_luas_unpack_limit_is_acknowledged_and_deleted(r):
    stream = keys.clicks_stream(B)
    n = 9_000  # unpack() of more than ~8,000 values fails in Redis's Lua
    _add(r, stream, n)
    entries = _read(r, stream, n)
    assert _apply(r, stream, [_click(e, f"k{i}", visitor=f"v{i % 100}") for i, e in enumerate(entries)]) == n
    assert r.xlen(stream) == 0 and r.xpending(stream, GROUP)["pending"] == 0
    assert _hash(r, keys.link_totals(B, "L1")) == {"clicks": n, "unique_clicks": 100}


@pytest.mark.parametrize("shard", [0, 2])
def test_every_key_of_a_batch_is_in_its_shards_slot(r, shard):
    """What makes the script runnable on a Redis Cluster: its keys share the shard's hash tag."""
    stream = keys.clicks_stream(B, shard)
    call = scripts.apply_clicks(brand_id=B, shard=shard, stream=stream, group=GROUP, marker_ttl=60,
                                clicks=[_click(b"1-0", "c1"), _click(b"2-0", "c2", 70, family="bot")])  # fmt: skip
    tag = stream[stream.index("{") : stream.index("}") + 1]
    assert len(call.keys) > 10 and all(tag in key for key in call.keys)

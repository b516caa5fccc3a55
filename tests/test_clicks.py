"""The click roll-up on real RQ workers: bots excluded, uniques, each click counted exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tracker import keys
from tracker.db import scripts
from tracker.useragent import classify
from workers import archive, clicks

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mastodon/4.2.0 (http.rb/5.1.1; +https://mastodon.social/) Bot",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "",
]


def hit(visitor, server, code, ua=IPHONE, method="GET"):
    resp = visitor.request(method, f"{server.url}/{code}", headers={"User-Agent": ua}, allow_redirects=False)
    assert resp.status_code == 302
    return resp


def stats(api, link):
    return api.get(f"/links/{link['id']}").json()["stats"]


def test_human_clicks_are_counted_and_repeat_visitors_are_not_unique(api, server, visitor, run_worker):
    link = api.link()
    for ua in (IPHONE, IPHONE, FIREFOX):
        hit(visitor, server, link["code"], ua)
    run_worker()
    assert stats(api, link) == {"clicks": 3, "unique_clicks": 2, "bot_hits": 0, "bots_by_family": {}}


@pytest.mark.parametrize("ua", BOTS)
def test_bots_and_link_previews_are_redirected_but_not_counted(api, server, visitor, run_worker, ua):
    link = api.link()
    hit(visitor, server, link["code"], ua)
    run_worker()
    family = classify(ua).family
    assert family and stats(api, link) == {"clicks": 0, "unique_clicks": 0, "bot_hits": 1,
                                           "bots_by_family": {family: 1}}  # fmt: skip


def test_head_requests_are_not_clicks(api, server, visitor, run_worker):
    link = api.link()
    hit(visitor, server, link["code"], method="HEAD")
    run_worker()
    assert stats(api, link) == {"clicks": 0, "unique_clicks": 0, "bot_hits": 1, "bots_by_family": {"head": 1}}


def test_a_counted_click_leaves_redis_for_the_archive_with_what_the_worker_made_of_it(
    api, server, visitor, run_worker, r, archive_dir
):
    link = api.link()
    tid = hit(visitor, server, link["code"]).headers["Location"].split("tid=")[1]
    run_worker()
    (event,) = [e for e in archive.read(archive_dir, api.brand["id"]) if e["id"] == tid]
    assert event["l"] == link["id"] and event["p"] == link["promotion_id"] and event["ua"] == IPHONE
    assert (event["browser"], event["os"], event["device"], event["bot"]) == ("Mobile Safari", "iOS", "iPhone", "")
    assert r.xlen(keys.clicks_stream(api.brand["id"])) == 0  # its raw event is gone from Redis
    seen = keys.clicks_seen(api.brand["id"], 0, time.strftime("%Y%m%d%H", time.gmtime(int(event["t"]) / 1000)))
    assert r.sismember(seen, scripts.click_digest(tid))  # its exactly-once marker, for the dedupe window
    assert 7 * 86400 - 60 < r.ttl(seen) <= 7 * 86400


def test_clicks_roll_into_hourly_daily_since_posting_and_all_time_buckets(api, server, visitor, run_worker, r):
    link = api.link()
    hit(visitor, server, link["code"])
    hit(visitor, server, link["code"], BOTS[0])
    run_worker()
    hour = time.strftime("%Y%m%d%H", time.gmtime())
    buckets = {
        k.decode(): int(v) for k, v in r.hgetall(keys.promotion_hours(api.brand["id"], link["promotion_id"])).items()
    }
    assert buckets == {f"{hour}:clicks": 1, f"{hour}:unique_clicks": 1, f"{hour}:bot_hits": 1}
    posted = datetime(2026, 3, 2, 12, tzinfo=UTC).timestamp()  # the fixture's posted_at
    since = f"D{int((time.time() - posted) // 86400)}"  # days since posting (hours only for the first 48)

    def read(key):
        return {k.decode(): v.decode() for k, v in r.hgetall(key(api.brand["id"], link["promotion_id"])).items()}

    day, by = hour[:8], f"bot:{classify(BOTS[0]).family}"
    days = {f"{day}:clicks": "1", f"{day}:unique_clicks": "1", f"{day}:bot_hits": "1", f"{day}:{by}": "1"}
    assert read(keys.promotion_days) == days
    assert read(keys.promotion_since) == {f"{since}:clicks": "1"}
    all_time = {"clicks": "1", "unique_clicks": "1", "bot_hits": "1", by: "1", "first": day, "last": day}
    assert read(keys.promotion_all_time) == all_time
    hit(visitor, server, link["code"])  # the same visitor within the hour: a click, not a unique one
    run_worker()
    assert read(keys.promotion_all_time) == {**all_time, "clicks": "2"}


def add_event(r, brand_id, link, tid, ts_ms, visitor="v1", ua=IPHONE):
    fields = {"id": tid, "c": link["code"], "l": link["id"], "p": link["promotion_id"], "t": ts_ms, "v": visitor}
    r.xadd(keys.clicks_stream(brand_id), {**fields, "ua": ua, "r": "", "cc": ""})


def test_a_report_over_part_of_a_promotions_days_reads_only_those(api, r, run_worker):
    link = api.link()
    now = int(time.time() * 1000)
    day_ms = 86_400_000
    for n, days_ago in enumerate((1, 3, 0, 3)):  # one at a time: the span widens both ways, batch by batch
        add_event(r, api.brand["id"], link, f"s{n}", now - days_ago * day_ms, visitor=f"v{n}")
        run_worker()

    def day(days_ago):
        return datetime.fromtimestamp((now - days_ago * day_ms) / 1000, UTC).date().isoformat()

    span = r.hmget(keys.promotion_all_time(api.brand["id"], link["promotion_id"]), "first", "last")
    assert [d.decode() for d in span] == [day(3).replace("-", ""), day(0).replace("-", "")]

    def clicks(**dates):
        return api.get("/reports", params={"by": "promotion", **dates}).json()["rows"][0]["clicks"]

    assert clicks() == 4
    assert clicks(to=day(2)) == 2
    assert clicks(**{"from": day(1)}) == 2
    assert clicks(**{"from": day(3), "to": day(0)}) == 4
    assert clicks(**{"from": day(30), "to": day(10)}) == 0


def test_a_visitor_is_unique_again_an_hour_after_their_last_unique_click(api, r, run_worker):
    link = api.link()
    t0 = int(time.time() * 1000) - 3 * 3600_000
    for n, offset_min in enumerate((0, 30, 59, 60, 61, 130)):
        add_event(r, api.brand["id"], link, f"t{n}", t0 + offset_min * 60_000)
    run_worker()
    # unique at 0, 60 (an hour after 0), 130 (an hour after 60); not at 30, 59, 61
    assert stats(api, link) == {"clicks": 6, "unique_clicks": 3, "bot_hits": 0, "bots_by_family": {}}


def test_the_same_click_delivered_twice_and_rerun_roll_ups_count_once(api, server, visitor, r, run_worker):
    link = api.link()
    add_event(r, api.brand["id"], link, "dup", int(time.time() * 1000))
    add_event(r, api.brand["id"], link, "dup", int(time.time() * 1000))  # e.g. a spool replay after a timeout
    run_worker()
    run_worker()
    assert stats(api, link)["clicks"] == 1


def test_entries_a_crashed_consumer_left_pending_are_counted_once(api, server, visitor, r, run_worker):
    link = api.link()
    for _ in range(5):
        hit(visitor, server, link["code"])
    stream = keys.clicks_stream(api.brand["id"])
    r.xgroup_create(stream, clicks.GROUP, id="0")
    taken = r.xreadgroup(clicks.GROUP, "crashed-worker", {stream: ">"}, count=3)  # read, never acknowledged
    assert len(taken[0][1]) == 3
    run_worker(CLAIM_IDLE_SECONDS=3600)  # not idle long enough: only the 2 unread are counted
    assert stats(api, link)["clicks"] == 2
    run_worker(CLAIM_IDLE_SECONDS=0)
    assert stats(api, link)["clicks"] == 5
    assert r.xpending(stream, clicks.GROUP)["pending"] == 0


def test_a_script_lost_mid_roll_up_is_loaded_again_and_nothing_is_lost(api, r, worker_config, monkeypatch):
    """The roll-up sends batch k's script with the read of batch k+1 and builds it meanwhile; Redis
    forgetting the script between two batches (restart, SCRIPT FLUSH) must cost nothing."""
    from tracker import config

    link = api.link()
    now = int(time.time() * 1000)
    for i in range(23):
        add_event(r, api.brand["id"], link, f"f{i}", now, visitor=f"v{i}")
    prepare, calls = clicks._prepare, []

    def prepare_and_flush(*args, **kwargs):
        calls.append(len(args[3]))
        if len(calls) in (2, 4):
            r.script_flush()  # while the previous batch's script is on its way to Redis, or after
        return prepare(*args, **kwargs)

    monkeypatch.setattr(clicks, "_prepare", prepare_and_flush)
    assert clicks.consume(r, api.brand["id"], "me", {**config.defaults(), **worker_config}, batch_size=5) == 23
    assert calls == [5, 5, 5, 5, 3]
    assert stats(api, link) == {"clicks": 23, "unique_clicks": 23, "bot_hits": 0, "bots_by_family": {}}
    assert r.xpending(keys.clicks_stream(api.brand["id"]), clicks.GROUP)["pending"] == 0


def test_the_scheduler_enqueues_one_roll_up_per_interval(r):
    from tracker import queues
    from workers import scheduler

    assert scheduler.tick(r, 60) is True
    assert scheduler.tick(r, 60) is False  # a second scheduler in the same interval
    assert queues.queue(r).count == 1
    assert queues.queue(r).jobs[0].func_name == queues.ROLLUP

"""The redirect: GET|HEAD /<code> over real HTTP against a real Redis."""

from __future__ import annotations

import json
import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from tests.conftest import SECRET, free_port
from tracker import clickid, embedded, keys

pytestmark = pytest.mark.cluster  # every test here runs on the standalone Redis and on the cluster


def click(visitor, server, code, **kw):
    return visitor.get(f"{server.url}/{code}", allow_redirects=False, **kw)


def events(r, brand_id):
    return [{k.decode(): v.decode() for k, v in f.items()} for _, f in r.xrange(keys.clicks_stream(brand_id))]


def test_a_click_redirects_with_a_signed_click_id_and_is_logged_once(api, server, visitor, r):
    link = api.link()
    resp = click(visitor, server, link["code"], headers={"Referer": "https://www.instagram.com/p/abc"})
    assert resp.status_code == 302
    assert resp.headers["Cache-Control"] == "private, no-store"
    location = resp.headers["Location"]
    assert location.startswith(link["tracked_url"] + "&tid=")
    tid = parse_qs(urlsplit(location).query)["tid"][0]
    verified = clickid.verify(tid, [SECRET.encode()])
    assert verified is not None and verified.code == link["code"]
    assert abs(verified.ts_ms / 1000 - time.time()) < 5
    [event] = events(r, api.brand["id"])
    assert event["id"] == tid and event["l"] == link["id"] and event["p"] == link["promotion_id"]
    assert event["r"] == "www.instagram.com" and "Safari" in event["ua"] and len(event["v"]) == 32
    assert "m" not in event


def test_the_raw_ip_is_never_stored(api, server, visitor, r):
    link = api.link()
    click(visitor, server, link["code"])
    everything = b"".join(r.dump(k) or b"" for k in r.scan_iter("*"))
    assert b"127.0.0.1" not in everything


def test_visitor_hash_is_stable_per_ip_and_agent(api, server, visitor, r):
    link = api.link()
    click(visitor, server, link["code"])
    click(visitor, server, link["code"])
    click(visitor, server, link["code"], headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
    v = [e["v"] for e in events(r, api.brand["id"])]
    assert v[0] == v[1] != v[2]


def test_the_click_id_goes_before_the_fragment_and_keeps_the_query(api, server, visitor):
    link = api.link(destination_url="https://shop.example/p?size=m#reviews")
    location = click(visitor, server, link["code"]).headers["Location"]
    parts = urlsplit(location)
    assert parts.fragment == "reviews"
    q = parse_qs(parts.query)
    assert q["size"] == ["m"] and "tid" in q


def test_the_brand_can_rename_the_click_id_parameter(api, server, visitor):
    link = api.link()
    api.patch("/brand", json={"click_param": "il_click"})
    deadline = time.monotonic() + 5  # the redirect's link cache (0.3 s here) learns the change
    while "il_click" not in (q := parse_qs(urlsplit(click(visitor, server, link["code"]).headers["Location"]).query)):
        assert time.monotonic() < deadline, "the redirect still uses the old parameter 5 s after the change"
        time.sleep(0.02)
    assert "tid" not in q


def test_codes_are_case_insensitive(api, server, visitor):
    api.link(code="SpringSale")
    assert click(visitor, server, "springsale").status_code == 302


def test_head_is_redirected_but_flagged(api, server, visitor, r):
    link = api.link()
    resp = visitor.head(f"{server.url}/{link['code']}", allow_redirects=False)
    assert resp.status_code == 302 and "tid=" in resp.headers["Location"]
    assert events(r, api.brand["id"])[0]["m"] == "HEAD"


def test_unknown_codes_are_a_404_page(server, visitor, r):
    resp = click(visitor, server, "doesnotexist")
    assert resp.status_code == 404 and "text/html" in resp.headers["Content-Type"]
    assert "not found" in resp.text.lower()


def test_a_disabled_link_stops_redirecting_within_seconds(api, server, visitor, r):
    link = api.link()
    assert click(visitor, server, link["code"]).status_code == 302
    api.patch(f"/links/{link['id']}", json={"disabled": True})
    deadline = time.monotonic() + 5
    while click(visitor, server, link["code"]).status_code == 302:
        assert time.monotonic() < deadline, "still redirecting 5 s after being disabled"
        time.sleep(0.05)
    resp = click(visitor, server, link["code"])
    assert resp.status_code == 410 and "disabled" in resp.text
    n = len(events(r, api.brand["id"]))
    click(visitor, server, link["code"])
    assert len(events(r, api.brand["id"])) == n  # a 410 logs nothing


def test_an_expired_link_is_410(api, server, visitor):
    link = api.link(expires_at="2020-01-01T00:00:00Z")
    assert click(visitor, server, link["code"]).status_code == 410


def test_country_from_the_configured_cdn_header_and_ip_behind_a_proxy(api, make_server_with, visitor, r):
    live = make_server_with(COUNTRY_HEADER="CF-IPCountry", PROXY_COUNT=1)
    link = api.link()
    for ip in ("203.0.113.7", "203.0.113.7", "198.51.100.1"):
        headers = {"CF-IPCountry": "DE", "X-Forwarded-For": f"10.0.0.1, {ip}"}
        assert click(visitor, live, link["code"], headers=headers).status_code == 302
    evs = events(r, api.brand["id"])
    assert [e["cc"] for e in evs] == ["DE", "DE", "DE"]
    assert evs[0]["v"] == evs[1]["v"] != evs[2]["v"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("x" if t[-1] != "x" else "y"),  # another code
        lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # another time
        lambda t: t[:20] + ("A" if t[20] != "A" else "B") + t[21:],  # another signature
        lambda t: t[:27],  # truncated
        lambda t: "",
    ],
)
def test_altered_click_ids_do_not_verify(tamper):
    tid = clickid.make("jane-spring", 1_760_000_000_000, b"k1")
    assert clickid.verify(tid, [b"k1"]) == clickid.Click("jane-spring", 1_760_000_000_000)
    assert clickid.verify(tamper(tid), [b"k1"]) is None


def test_click_ids_from_another_key_do_not_verify_but_rotated_keys_do():
    tid = clickid.make("abc", 1, b"old")
    assert clickid.verify(tid, [b"forger"]) is None
    assert clickid.verify(tid, [b"new", b"old"]) is not None


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own, which the test may stop and start again."""
    port = free_port()
    state = {"proc": embedded.start(port, persist=False), "port": port}
    yield state
    state["proc"].terminate()
    state["proc"].wait(10)


def test_redirects_survive_a_redis_outage_and_spooled_clicks_are_replayed(own_redis, make_server_with, visitor):
    url = f"redis://127.0.0.1:{own_redis['port']}/0"
    live = make_server_with(REDIS_URL=url, LINK_CACHE_SECONDS=0.2)
    from tests.conftest import Api, Clock
    from tracker.brands.model import create_brand

    clock = live.app.links.clock = Clock()  # the link cache's own time, moved below instead of waited for

    own = redis.Redis.from_url(url)
    brand, key = create_brand(own, "Outage")
    link = Api(live.url, brand, key).link()
    assert click(visitor, live, link["code"]).status_code == 302  # warms the cache

    own_redis["proc"].terminate()
    own_redis["proc"].wait(10)
    clock.now += 0.3  # past the cache's freshness: now only the stale copy is there
    down = [click(visitor, live, link["code"]) for _ in range(3)]
    assert [d.status_code for d in down] == [302, 302, 302]
    assert click(visitor, live, "neverseen").status_code == 503  # unknown, unresolvable: not a 500

    own_redis["proc"] = embedded.start(own_redis["port"], persist=False)
    stream = keys.clicks_stream(brand["id"])
    deadline = time.monotonic() + 10
    while own.xlen(stream) < 3:
        assert time.monotonic() < deadline, "spooled clicks were not replayed"
        time.sleep(0.1)
    replayed = {f[b"id"].decode() for _, f in own.xrange(stream)}
    sent = {parse_qs(urlsplit(d.headers["Location"]).query)["tid"][0] for d in down}
    assert replayed == sent
    own.close()


def test_other_paths_are_left_to_the_app(server):
    assert requests.get(f"{server.url}/").json()["api"] == "/api/v1"
    posted = requests.post(f"{server.url}/somecode")
    assert posted.status_code == 404 and posted.json()["code"] == 404  # JSON from Flask, not a redirect
    assert json.loads(requests.get(f"{server.url}/healthz").text)["status"] == "ok"


def test_clicks_spooled_before_a_restart_are_replayed_at_start_up(make_server_with, r, tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    left = spool_dir / "clicks-thishost-7.jsonl"  # a web process that stopped during an outage
    left.write_text(json.dumps({"s": "il:{b:x}:clicks", "f": {"id": "a1", "t": "1"}}) + "\n")
    orphan = spool_dir / "clicks-otherhost-1.replay-otherhost-1-1"  # a replayer that crashed
    orphan.write_text(json.dumps({"s": "il:{b:x}:clicks", "f": {"id": "a2", "t": "1"}}) + "\n")
    old = time.time() - 120
    os.utime(orphan, (old, old))
    make_server_with(SPOOL_DIR=str(spool_dir))
    deadline = time.monotonic() + 10
    while r.xlen("il:{b:x}:clicks") < 2:
        assert time.monotonic() < deadline, "leftover spool files were not replayed"
        time.sleep(0.1)
    assert sorted(f[b"id"] for _, f in r.xrange("il:{b:x}:clicks")) == [b"a1", b"a2"]
    assert not any(spool_dir.iterdir())

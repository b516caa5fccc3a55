"""Why a hit is not a click: HEAD by rule, bot families counted exactly once in link and report
stats, and a brand's own patterns to exclude or count user agents (through the API)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.test_clicks import BOTS, IPHONE, hit, stats
from tracker import config, keys
from tracker.useragent import classify
from workers import archive, clicks

# A brand's own synthetic checks in a real browser, and a partner app the classifier flags.
CHECKS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 AcmeQA/2.1"
)
PARTNER = "python-requests/2.31.0 PartnerSync/4.0"


def event(r, api, link, tid, ts_ms, ua, visitor="v1", method=None):
    """One click as the redirect writes it to the brand's stream."""
    fields = {"id": tid, "c": link["code"], "l": link["id"], "p": link["promotion_id"], "t": ts_ms, "v": visitor}
    fields.update({"ua": ua, "r": "", "cc": ""}, **({"m": method} if method else {}))
    r.xadd(keys.clicks_stream(api.brand["id"]), fields)


def families(api, **params):
    return api.get("/reports", params={"by": "promotion", **params}).json()["totals"]["bots_by_family"]


def test_a_head_request_from_a_real_browser_is_a_bot_hit_of_family_head_and_is_not_classified(
    api, server, visitor, run_worker, archive_dir
):
    link = api.link()
    tid = hit(visitor, server, link["code"], IPHONE, method="HEAD").headers["Location"].split("tid=")[1]
    run_worker()
    assert stats(api, link) == {"clicks": 0, "unique_clicks": 0, "bot_hits": 1, "bots_by_family": {"head": 1}}
    (event,) = [e for e in archive.read(archive_dir, api.brand["id"]) if e["id"] == tid]
    assert (event["m"], event["bot"], event["browser"], event["os"], event["device"]) == ("HEAD", "head", "", "", "")


def test_bot_families_are_counted_exactly_once_in_link_and_report_stats(api, r, run_worker):
    link = api.link()
    now = int(time.time() * 1000)
    bots = BOTS[:6] + [""]
    for n, ua in enumerate(bots):
        event(r, api, link, f"b{n}", now, ua, visitor=f"b{n}")
    event(r, api, link, "h0", now, IPHONE, method="HEAD")
    event(r, api, link, "h0", now, IPHONE, method="HEAD")  # delivered twice (a spool replay)
    event(r, api, link, "c0", now, IPHONE)
    stream = keys.clicks_stream(api.brand["id"])
    r.xgroup_create(stream, clicks.GROUP, id="0")
    assert len(r.xreadgroup(clicks.GROUP, "crashed-worker", {stream: ">"}, count=4)[0][1]) == 4  # never acked
    run_worker(CLAIM_IDLE_SECONDS=3600)
    run_worker(CLAIM_IDLE_SECONDS=0)  # the crashed worker's entries now
    run_worker(CLAIM_IDLE_SECONDS=0)  # and nothing more
    expected: dict[str, int] = {"head": 1}
    for ua in bots:
        expected[classify(ua).family] = expected.get(classify(ua).family, 0) + 1
    assert "" not in expected
    s = stats(api, link)
    assert (s["clicks"], s["bot_hits"], s["bots_by_family"]) == (1, len(bots) + 1, expected)
    assert families(api) == expected
    today = datetime.fromtimestamp(now / 1000, UTC).date().isoformat()
    assert families(api, **{"from": today, "to": today}) == expected  # read from the days, field by field
    assert families(api, to="2026-01-01") == {}
    assert api.get("/reports", params={"by": "promotion"}).json()["rows"][0]["bots_by_family"] == expected
    assert r.xpending(stream, clicks.GROUP)["pending"] == 0


def test_the_openapi_document_describes_bot_families_and_patterns(api, server):
    spec = api.http.get(f"{server.url}/api/openapi.json").json()
    assert "bots_by_family" in spec["components"]["schemas"]["LinkStats"]["properties"]
    assert {"get", "put"} <= set(spec["paths"]["/api/v1/brand/bot-patterns"])


def test_bot_patterns_start_empty_and_are_saved_with_a_version(api):
    assert api.get("/brand/bot-patterns").json() == {"exclude": [], "count": [], "version": 0, "updated_at": None}
    resp = api.put("/brand/bot-patterns", json={"exclude": ["AcmeUptime/", r"^Mozilla/5\.0 \(compatible; Acme"]})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["exclude"][0], resp.json()["count"], resp.json()["version"]) == ("AcmeUptime/", [], 1)
    assert api.put("/brand/bot-patterns", json={"count": ["PartnerSync/"]}).json()["version"] == 2
    assert api.get("/brand/bot-patterns").json()["exclude"] == []  # PUT replaces both lists


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"exclude": ["(unclosed"]}, "exclude.0", "Not a valid RE2 regular expression: missing )"),
        ({"count": ["ok", r"(?<=lookbehind)x"]}, "count.1", "Not a valid RE2 regular expression"),
        ({"exclude": ["x*"]}, "exclude.0", "Must not match an empty string"),
        ({"exclude": [""]}, "exclude.0", "Length must be between 1 and 200"),
        ({"exclude": ["a" * 201]}, "exclude.0", "Length must be between 1 and 200"),
        ({"count": [f"app{n}" for n in range(51)]}, "count", "Longer than maximum length 50"),
        ({"exclude": "AcmeUptime"}, "exclude", "Not a valid list"),
        ({"exclude": [7]}, "exclude.0", "Not a valid string"),
        ({"exclude": [], "bots": []}, "bots", "Unknown field"),
    ],
)
def test_bad_bot_patterns_are_422s_naming_the_field(api, body, field, says):
    resp = api.put("/brand/bot-patterns", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["message"].startswith(f"{field}: {says}"), resp.json()
    assert api.get("/brand/bot-patterns").json()["version"] == 0  # nothing saved


def test_exclude_and_count_patterns_apply_to_clicks_rolled_up_after_the_change_of_their_brand_only(
    new_brand, server, visitor, run_worker
):
    assert not classify(CHECKS).bot and classify(PARTNER).bot  # what the patterns are there to change
    acme, other = new_brand("Acme"), new_brand("Other")
    link, other_link = acme.link(), other.link()
    for ua in (CHECKS, PARTNER):
        hit(visitor, server, link["code"], ua)
    run_worker()
    assert stats(acme, link)["clicks"] == 1  # before the patterns: the browser checks count, the partner not
    saved = acme.put("/brand/bot-patterns", json={"exclude": ["acmeqa/"], "count": ["PARTNERSYNC/"]})
    assert saved.status_code == 200, saved.text
    for code in (link["code"], other_link["code"]):
        for ua in (CHECKS, PARTNER, IPHONE):
            hit(visitor, server, code, ua)
    hit(visitor, server, link["code"], PARTNER, method="HEAD")  # HEAD stays a bot hit whatever the patterns
    run_worker()
    s = stats(acme, link)
    assert (s["clicks"], s["bot_hits"]) == (1 + 2, 1 + 2)  # partner and iPhone count; checks and HEAD do not
    assert s["bots_by_family"] == {classify(PARTNER).family: 1, "brand-rule": 1, "head": 1}
    o = stats(other, other_link)  # the other brand: the classifier alone
    assert (o["clicks"], o["bot_hits"], o["bots_by_family"]) == (2, 1, {classify(PARTNER).family: 1})
    assert families(acme)["brand-rule"] == 1 and "brand-rule" not in families(other)


def test_a_worker_compiles_a_brands_patterns_again_only_when_their_version_moved(api, r, worker_config):
    link = api.link()
    now = int(time.time() * 1000)
    cfg = {**config.defaults(), **worker_config}
    event(r, api, link, "m1", now, CHECKS, visitor="m1")
    assert clicks.consume(r, api.brand["id"], "me", cfg, batch_size=10) == 1
    compiled = clicks.RULES.of(api.brand["id"])
    assert clicks.consume(r, api.brand["id"], "me", cfg, batch_size=10) == 0
    assert clicks.RULES.of(api.brand["id"]) is compiled  # unchanged: not compiled again
    assert api.put("/brand/bot-patterns", json={"exclude": ["AcmeQA"]}).status_code == 200
    event(r, api, link, "m2", now, CHECKS, visitor="m2")
    assert clicks.consume(r, api.brand["id"], "me", cfg, batch_size=10) == 1  # the same worker, the new patterns
    assert clicks.RULES.of(api.brand["id"]) is not compiled
    s = stats(api, link)
    assert (s["clicks"], s["bots_by_family"]) == (1, {"brand-rule": 1})

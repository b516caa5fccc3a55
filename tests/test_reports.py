"""Reports and the comparison, checked against numbers computed by hand (see the scenario)."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests import platforms
from tests.conftest import environment
from tracker import keys, queues

pytestmark = pytest.mark.cluster  # every test here runs on the standalone Redis and on the cluster

POSTED = datetime(2026, 10, 1, tzinfo=UTC)
UA1 = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
UA2 = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
UA3 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
UA4 = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)


class Scenario:
    """Two micro long-running posts (A, B), one celebrity 24-hour story (C), a macro post (D).

    A: micro 50k, flat $100, 10% commission. Orders (by code MICROA): $50 at +2h, $30 at +30h
       refunded $10, EUR 20.00 at +120h (rate 1.10 -> $22). Clicks now: UA1, UA1, UA2 + a bot.
       -> conversions 3, revenue 5000+2000+2200 = 9200, spend 10000 + 920 = 10920.
    B: micro 20k, flat $50, 10 cents a click. Orders (MICROB): $40 at +50h; $25 at +3h fully
       refunded. Clicks now: UA1, UA1. -> conversions 1, revenue 4000, spend 5000 + 20 = 5020.
    C: celebrity 2M, timeboxed 24h, flat $2000. Orders (CELEB): $300 at +1h (delivered twice),
       $200 at +10h, $100 at +26h. Clicks now: UA1..UA4 + a HEAD. -> 3, 60000, 200000.
    D: macro 300k, long-running: not in either group. Unattributed: $15 with no key, $5 'NOPE'.
    """

    def __init__(self, api, server, visitor):
        self.api, self.server, self.visitor = api, server, visitor
        self.secret = api.post("/integrations/generic/secrets", json={}).json()["secret"]
        camp = api.create(
            "/campaigns", name="Autumn", slug="autumn", destination_url="https://s.example/", starts_on="2026-10-01"
        )
        self.promos = {}
        for name, followers, style, cost, code in (
            ("A", 50_000, "long_running", {"flat_fee": 10_000, "commission_percent": "10"}, "MICROA"),
            ("B", 20_000, "long_running", {"flat_fee": 5_000, "cost_per_click": 10}, "MICROB"),
            ("C", 2_000_000, "timeboxed", {"flat_fee": 200_000}, "CELEB"),
            ("D", 300_000, "long_running", {"flat_fee": 1_000}, "MACRO"),
        ):
            inf = api.create("/influencers", handle=f"inf{name}", platform="instagram", followers=followers)
            self.promos[name] = api.create(
                "/promotions", campaign_id=camp["id"], influencer_id=inf["id"], style=style,
                posted_at=POSTED.isoformat(), cost=cost, discount_codes=[code],
            )  # fmt: skip
        self.links = {n: api.create("/links", promotion_id=p["id"]) for n, p in self.promos.items()}
        api.put("/brand/rates/EUR", json={"rate": "1.10"})

    def order(self, order_id, amount, code=None, hours=0, currency="USD"):
        signed = platforms.generic_order(
            self.secret, order_id=order_id, amount=amount, currency=currency, discount_code=code,
            occurred_at=POSTED + timedelta(hours=hours),
        )  # fmt: skip
        resp = requests.post(
            f"{self.server.url}/webhooks/{self.api.brand['id']}/generic", data=signed[0], headers=signed[1]
        )
        assert resp.status_code == 200, resp.text

    def refund(self, order_id, refund_id, amount):
        signed = platforms.generic_refund(
            self.secret, order_id=order_id, refund_id=refund_id, amount=amount, currency="USD"
        )
        requests.post(f"{self.server.url}/webhooks/{self.api.brand['id']}/generic", data=signed[0], headers=signed[1])

    def click(self, name, ua, method="GET"):
        url = f"{self.server.url}/{self.links[name]['code']}"
        assert self.visitor.request(method, url, headers={"User-Agent": ua}, allow_redirects=False).status_code == 302

    def add_clear_difference(self):
        """Six more micro long-running and celebrity 24-hour promotions, two orders each, so the
        bootstrap has promotions to resample. With play(): micro 23440 spend over 16 conversions
        (14.65 USD each), celebrity 741500 over 15 (494.33 USD each)."""
        for n in range(6):
            for name, followers, style, fee, revenue in (
                ("m", 30_000, "long_running", 1_000, 5_000),
                ("c", 3_000_000, "timeboxed", 90_000, 20_000),
            ):
                inf = self.api.create("/influencers", handle=f"{name}{n}", platform="tiktok", followers=followers)
                code = f"{name.upper()}{n}"
                self.api.create("/promotions", campaign_id=self.promos["A"]["campaign_id"], influencer_id=inf["id"],
                                style=style, posted_at=POSTED.isoformat(), cost={"flat_fee": fee + 100 * n},
                                discount_codes=[code])  # fmt: skip
                for k in range(2):  # micro orders spread over days, celebrity ones within the story's day
                    self.order(f"{code}-{k}", revenue, code, 5 + k + (24 * n if style == "long_running" else 2 * n))

    def play(self):
        self.order("o1", 5000, "MICROA", 2)
        self.order("o2", 3000, "MICROA", 30)
        self.refund("o2", "r2", 1000)
        self.order("o3", 2000, "MICROA", 120, "EUR")
        self.order("o4", 4000, "MICROB", 50)
        self.order("o5", 2500, "MICROB", 3)
        self.refund("o5", "r5", 2500)
        self.order("o6", 30000, "CELEB", 1)
        self.order("o6", 30000, "CELEB", 1)  # a duplicate delivery
        self.order("o7", 20000, "CELEB", 10)
        self.order("o8", 10000, "CELEB", 26)
        self.order("o9", 1500, None, 5)
        self.order("o10", 500, "NOPE", 6)
        for ua in (UA1, UA1, UA2, "Twitterbot/1.0"):
            self.click("A", ua)
        for ua in (UA1, UA1):
            self.click("B", ua)
        for ua in (UA1, UA2, UA3, UA4):
            self.click("C", ua)
        self.click("C", UA1, "HEAD")


def rows_by(api, by, **params):
    report = api.get("/reports", params={"by": by, **params}).json()
    return report, {row[by]: row for row in report["rows"]}


def test_metrics_per_promotion_match_the_hand_computation(scenario, api):
    report, rows = rows_by(api, "promotion")
    a, b, c = (rows[scenario.promos[n]["id"]] for n in "ABC")
    assert (a["conversions"], a["revenue"], a["spend"], a["refunds"]) == (3, 9200, 10920, 1000)
    assert (a["clicks"], a["unique_clicks"], a["bot_hits"]) == (3, 2, 1)
    assert a["cost_per_conversion"] == 3640 and a["average_order_value"] == 3067  # 10920/3, 9200/3
    assert (a["roas"], a["roi"], a["conversion_rate"]) == ("0.8425", "-0.1575", "1.5000")
    assert a["cost_per_click"] == 3640 and a["click_through_on_followers"] == "0.0001"
    assert (b["conversions"], b["revenue"], b["spend"], b["refunds"], b["clicks"], b["unique_clicks"]) == (
        1,
        4000,
        5020,
        2500,
        2,
        1,
    )
    assert (c["conversions"], c["revenue"], c["spend"], c["cost_per_conversion"]) == (3, 60000, 200000, 66667)
    assert (c["clicks"], c["unique_clicks"], c["bot_hits"], c["roi"]) == (4, 4, 1, "-0.7000")
    assert report["unattributed"] == {
        "orders": 2,
        "revenue": 2000,
        "unconverted_revenue": {},
        "by_reason": {"no_key": 1, "unknown_code": 1},
    }
    assert report["totals"]["conversions"] == 7 and report["totals"]["spend"] == 10920 + 5020 + 200000 + 1000
    assert report["rolled_up_at"] is not None


def test_metrics_by_tier_influencer_and_campaign(scenario, api):
    _, tiers = rows_by(api, "tier")
    assert tiers["micro"]["conversions"] == 4 and tiers["micro"]["spend"] == 15940
    assert tiers["micro"]["cost_per_conversion"] == 3985 and tiers["celebrity"]["cost_per_conversion"] == 66667
    assert tiers["macro"]["conversions"] == 0 and tiers["macro"]["cost_per_conversion"] is None
    assert tiers["macro"]["roas"] == "0.0000" and tiers["macro"]["average_order_value"] is None
    _, people = rows_by(api, "influencer")
    assert people[scenario.promos["C"]["influencer_id"]]["name"] == "@infC (instagram)"
    report, camps = rows_by(api, "campaign")
    assert len(camps) == 1 and next(iter(camps.values()))["revenue"] == 9200 + 4000 + 60000


def test_a_date_range_keeps_only_its_days(scenario, api):
    _, rows = rows_by(api, "promotion", **{"from": "2026-10-01", "to": "2026-10-02"})
    a = rows[scenario.promos["A"]["id"]]
    assert (a["conversions"], a["revenue"], a["clicks"], a["spend"]) == (2, 7000, 0, 10700)
    _, later = rows_by(api, "promotion", **{"from": "2026-10-03"})
    assert later[scenario.promos["A"]["id"]]["spend"] == 220  # no flat fee: posted before the range
    bad = api.get("/reports", params={"from": "2026-10-05", "to": "2026-10-01"})
    assert bad.status_code == 422 and "to" in bad.json()["errors"]["query"]


def test_the_comparison_of_micro_long_running_and_celebrity_24h(scenario, api):
    result = api.get("/reports/comparison").json()
    micro, celeb = result["groups"]
    assert (micro["name"], celeb["name"]) == ("micro long-running", "celebrity timeboxed")
    assert list(micro)[3] == "cost_per_conversion"  # cost per conversion first
    assert (micro["conversions"], micro["revenue"], micro["spend"], micro["cost_per_conversion"]) == (
        4,
        13200,
        15940,
        3985,
    )
    assert (micro["first_24h_conversions"], micro["after_24h_conversions"], micro["long_tail_share"]) == (
        1,
        3,
        "0.7500",
    )
    assert micro["first_24h_revenue_share"] == "0.3788" and micro["half_life_hours"] == 31
    assert (celeb["first_24h_share"], celeb["half_life_hours"], celeb["payback_day"]) == ("0.6667", 11, None)
    days = {d["day"]: d for d in micro["days"]}
    assert (days[0]["conversions"], days[0]["revenue"], days[0]["spend"]) == (1, 5000, 15500)
    assert (days[1]["cumulative_conversions"], days[1]["cumulative_revenue"], days[1]["cumulative_spend"]) == (
        2,
        7000,
        15700,
    )
    assert days[0]["cumulative_roi"] == "-0.6774"
    assert (days[5]["cumulative_revenue"], days[5]["cumulative_spend"]) == (13200, 15920)
    assert micro["days"][-1]["cumulative_spend"] == 15940 and micro["payback_day"] is None
    diff = result["cost_per_conversion_difference"]
    assert diff["difference"] == 3985 - 66667 and diff["low"] is None  # one celebrity promotion: no interval
    assert result["verdict"].startswith("Not enough data")


def test_a_clear_difference_gets_a_plain_verdict(api, server, visitor, run_worker):
    s = Scenario(api, server, visitor)
    s.add_clear_difference()
    run_worker()
    result = api.get("/reports/comparison").json()
    diff = result["cost_per_conversion_difference"]
    assert diff["low"] is not None and diff["high"] < 0  # micro is cheaper, with room to spare
    assert (
        result["verdict"].startswith("micro long-running cost ")
        and "less per conversion than celebrity timeboxed" in result["verdict"]
    )


def test_groups_are_chosen_by_the_brand_and_an_empty_group_is_all_nulls(scenario, api):
    result = api.get("/reports/comparison", params={"group_a": "*:long_running", "group_b": "nano:timeboxed"}).json()
    every, empty = result["groups"]
    assert every["promotions"] == 3 and every["conversions"] == 4
    assert (empty["promotions"], empty["conversions"], empty["cost_per_conversion"], empty["roi"]) == (0, 0, None, None)
    assert (empty["days"], empty["half_life_hours"], empty["first_24h_share"]) == ([], None, None)
    assert result["verdict"].startswith("Not enough data")
    bad = api.get("/reports/comparison", params={"group_a": "mega:long_running"})
    assert bad.status_code == 422 and "group_a" in bad.json()["errors"]["query"]


def test_curves_per_promotion_on_demand(scenario, api):
    result = api.get("/reports/comparison", params={"per_promotion": "true"}).json()
    by = {p["promotion_id"]: p for p in result["groups"][1]["by_promotion"]}
    c = by[scenario.promos["C"]["id"]]
    assert [d["cumulative_conversions"] for d in c["days"][:2]] == [2, 3]


def test_reports_as_csv(scenario, api):
    resp = api.get("/reports/comparison", params={"format": "csv"})
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["name"] for r in rows] == ["micro long-running", "celebrity timeboxed"]
    assert rows[0]["cost_per_conversion"] == "3985" and rows[0]["verdict"].startswith("Not enough data")
    curves = api.get("/reports/comparison", params={"format": "csv", "table": "curves"}).text
    assert curves.splitlines()[0].startswith("group,day,conversions,revenue,spend,cumulative_conversions")
    by_accept = api.get("/reports", params={"by": "tier"}, headers={"Accept": "text/csv"})
    assert by_accept.headers["Content-Type"].startswith("text/csv") and by_accept.text.startswith(
        "tier,name,cost_per_conversion"
    )


def test_currencies_without_a_rate_are_reported_apart(scenario, api, r):
    api.delete("/brand/rates/EUR")
    _, rows = rows_by(api, "promotion")
    a = rows[scenario.promos["A"]["id"]]
    assert a["revenue"] == 7000 and a["unconverted_revenue"] == {"EUR": 2000}


def click_at(shop, server, at: datetime) -> str:
    """A click on the shop's link through the real redirect, as if made at `at` (a fixed clock)."""
    ua = shop.visitor.headers["User-Agent"]
    environ = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": ua}
    status, headers, _ = server.app.handle(environ, shop.link["code"], at.timestamp())
    assert status.startswith("302"), status
    return parse_qs(urlsplit(dict(headers)["Location"]).query)["tid"][0]


def orders_after_clicks(shop, hours: tuple[float, ...], server=None, at: datetime | None = None) -> list[datetime]:
    """One click and one order by its click id `h` hours later, for each h; returns the orders' times.
    With `at`, every click is made at that fixed time (through `server`'s redirect), not now."""
    from tracker import clickid

    times = []
    for h in hours:
        tid = click_at(shop, server, at) if at else shop.click()
        clicked = datetime.fromtimestamp(clickid.verify(tid, [b"test-secret-key"]).ts_ms / 1000, UTC)
        times.append(clicked + timedelta(hours=h))
        resp = shop.post("generic", platforms.generic_order(shop.secrets["generic"], order_id=f"t{h}-{time.time_ns()}",
                                                            amount=100, currency="USD", click_id=tid,
                                                            occurred_at=times[-1]))  # fmt: skip
        assert resp.status_code == 200, resp.text
    return times


def test_time_to_conversion_median_and_p90(api, shop, run_worker):
    orders_after_clicks(shop, (1, 2, 2, 3, 10))
    run_worker()
    row = api.get("/reports", params={"by": "promotion"}).json()["rows"][0]
    assert row["median_time_to_conversion_seconds"] == pytest.approx(7200, rel=0.03)
    assert row["p90_time_to_conversion_seconds"] == pytest.approx(36000, rel=0.03)


def test_time_to_conversion_within_dates_counts_only_their_orders(api, shop, server, run_worker):
    """Reports covering all of a promotion's conversions read its all-time histogram; narrower
    dates sum its histograms by day: both must give the figures of the orders in the dates.
    The clicks are made at a fixed time of day (at 22:00-24:00 the 50-hour order would fall a day later)."""
    times = orders_after_clicks(shop, (1, 1, 1, 48, 50), server, at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    run_worker()
    early, late = times[0].date(), times[3].date()  # 47 hours apart: never the same day

    def row(**dates):
        return api.get("/reports", params={"by": "promotion", **dates}).json()["rows"][0]

    def figures(r):
        return r["conversions"], r["median_time_to_conversion_seconds"], r["p90_time_to_conversion_seconds"]

    every = figures(row())
    assert every == figures(row(**{"from": early.isoformat(), "to": late.isoformat()}))
    assert every[0] == 5 and every[1] == pytest.approx(3600, rel=0.03) and every[2] == pytest.approx(180000, rel=0.03)
    first = figures(row(to=early.isoformat()))
    assert first[0] == 3 and first[1] == first[2] == pytest.approx(3600, rel=0.03)
    second = figures(row(**{"from": late.isoformat()}))
    assert second[0] == 2
    assert second[1] == pytest.approx(48 * 3600, rel=0.03) and second[2] == pytest.approx(50 * 3600, rel=0.03)


def test_roll_ups_in_the_first_release_layout_are_migrated_once(scenario, api, shop, r, run_worker):
    """The first release kept the since-posting fields in the daily hash and had no all-time
    hash or histogram: the roll-up, or a report, brings them to today's layout, once."""
    orders_after_clicks(shop, (1, 2, 2, 3, 10))
    run_worker()
    brand = api.brand["id"]

    def reports():
        rows = api.get("/reports", params={"by": "promotion"}).json()["rows"]
        dated = api.get("/reports", params={"by": "promotion", "from": "2026-10-01", "to": "2026-10-02"}).json()
        return rows, dated["rows"], api.get("/reports/comparison").json()["groups"]

    def to_first_release_layout():
        for promotion in (p.decode() for p in r.hkeys(keys.entities(brand, "promotion"))):
            since = r.hgetall(keys.promotion_since(brand, promotion))
            if since:
                r.hset(keys.promotion_days(brand, promotion), mapping=since)
            all_time = (keys.promotion_since, keys.promotion_all_time, keys.ttc_all_time)
            r.delete(*(key(brand, promotion) for key in all_time))
        r.delete(keys.schema(brand))

    before = reports()
    assert sum(row["conversions"] for row in before[1]) == 5  # the dates hold a part of the orders
    to_first_release_layout()
    run_worker()  # the roll-up migrates
    a = scenario.promos["A"]["id"]
    assert not [f for f in r.hkeys(keys.promotion_days(brand, a)) if f[:1] in b"sD"]
    assert r.hget(keys.promotion_since(brand, a), "s2:conversions") == b"1"
    assert reports() == before
    to_first_release_layout()
    assert reports() == before  # and so does a report
    assert r.hexists(keys.schema(brand), "rollups-v2")
    run_worker()  # once: nothing added
    assert reports() == before
    orders_after_clicks(shop, (10, 10))  # new orders count once, on top
    run_worker()
    after = next(row for row in reports()[0] if row["promotion"] == shop.promotion["id"])
    assert after["conversions"] == 7
    assert after["median_time_to_conversion_seconds"] == pytest.approx(3 * 3600, rel=0.03)
    assert after["p90_time_to_conversion_seconds"] == pytest.approx(36000, rel=0.03)


def test_the_bootstrap_interval_depends_on_the_figures_not_the_order_of_promotions():
    import random
    from decimal import Decimal

    from tracker.reports.model import Promo, Totals, bootstrap_difference

    def promos(figures):
        return [Promo({}, "micro", Totals(spend=s, conversions=c), {}, Decimal(0), "USD") for s, c in figures]

    micro = [(20_000, 9), (20_000, 4), (15_000, 6), (30_000, 11), (10_000, 0), (25_000, 7)]
    celebrity = [(500_000, 40), (400_000, 12), (600_000, 30), (450_000, 25)]
    first = bootstrap_difference(promos(micro), promos(celebrity))
    assert first["resamples"] > 1900 and first["low"] < first["difference"] < first["high"]
    for seed in range(5):
        rng = random.Random(seed)
        assert bootstrap_difference(promos(rng.sample(micro, 6)), promos(rng.sample(celebrity, 4))) == first


def test_refresh_on_demand_returns_a_job_with_progress(api, server, visitor, new_brand, burst_worker):
    link = api.link()
    visitor.get(f"{server.url}/{link['code']}", allow_redirects=False)
    resp = api.post("/reports/refresh")
    assert resp.status_code == 202
    job_id = resp.json()["job_id"]
    assert api.get(f"/reports/jobs/{job_id}").json()["status"] == "queued"
    assert new_brand("Rival").get(f"/reports/jobs/{job_id}").status_code == 404
    burst_worker()
    job = api.get(f"/reports/jobs/{job_id}").json()
    assert job["status"] == "finished" and job["result"]["clicks"] == 1
    assert job["progress"]["brands_done"] == 1
    assert api.get(f"/links/{link['id']}").json()["stats"]["clicks"] == 1


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(api, r, queue_r, worker_config, run_worker):
    """A real worker process is killed while rolling up; the next run takes over its pending entries."""
    link = api.link()
    stream = keys.clicks_stream(api.brand["id"])
    n = 20_000
    now = int(time.time() * 1000)
    with r.pipeline(transaction=False) as p:
        for i in range(n):
            fields = {"id": f"k{i}", "l": link["id"], "p": link["promotion_id"], "t": now, "v": f"v{i}", "ua": UA1}
            p.xadd(stream, fields)
        p.execute()
    env = {**os.environ, **environment(worker_config), "ROLLUP_BATCH_SIZE": "50", "CLAIM_IDLE_SECONDS": "3600"}
    for _attempt in range(10):  # a kill can land between two batches; then kill another worker
        job = queues.enqueue(queue_r, queues.ROLLUP, api.brand["id"])
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        cmd = [sys.executable, "-m", "tracker", "worker", "--burst"]
        worker = subprocess.Popen(cmd, env=env, start_new_session=True, **quiet)
        deadline = time.monotonic() + 60
        while not (job.refresh() or (job.meta.get("progress") or {}).get("events_read", 0) >= 200):
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never got going"
            time.sleep(0.005)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        if r.xpending(stream, "rollup")["pending"] > 0:  # a batch read and never acknowledged
            break
    else:
        pytest.fail("no kill landed mid-batch in 10 attempts")
    counted = int(r.hget(keys.link_totals(api.brand["id"], link["id"]), "clicks") or 0)
    assert 0 < counted < n, f"the kill did not land mid-run ({counted} of {n} counted)"
    run_worker(CLAIM_IDLE_SECONDS=0)
    totals = r.hgetall(keys.link_totals(api.brand["id"], link["id"]))
    assert int(totals[b"clicks"]) == n and int(totals[b"unique_clicks"]) == n
    assert r.xpending(stream, "rollup")["pending"] == 0

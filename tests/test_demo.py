"""The demo: a brand with a realistic campaign whose traffic went through the service's own code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import LiveServer, base_config, free_port
from tracker import demo
from tracker.cli import main
from tracker.conversions.model import convert

BASE = "https://go.example"


class Seen:
    """The demo's result, read back through the API of the live server."""

    def __init__(self, result: demo.Result, output: list[str], server: LiveServer):
        self.result, self.plan, self.output = result, result.plan, output
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {result.api_key}"
        self.url = f"{server.url}/api/v1"

    def get(self, path: str, **params: Any) -> Any:
        resp = self.http.get(f"{self.url}{path}", params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def conversions(self) -> list[dict[str, Any]]:
        out, page = [], 1
        while True:
            body = self.get("/conversions", page=page, page_size=500)
            out += body["items"]
            if len(out) >= body["total"]:
                return out
            page += 1


@pytest.fixture(scope="module")
def seen(redis_url: str, server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seen]:
    """One small demo (its last day sent to the live test server), shared by the tests below."""
    config = base_config(redis_url, str(tmp_path_factory.mktemp("demo")), BASE_URL=BASE)
    lines: list[str] = []
    result = demo.run(config, live_url=server.url, seed=11, days=21, scale=0.12, echo=lines.append, progress=False)
    s = Seen(result, "\n".join(lines).splitlines(), server)
    yield s
    s.http.close()


def test_the_demo_brand_has_micro_and_celebrity_promotions_that_convert(seen):
    brand = seen.get("/brand")
    assert (brand["name"], brand["currency"]) == ("Demo Shoes", "USD")
    comparison = seen.get("/reports/comparison", campaign=seen.result.campaign_id)
    micro, celebrity = comparison["groups"]
    assert (micro["name"], micro["promotions"]) == ("micro long-running", 12)
    assert (celebrity["name"], celebrity["promotions"]) == ("celebrity timeboxed", 4)
    assert micro["conversions"] > 0 and celebrity["conversions"] > 0
    # Fast curves for celebrities, slow ones for micro posts.
    assert Decimal(celebrity["first_24h_share"]) > Decimal("0.6") > Decimal("0.3") > Decimal(micro["first_24h_share"])
    promotions = seen.get("/promotions", page_size=100)["items"]
    assert sorted((p["tier"], p["style"]) for p in promotions) == sorted(
        [("micro", "long_running")] * 12 + [("celebrity", "timeboxed")] * 4
    )
    posted = sorted(p["posted_at"] for p in promotions)
    assert posted[0] < posted[-1]  # spread over the weeks


def test_the_verdict_says_micro_posts_cost_less_per_conversion(seen):
    comparison = seen.get("/reports/comparison")
    diff = comparison["cost_per_conversion_difference"]
    assert diff["high"] < 0  # the whole 95% interval: micro cheaper
    assert comparison["verdict"].startswith("micro long-running cost ")
    assert "less per conversion than celebrity timeboxed" in comparison["verdict"]
    assert comparison["verdict"] == seen.result.comparison["verdict"]


def test_bots_link_previews_and_head_requests_are_bot_hits_not_clicks(seen):
    totals = seen.get("/reports", by="tier")["totals"]
    humans = sum(h.human for h in seen.plan.hits)
    assert (totals["clicks"], totals["bot_hits"]) == (humans, len(seen.plan.hits) - humans)
    assert totals["bot_hits"] > 0 and 0 < totals["unique_clicks"] < totals["clicks"]  # repeat visitors
    links = seen.get("/links", page_size=100)["items"]
    assert sum(link["stats"]["bot_hits"] for link in links) == totals["bot_hits"]


def test_duplicate_deliveries_did_not_double_and_every_order_went_where_it_should(seen):
    plan = seen.plan
    assert sum(o.deliveries == 2 for o in plan.orders) >= 2
    assert seen.result.outcomes["order:duplicate"] == sum(o.deliveries == 2 for o in plan.orders)
    records = seen.conversions()
    by_order = {c["order_id"]: c for c in records}
    assert len(records) == len(by_order) == len(plan.orders)  # one conversion per order id
    for order in plan.orders:
        a = by_order[order.order_id]["attribution"]
        if order.promo is None:
            assert a["status"] == "unattributed" and a["reason"] in ("no_key", "campaign_code")
        else:
            assert a["status"] == "attributed", (order, a)
            assert a["promotion_id"] == plan.promos[order.promo].promotion_id
    attributed = {o.order_id for o in plan.orders if o.promo is not None}
    fully_refunded = {f.order.order_id for f in plan.refunds if f.amount == f.order.amount}
    report = seen.get("/reports", by="tier")
    assert report["totals"]["conversions"] == len(attributed) - len(fully_refunded)
    assert report["unattributed"]["orders"] == len(plan.orders) - len(attributed)


def test_the_refunds_reduced_revenue_and_eur_orders_were_converted(seen):
    plan = seen.plan
    assert len(plan.refunds) == 2 and any(f.amount == f.order.amount for f in plan.refunds)
    records = {c["order_id"]: c for c in seen.conversions()}
    for refund in plan.refunds:
        record = records[refund.order.order_id]
        assert (record["refunded"], record["net"]) == (refund.amount, refund.order.amount - refund.amount)
    # Revenue by hand: net of refunds, EUR converted at 1.08 per promotion (as the roll-up sums it), GBP apart.
    refunded = {f.order.order_id: f.amount for f in plan.refunds}
    sums: dict[tuple[int, str], int] = defaultdict(int)
    for order in plan.orders:
        if order.promo is not None:
            sums[order.promo, order.currency] += order.amount - refunded.get(order.order_id, 0)
    rate = Decimal(demo.EUR_RATE)
    revenue = sum(v if cur == "USD" else convert(v, "EUR", rate, "USD") for (_, cur), v in sums.items() if cur != "GBP")
    totals = seen.get("/reports", by="tier")["totals"]
    assert totals["revenue"] == revenue
    assert totals["refunds"] == sum(f.amount for f in plan.refunds)
    gbp = sum(v for (_, cur), v in sums.items() if cur == "GBP")
    assert totals["unconverted_revenue"] == ({"GBP": gbp} if gbp else {})  # a currency netting to zero: left out
    eur = next(c for c in records.values() if c["currency"] == "EUR" and c["attribution"]["status"] == "attributed")
    assert eur["reporting"] == {"amount": convert(eur["net"], "EUR", rate, "USD"), "currency": "USD"}
    assert seen.get("/brand/rates")["rates"] == {"EUR": demo.EUR_RATE}


def test_the_last_day_went_to_the_live_server_and_the_rest_through_the_service_in_process(seen):
    assert seen.result.live
    live = [h for h in seen.plan.hits if h.live]
    assert live and all(h.at >= seen.plan.now - demo.DAY for h in live)
    assert all(h.tid for h in seen.plan.hits)  # every click got its id from the redirect
    assert any("went to the live server" in line for line in seen.output)


def test_the_demo_ends_with_the_verdict_the_dashboard_url_and_a_working_api_key(seen):
    assert seen.output[-1] == f"Dashboard: {BASE}/dashboard  API key: {seen.result.api_key}"
    assert seen.result.comparison["verdict"] in seen.output
    assert any(line.startswith("Influencer page of @") and f"{BASE}/i/" in line for line in seen.output)


def test_the_influencer_page_link_it_prints_opens(seen, server):
    token = seen.result.portal_url.rsplit("/", 1)[1]
    resp = requests.get(f"{server.url}/i/{token}")
    assert resp.status_code == 200 and f"@{seen.plan.promos[0].handle}" in resp.text


def test_the_same_seed_makes_the_same_demo():
    now = 1_790_000_000.0
    assert demo.make_plan(5, 14, 0.05, now) == demo.make_plan(5, 14, 0.05, now)
    assert demo.make_plan(5, 14, 0.05, now) != demo.make_plan(6, 14, 0.05, now)


def test_tracker_demo_without_a_server_starts_nothing_and_says_so(redis_url, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"REDIS_URL": redis_url, "SPOOL_DIR": str(tmp_path / "spool"), "SECRET_KEY": "test-secret-key",
           "ARCHIVE_DIR": str(tmp_path / "archive")}  # fmt: skip
    out = CliRunner().invoke(
        main, ["demo", "--base-url", dead, "--seed", "3", "--days", "10", "--scale", "0.05"], env=env
    )
    assert out.exit_code == 0, out.output
    assert f"No server serving this Redis answered at {dead}" in out.output and "nothing was started" in out.output
    assert "micro long-running" in out.output
    last = out.output.strip().splitlines()[-1]
    assert last.startswith(f"Dashboard: {dead}/dashboard  API key: il_")


def test_tracker_demo_explains_an_unreachable_redis(tmp_path):
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "SPOOL_DIR": str(tmp_path)}
    out = CliRunner().invoke(main, ["demo"], env=env)
    assert out.exit_code != 0 and "Redis is not reachable" in out.output


@pytest.mark.slow
def test_tracker_run_demo_sends_the_demo_through_the_service_and_prints_the_comparison(tmp_path):
    """The README's first command with --demo: service up, demo sent through it, verdict printed,
    and the service still serving it afterwards."""
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "run", "--demo", "--port", str(port), "--redis-port", str(redis_port),
         "--workers", "1", "--data-dir", str(tmp_path / "var")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    watchdog = threading.Timer(120, os.killpg, (proc.pid, signal.SIGKILL))  # a silent hang ends the read loop
    watchdog.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Dashboard: "):
                break
        assert lines and lines[-1].startswith(f"Dashboard: http://127.0.0.1:{port}/dashboard  API key: il_"), "\n".join(
            lines[-40:]
        )
        assert proc.poll() is None, "tracker run stopped after the demo"
        assert any("micro long-running cost" in line for line in lines)
        assert any("went to the live server" in line for line in lines)
        key = lines[-1].rsplit(" ", 1)[1]
        resp = requests.get(f"http://127.0.0.1:{port}/api/v1/reports/comparison",
                            headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        assert resp.status_code == 200 and resp.json()["verdict"].startswith("micro long-running cost")
    finally:
        watchdog.cancel()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

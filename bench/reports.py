"""Reports of a brand with many long-running promotions (`make bench-reports` -> `bench/run.sh
reports` -> this).

Micro-influencers come in numbers and their posts run for weeks: a brand may have hundreds of
promotions, each with months of roll-ups. One dedicated redis-server, and two brands made
through the real code (`create_brand`, then influencers, a campaign and promotions through the
Flask API): the baseline with P / 10 promotions, the measured one with P, every promotion posted
D days ago (half micro long-running posts, half celebrity 24-hour stories, so the comparison's
bootstrap runs) and with clicks on every day since (some by bots, some from returning visitors)
and an order by discount code on about one day in two, laid out as the redirect and
`record_order` write them and rolled up by `workers.rollup.run`.

Timed (median of BENCH_REPORT_CALLS calls through the Flask test client, after a warm-up): by
promotion over all dates, by promotion over the last 30 days, and the comparison. Printed: each
at P / 10 and at P, the ratio (10 promotions as many: reports are read per promotion, so about
10 is the expected, more would mean a cost growing faster than the promotions), and the time per
promotion. Checked: the report's clicks and conversions equal what was generated.

Then series and breakdowns as events grow: two more brands of P / 10 promotions over D days, the
second with 10 times the clicks per day (N and 10N events, with referrers and countries), timed
on the series (brand by day over D days, one promotion by day, one link by hour) and breakdown
endpoints (brand by referrer, one promotion by country): flat is the goal (they read per link
and day, never events), printed with the ratio.

Environment: BENCH_PROMOTIONS (P, 200), BENCH_DAYS (D, 90), BENCH_REPORT_CALLS (10),
BENCH_SEED (20261126). Exit 0 measured, 1 a count was wrong, 2 harness failure.
Writes bench/results/reports.json.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from harness import (
    SECRET_KEY,
    Brand,
    CodeFailed,
    HarnessError,
    Latency,
    Procs,
    campaign,
    code_state,
    env_int,
    in_process,
    main,
    new_brand,
    promote,
    start_redis,
    time_report,
    write_results,
)

from tracker.demo.traffic import BROWSERS, IN_APP, PREVIEWERS, click_event

DAY_MS = 86_400_000
HUMAN_UAS = (*BROWSERS, *IN_APP.values())


def make_brand(app: Any, n: int, days: int, tag: str, now: datetime) -> Brand:
    """A brand of n promotions posted `days` ago, each with a link and a code, through the API."""
    brand = new_brand(app, f"Bench Reports {tag}")
    starts = (now - timedelta(days=days + 5)).date().isoformat()
    campaign_id = campaign(brand.api, "Always on", f"always-{tag}", "https://shop.example/", starts)
    for i in range(n):
        celebrity = i % 2 == 1
        brand.links.append(promote(
            brand.api, campaign_id, f"{tag}_{i:04d}", 2_000_000 + i if celebrity else 20_000 + i,
            style="timeboxed" if celebrity else "long_running",
            posted_at=(now - timedelta(days=days, hours=i % 24)).isoformat().replace("+00:00", "Z"),
            cost={"flat_fee": 500_000} if celebrity else {"flat_fee": 20_000, "commission_percent": "10"},
            code=f"{tag.upper()}{i:04d}",
        ))  # fmt: skip
    return brand


REFERRERS = ("instagram.com", "l.instagram.com", "t.co", "www.tiktok.com", "youtube.com", "")
COUNTRIES = ("US", "GB", "FR", "DE", "IN", "BR", "")


def load(r: redis.Redis, look: Any, brand: Brand, days: int, rng: random.Random, density: int = 1) -> dict[str, int]:
    """Clicks on every day of every promotion (2-8 a day, times `density`), and orders by code;
    returns what was generated."""
    from tracker import keys
    from tracker.conversions.model import Order, record_order

    now_ms = int(time.time() * 1000)
    stream = keys.clicks_stream(brand.id)
    made = {"clicks": 0, "bot_hits": 0, "orders": 0}
    with r.pipeline(transaction=False) as pipe:
        for link in brand.links:
            for day in range(days, -1, -1):
                start = now_ms - day * DAY_MS - DAY_MS + 60_000
                for _ in range(rng.randrange(2, 9) * density):
                    ts = rng.randrange(start, min(start + DAY_MS, now_ms - 1_000))
                    bot = rng.random() < 0.1
                    ua = PREVIEWERS[0] if bot else rng.choice(HUMAN_UAS)
                    visitor = f"{rng.randrange(2_000):032x}"
                    referrer, country = rng.choice(REFERRERS), rng.choice(COUNTRIES)
                    event = click_event(link.code, link.link_id, link.promotion_id, ts, visitor, ua,
                                        SECRET_KEY.encode(), referrer=referrer, country=country)  # fmt: skip
                    pipe.execute_command("XADD", stream, "*", *event)
                    made["bot_hits" if bot else "clicks"] += 1
                if rng.random() < 0.5:
                    at = datetime.fromtimestamp(rng.randrange(start, min(start + DAY_MS, now_ms - 1_000)) / 1000, UTC)
                    made["orders"] += 1
                    order = Order("bench", f"{brand.id}-{made['orders']}", rng.randrange(1_500, 25_000), "USD", at)
                    order.discount_codes = [link.discount_code]
                    if not record_order(look, brand.record, order, [SECRET_KEY.encode()])[0]:
                        raise HarnessError(f"order {order.order_id} was not recorded")
            pipe.execute()
    return made


def measure(brand: Brand, calls: int, days: int) -> dict[str, Latency]:
    since = (datetime.now(UTC) - timedelta(days=29)).date().isoformat()
    paths = {
        "by_promotion": "/reports?by=promotion",
        "by_promotion_30_days": f"/reports?by=promotion&from={since}",
        "comparison": "/reports/comparison",
    }
    return {name: time_report(brand.api, path, calls) for name, path in paths.items()}


def measure_breakdowns(brand: Brand, calls: int, days: int) -> dict[str, Latency]:
    today = datetime.now(UTC).date()
    span = f"from={(today - timedelta(days=days - 1)).isoformat()}&to={today.isoformat()}"
    link = brand.links[0]
    paths = {
        "series_brand_by_day": f"/reports/series?by=brand&{span}",
        "series_promotion_by_day": f"/reports/series?by=promotion&id={link.promotion_id}&{span}",
        "series_link_by_hour": f"/reports/series?by=link&id={link.link_id}&from={today - timedelta(days=1)}"
                               f"&to={today}",
        "breakdown_brand_referrer": f"/reports/breakdown?by=brand&dimension=referrer&{span}",
        "breakdown_promotion_country": f"/reports/breakdown?by=promotion&id={link.promotion_id}"
                                       f"&dimension=country&{span}",
    }  # fmt: skip
    return {name: time_report(brand.api, path, calls) for name, path in paths.items()}


def events_growth(r: redis.Redis, app: Any, look: Any, n: int, days: int, calls: int, rng: random.Random,
                  now: datetime) -> dict[str, Any]:  # fmt: skip
    """Series and breakdowns of the same promotions with N and 10N events."""
    from workers import rollup as job

    steps = []
    for density, tag in ((1, "ev1"), (10, "ev10")):
        brand = make_brand(app, n, days, tag, now)
        made = load(r, look, brand, days, rng, density)
        totals = job.run(brand.id)
        events = totals["clicks"] + totals["conversions"]
        got = brand.api("GET", f"/reports/series?by=brand&from={(now - timedelta(days=days + 1)).date()}"
                           f"&to={now.date()}&interval=day")  # fmt: skip
        ok = (got["totals"]["clicks"], got["totals"]["bot_hits"]) == (made["clicks"], made["bot_hits"])
        timings = measure_breakdowns(brand, calls, days)
        print(f"bench: {n} promotions, {events:,} events (series counts {'ok' if ok else 'WRONG'}): "
              + ", ".join(f"{k} {v.median_ms:.1f} ms" for k, v in timings.items()), flush=True)  # fmt: skip
        steps.append({"density": density, "events": events, "counts_ok": ok, "reports": timings})
    one, ten = steps
    print()
    print(f"series and breakdowns, {n} promotions over {days} days, median of {calls} calls:")
    print(f"{'':32}{one['events']:>10,} ev{ten['events']:>12,} ev{'ratio':>8}")
    for name in one["reports"]:
        a, b = one["reports"][name].median_ms, ten["reports"][name].median_ms
        print(f"{name:32}{a:>10.1f} ms{b:>11.1f} ms{(b / a if a else 0):>8.2f}")
    print("(events x10; a ratio near 1 is flat)")
    return {"promotions": n, "days": days, "counts_ok": one["counts_ok"] and ten["counts_ok"],
            "steps": [{**s, "reports": {k: asdict(v) for k, v in s["reports"].items()}} for s in steps]}  # fmt: skip


def run(procs: Procs) -> int:
    promotions, days = env_int("BENCH_PROMOTIONS", 200), env_int("BENCH_DAYS", 90)
    calls, rng = env_int("BENCH_REPORT_CALLS", 10), random.Random(env_int("BENCH_SEED", 20261126))
    url, r = start_redis(procs)
    app = in_process(url, procs)  # the roll-ups run in this process
    from workers import rollup as job

    code = code_state()
    look, now = app.extensions.get("lookups", r), datetime.now(UTC)
    steps, ok = [], True
    for n, tag in ((max(1, promotions // 10), "base"), (promotions, "many")):
        started = time.perf_counter()
        brand = make_brand(app, n, days, tag, now)
        made = load(r, look, brand, days, rng)
        try:
            totals = job.run(brand.id)
        except redis.RedisError as exc:
            raise CodeFailed(f"workers.rollup.run raised {type(exc).__name__}: {exc}") from exc
        print(f"bench: {n} promotions x {days} days: {made['clicks']:,} clicks, {made['bot_hits']:,} bot hits, "
              f"{made['orders']:,} orders, made and rolled up in {time.perf_counter() - started:.1f} s "
              f"({totals['clicks'] + totals['conversions']:,} events)", flush=True)  # fmt: skip
        report = brand.api("GET", "/reports?by=promotion")
        got = {"clicks": report["totals"]["clicks"], "bot_hits": report["totals"]["bot_hits"],
               "orders": report["totals"]["conversions"]}  # fmt: skip
        if got != made:
            print(f"bench: COUNT WRONG at {n} promotions: report {got}, generated {made}", file=sys.stderr)
            ok = False
        timings = measure(brand, calls, days)
        for name, lat in timings.items():
            print(f"bench: {n} promotions: {name} median {lat.median_ms:.1f} ms (p90 {lat.p90_ms:.1f}, "
                  f"CPU {lat.cpu_median_ms:.1f})", flush=True)  # fmt: skip
        steps.append({"promotions": n, "days": days, "generated": made, "reports": timings})
    base, many = steps
    print()
    print(f"reports of a brand with many promotions ({days} days of roll-ups each), median of {calls} calls:")
    print(f"{'':32}{base['promotions']:>10} promos{many['promotions']:>10} promos{'ratio':>8}{'per promo':>12}")
    rows = {}
    for name in many["reports"]:
        at_base, at_many = base["reports"][name].median_ms, many["reports"][name].median_ms
        ratio = at_many / at_base if at_base else 0.0
        per = at_many / many["promotions"]
        rows[name] = {"ratio": round(ratio, 2), "ms_per_promotion": round(per, 3)}
        print(f"{name:32}{at_base:>13.1f} ms{at_many:>13.1f} ms{ratio:>8.2f}{per:>9.2f} ms")
    print(f"(promotions x{many['promotions'] / base['promotions']:.0f}; a ratio near that is linear)")
    growth = events_growth(r, app, look, max(1, promotions // 10), days, calls, rng, now)
    ok = ok and growth["counts_ok"]
    write_results("reports", {
        "code": code, "ratios": rows, "counts_ok": ok, "breakdowns_as_events_grow": growth,
        "steps": [{**s, "reports": {k: asdict(v) for k, v in s["reports"].items()}} for s in steps],
    })  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(run))

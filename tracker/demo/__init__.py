"""`tracker demo`: a demo brand with a realistic campaign, its traffic sent through the service's own code.

Twelve micro-influencers with long-running posts and four celebrities with 24-hour promotions,
each with plausible costs (`plan`); clicks on decaying curves (a half-life of about a week for micro
posts, hours for celebrities), repeat visitors, bots and link previews, orders through signed
webhooks (some delivered twice, two refunded, some in EUR and a little in GBP, which has no rate),
with times spread over the past weeks (`traffic`). Past clicks go through the redirect's own
handler with their past time (`Redirector.handle`), everything else through the whole WSGI stack
with Flask's test client; when a server that shares this Redis answers at `live_url`, the last
day's clicks and orders go to it over HTTP (`client`). Then the roll-ups, the comparison, and
where to look (`report`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from werkzeug.test import Client

from tracker import create_wsgi
from tracker.brands.model import create_brand, get_brand
from tracker.demo.client import Api, Http, Sender, in_process, serves_brand
from tracker.demo.plan import BRAND, CURRENCY, DAY, EUR_RATE, set_up
from tracker.demo.report import report
from tracker.demo.traffic import Plan, Refund, demo_order_payload, make_plan, refund_payload
from tracker.reports import service as reports
from tracker.reports.schemas import ComparisonSchema

__all__ = ["BRAND", "CURRENCY", "DAY", "EUR_RATE", "Http", "Plan", "Result", "make_plan", "run"]

ROLLUP_EVERY = 8_000  # events sent between two roll-ups (as the scheduler would, every minute)


@dataclass
class Result:
    """What the demo made: its plan (ids filled in), the brand and key, the comparison, how it went."""

    plan: Plan
    brand: dict[str, Any]
    api_key: str
    campaign_id: str
    comparison: dict[str, Any]
    live: bool
    seconds: float
    portal_url: str
    outcomes: dict[str, int] = field(default_factory=dict)


def run(
    config: dict[str, Any], *, base_url: str | None = None, live_url: str | None = None, seed: int = 7,
    days: int = 35, scale: float = 1.0, echo: Callable[[str], Any] = click.echo, progress: bool = True,
) -> Result:  # fmt: skip
    """Create the demo brand, send its traffic, roll up, print the comparison and where to look."""
    import workers
    from tracker.portal.model import create_token
    from workers import rollup

    started = time.monotonic()
    base_url = (base_url or config.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    live_url = live_url.rstrip("/") if live_url else None
    plan = make_plan(seed, days, scale)
    front = create_wsgi({**config, "BASE_URL": base_url})
    r = front.flask_app.extensions["redis"]
    sender: Sender | None = None
    outcomes: dict[str, int] = {}
    try:
        brand, key = create_brand(r, BRAND, CURRENCY)
        live = bool(live_url) and serves_brand(live_url, key, brand["id"])
        cutoff = plan.now - DAY if live else math.inf
        for event in (*plan.hits, *plan.orders, *plan.refunds):
            event.live = event.at >= cutoff
        client = Client(front)
        sender = Sender(front, client, brand["id"], live_url if live else None)
        total = len(plan.hits) + sum(o.deliveries for o in plan.orders) + len(plan.refunds) + 2 * len(plan.promos)
        bar = (click.progressbar(length=total, label=BRAND, show_pos=True, item_show_func=lambda s: s, width=24)
               if progress else nullcontext(None))  # fmt: skip
        with workers.using(config), bar as bar_:  # the roll-up runs in this process, as in a worker

            def step(n: int, what: str) -> None:
                if bar_ is not None:
                    bar_.update(n, what)

            campaign_id, sender.secret = set_up(Api(in_process(client), key), plan.promos, plan.now - plan.days * DAY)
            step(2 * len(plan.promos), "campaign set up")
            past = [h for h in plan.hits if not h.live]
            for n, hit in enumerate(past, 1):
                sender.click(hit, plan.promos[hit.promo].link_code)
                step(1, f"clicks of {datetime.fromtimestamp(hit.at, UTC):%b %d}")
                if n % ROLLUP_EVERY == 0:
                    rollup.run(brand["id"])  # as the scheduler would, while traffic comes in
            for hit in [h for h in plan.hits if h.live]:
                sender.click(hit, plan.promos[hit.promo].link_code)
                step(1, "last day's clicks, live")
            for event in sorted([*plan.orders, *plan.refunds], key=lambda e: e.at):
                if isinstance(event, Refund):
                    _count(outcomes, sender.post(refund_payload(event), event.live))
                    step(1, "refunds")
                    continue
                dated = not (event.hit is not None and event.hit.live)  # a live click's order is now
                payload = demo_order_payload(event, plan, dated)
                for _ in range(event.deliveries):
                    _count(outcomes, sender.post(payload, event.live))
                step(event.deliveries, f"orders of {datetime.fromtimestamp(event.at, UTC):%b %d}")
            step(0, "rolling up")
            rollup.run(brand["id"])
            _, token = create_token(r, brand["id"], plan.promos[0].influencer_id)
        brand = get_brand(r, brand["id"])
        comparison = ComparisonSchema().dump(reports.comparison(r, brand, campaign_id=campaign_id))  # as the API
    finally:
        if sender is not None:
            sender.close()
        front.flask_app.extensions["db"].close()  # the in-process stack's clients and hot connections
    result = Result(plan, brand, key, campaign_id, comparison, live, time.monotonic() - started,
                    f"{base_url}/i/{token}", outcomes)  # fmt: skip
    report(plan, comparison, live=live, live_url=live_url, base_url=base_url, api_key=key,
           portal_url=result.portal_url, seconds=result.seconds, echo=echo)  # fmt: skip
    return result


def _count(outcomes: dict[str, int], answer: dict[str, Any]) -> None:
    for event in answer["events"]:
        name = f"{event['kind']}:{event['outcome']}"
        outcomes[name] = outcomes.get(name, 0) + 1

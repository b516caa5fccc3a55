"""What the demo prints when it is done: what it sent, where it went, the comparison and where to look."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracker.demo.plan import BRAND, CURRENCY, EUR_RATE
from tracker.demo.traffic import Plan


def report(
    plan: Plan, comparison: dict[str, Any], *, live: bool, live_url: str | None, base_url: str, api_key: str,
    portal_url: str, seconds: float, echo: Callable[[str], Any],
) -> None:  # fmt: skip
    humans = sum(h.human for h in plan.hits)
    twice = sum(o.deliveries == 2 for o in plan.orders)
    echo(
        f"\n{BRAND}: {len(plan.promos)} promotions over {plan.days} days, {humans:,} clicks and "
        f"{len(plan.hits) - humans:,} bot hits, {len(plan.orders):,} orders ({twice} delivered twice, "
        f"{len(plan.refunds)} refunded, EUR at {EUR_RATE} {CURRENCY}, GBP without a rate), in {seconds:.1f} s."
    )
    if live:
        echo(f"The last day's clicks and orders went to the live server at {live_url} over HTTP.")
    else:
        where = f"No server serving this Redis answered at {live_url}" if live_url else "No live server was given"
        echo(
            f"{where}: every event went through the service's code in this process (the redirect's handler "
            "and Flask's test client); nothing was started."
        )
    for group in comparison["groups"]:
        per = group["cost_per_conversion"]
        share = group["first_24h_share"]
        echo(
            f"  {group['name']}: {group['promotions']} promotions, {group['conversions']:,} conversions, "
            f"{_money(per)} per conversion, "
            f"{'-' if share is None else f'{float(share):.0%}'} of them in the first 24 h"
        )
    echo(comparison["verdict"])
    echo(f"Influencer page of @{plan.promos[0].handle}: {portal_url}")
    echo(f"Dashboard: {base_url}/dashboard  API key: {api_key}")


def _money(amount: int | None) -> str:
    from tracker.portal.model import format_money

    return "-" if amount is None else format_money(amount, CURRENCY)

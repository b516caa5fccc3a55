"""The brand's own settings, as the API's /brand changes them (brands themselves and their API keys:
`tracker.brands.model`)."""

from __future__ import annotations

from typing import Any

from tracker import keys, money
from tracker.brands.model import click_shards, click_shards_ever, save_brand
from tracker.engagement.model import merge_ranges
from tracker.errors import NotFound
from tracker.links.model import refresh_redirects
from tracker.scope import Scope


def update(scope: Scope, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the brand's settings. Engagement ranges merge with the stored ones; a new click
    parameter or number of click shards rewrites every link's redirect record."""
    before = scope.brand
    if "engagement_ranges" in changes:
        changes = {**changes, "engagement_ranges": merge_ranges(before, changes["engagement_ranges"])}
    brand = {**before, **changes}
    reshard = click_shards(brand) != click_shards(before)
    if reshard:  # saved before the links' records: a shard is folded before any click lands in it
        brand["click_shards_max"] = max(click_shards_ever(before), click_shards(brand))
    save_brand(scope.r, brand)
    if reshard or changes.get("click_param", before["click_param"]) != before["click_param"]:
        refresh_redirects(scope.r, brand)
    scope.lookups.forget("brand", brand["id"])  # the brand and its links' records, once all are written
    return brand


def rates(scope: Scope) -> dict[str, Any]:
    """Exchange rates into the reporting currency, set by the brand."""
    raw = scope.r.hgetall(keys.rates(scope.brand_id))
    return {
        "reporting_currency": scope.brand["currency"],
        "rates": {k.decode(): v.decode() for k, v in sorted(raw.items())},
    }


def set_rate(scope: Scope, currency: str, rate: Any) -> dict[str, Any]:
    """Set how many reporting-currency units one unit of `currency` is worth (NotFound for what is
    not an ISO 4217 code, or is the reporting currency)."""
    if not money.is_currency(currency) or currency == scope.brand["currency"]:
        raise NotFound("rate", currency, f"{currency!r}: not an ISO 4217 code other than the reporting currency")
    scope.r.hset(keys.rates(scope.brand_id), currency, str(rate))
    return rates(scope)


def delete_rate(scope: Scope, currency: str) -> None:
    if not scope.r.hdel(keys.rates(scope.brand_id), currency):
        raise NotFound("rate", currency, f"no rate for {currency}")

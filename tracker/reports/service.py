"""The report service: every report the API and the dashboard show, as typed results
(`tracker.reports.results`), computed from the roll-ups (`model`, `series`) for one brand.

Plain functions of the brand's Redis and record; they raise `tracker.errors.NotFound` for an id
that is not the brand's. The API renders the results through `tracker.reports.schemas` (JSON and
CSV), the dashboard through its templates: neither assembles a figure of its own.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from tracker import keys, queues
from tracker.engagement import model as engagement
from tracker.errors import NotFound
from tracker.links import channels
from tracker.reports import model
from tracker.reports import series as by_period
from tracker.reports.results import (
    Breakdown,
    ChannelReport,
    ChannelRow,
    Comparison,
    ComparisonGroup,
    Difference,
    GroupedReport,
    GroupRow,
    PromotionCurves,
    RollupJob,
    Series,
    WithoutLink,
)
from tracker.store import Store

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")  # what RQ accepts as a job id


def rolled_up_at(r: redis.Redis, brand_id: str) -> str | None:
    """When the roll-up last finished for the brand (ISO 8601), or None."""
    value = r.hget(keys.rollup_state(brand_id), "rolled_up_at")
    return value.decode() if value else None


def names(r: redis.Redis, brand_id: str, by: str) -> dict[str, str]:
    """What the rows of a report by `by` are called: '@handle (platform)', a campaign's name,
    '@handle in Campaign' (ids stand for themselves where there is no name, e.g. tiers)."""
    store = Store(r, brand_id)

    def every(kind: str) -> list[dict[str, Any]]:
        return store.get_many(kind, [i.decode() for i in r.hkeys(keys.entities(brand_id, kind))])

    if by == "influencer":
        return {i["id"]: f"@{i['handle']} ({i['platform']})" for i in every("influencer")}
    if by == "campaign":
        return {c["id"]: c["name"] for c in every("campaign")}
    if by == "promotion":
        people = {i["id"]: i["handle"] for i in every("influencer")}
        camps = {c["id"]: c["name"] for c in every("campaign")}
        return {
            p["id"]: f"@{people.get(p['influencer_id'], '?')} in {camps.get(p['campaign_id'], '?')}"
            for p in every("promotion")
        }
    return {}


def _promotions(
    r: redis.Redis, brand: dict[str, Any], start: date | None, end: date | None, campaign_id: str | None,
    promotion_id: str | None = None, *, since: bool = False,
) -> list[model.Promo]:  # fmt: skip
    if campaign_id and not r.hexists(keys.entities(brand["id"], "campaign"), campaign_id):
        raise NotFound("campaign", campaign_id)
    promos = model.load_promotions(r, brand, start, end, campaign_id, since=since)
    if promotion_id:
        promos = [p for p in promos if p.record["id"] == promotion_id]
        if not promos:
            raise NotFound("promotion", promotion_id)
    return promos


def grouped(
    r: redis.Redis, brand: dict[str, Any], by: str = "promotion", start: date | None = None, end: date | None = None,
    campaign_id: str | None = None, promotion_id: str | None = None,
) -> GroupedReport:  # fmt: skip
    """Every metric per promotion, influencer, campaign or tier over the dates (UTC days), the
    totals and the unattributed orders; by tier, each tier's engagement rate against its range."""
    promos = _promotions(r, brand, start, end, campaign_id, promotion_id)
    return GroupedReport(
        currency=brand["currency"],
        start=start,
        end=end,
        by=by,
        rows=model.summary(promos, by, names(r, brand["id"], by), engagement.ranges(brand)),
        totals=model.total(promos).metrics(),
        unattributed=model.unattributed(r, brand, start, end),
        rolled_up_at=rolled_up_at(r, brand["id"]),
    )


def influencers(
    r: redis.Redis, brand: dict[str, Any], start: date | None = None, end: date | None = None,
    campaign_id: str | None = None,
) -> GroupedReport:  # fmt: skip
    """The report by influencer with a row for every influencer of the brand (zeros for those
    without promotions in it); with a campaign, only the campaign's influencers."""
    report = grouped(r, brand, "influencer", start, end, campaign_id)
    if campaign_id:
        return report
    seen = {row.key for row in report.rows}
    named = names(r, brand["id"], "influencer")
    zero = model.Totals().metrics()
    missing = [GroupRow("influencer", i, named[i], zero) for i in named if i not in seen]
    return replace(report, rows=[*report.rows, *missing])


def by_channel(
    r: redis.Redis, brand: dict[str, Any], campaign_id: str | None = None, promotion_id: str | None = None
) -> ChannelReport:
    """Clicks, conversions and revenue of the promotions' links by the channel they are posted on
    (all time). Orders attributed without a click (a discount code) belong to no link: `without_link`."""
    promos = _promotions(r, brand, None, None, campaign_id, promotion_id)
    ids = {p.record["id"] for p in promos}
    link_ids = [i.decode() for i in r.hkeys(keys.entities(brand["id"], "link"))]
    links = [link for link in Store(r, brand["id"]).get_many("link", link_ids) if link["promotion_id"] in ids]
    rows = [
        ChannelRow(
            channel=row["channel"], name=row["name"], links=row["links"], clicks=row["clicks"],
            unique_clicks=row["unique_clicks"], bot_hits=row["bot_hits"], conversions=row["conversions"],
            revenue=row["revenue"], refunds=row["refunds"],
            conversion_rate=model.ratio(row["conversions"], row["unique_clicks"]),
            average_order_value=model.per(row["revenue"], row["conversions"]),
            unconverted_revenue=row["unconverted_revenue"],
        )  # fmt: skip
        for row in channels.split(r, brand, links, model.Money(r, brand))
    ]
    rows.sort(key=lambda row: (-row.clicks, row.name))
    totals = model.total(promos)
    return ChannelReport(
        currency=brand["currency"],
        promotion_id=promotion_id,
        rows=rows,
        totals=totals.metrics(),
        without_link=WithoutLink(
            conversions=totals.conversions - sum(row.conversions for row in rows),
            revenue=totals.revenue - sum(row.revenue for row in rows),
        ),
        rolled_up_at=rolled_up_at(r, brand["id"]),
    )


def comparison(
    r: redis.Redis, brand: dict[str, Any], specs: tuple[tuple[str, str], tuple[str, str]] = model.DEFAULT_GROUPS,
    campaign_id: str | None = None, start: date | None = None, end: date | None = None, per_promotion: bool = False,
) -> Comparison:  # fmt: skip
    """Two tier:style groups side by side (default micro long-running against celebrity 24-hour):
    metrics, curves since posting, and the difference in cost per conversion with its interval."""
    promos = _promotions(r, brand, start, end, campaign_id, since=True)
    ranges = engagement.ranges(brand)
    groups, members = [], []
    for tier, style in specs:
        chosen = [p for p in promos if model.in_group(p, (tier, style))]
        members.append(chosen)
        totals = model.total(chosen)
        groups.append(
            ComparisonGroup(
                name=f"{tier} {style}".replace("_", "-"), tier=tier, style=style, metrics=totals.metrics(),
                versus=totals.versus(ranges.get(tier, {"min": None, "max": None})), curves=model.curves(chosen),
                by_promotion=[PromotionCurves(p.record["id"], model.curves([p])) for p in chosen]
                if per_promotion else None,
            )  # fmt: skip
        )
    diff = model.bootstrap_difference(members[0], members[1])
    group_names = (groups[0].name, groups[1].name)
    return Comparison(
        currency=brand["currency"],
        campaign_id=campaign_id,
        start=start,
        end=end,
        groups=(groups[0], groups[1]),
        cost_per_conversion_difference=Difference(group_names, diff["difference"], diff["low"], diff["high"],
                                                  diff["resamples"]),  # fmt: skip
        verdict=model.verdict(group_names, diff, brand["currency"]),
        rolled_up_at=rolled_up_at(r, brand["id"]),
    )


def series(
    r: redis.Redis, brand: dict[str, Any], by: str, subject_id: str | None, start: date, end: date,
    interval: str | None = None,
) -> Series:  # fmt: skip
    """Clicks, unique clicks, bot hits, conversions and revenue of a link, promotion, influencer,
    campaign or the brand by local day, or by hour (the default for two days or less)."""
    if interval is None:
        interval = "hour" if (end - start).days < by_period.HOURLY_MAX_DAYS else "day"
    return by_period.series(r, brand, by, subject_id, start, end, interval)


def breakdown(
    r: redis.Redis, brand: dict[str, Any], by: str, subject_id: str | None, dimension: str, start: date, end: date,
    top: int = 10,
) -> Breakdown:  # fmt: skip
    """Clicks by referrer host, country, device type, browser or OS: the top values, the rest as other."""
    return by_period.breakdown(r, brand, by, subject_id, dimension, start, end, top)


# -- on-demand roll-ups ---------------------------------------------------------------------
def refresh(queue_r: redis.Redis, brand_id: str) -> RollupJob:
    """Queue a roll-up of the brand's new events; the job to follow."""
    job = queues.enqueue(queue_r, queues.ROLLUP, brand_id, meta={"brand_id": brand_id}, job_timeout=1800,
                         result_ttl=86400)  # fmt: skip
    return RollupJob(job.id, "queued", None, None, job.enqueued_at, None)


def rollup_job(queue_r: redis.Redis, brand_id: str, job_id: str) -> RollupJob:
    """A roll-up job of the brand: its status and progress. Another brand's job is not found."""
    if not JOB_ID.fullmatch(job_id):  # RQ refuses such ids; no job has one
        raise NotFound("job", job_id)
    try:
        job = Job.fetch(job_id, connection=queue_r, serializer=JSONSerializer)
    except NoSuchJobError:
        raise NotFound("job", job_id) from None
    if job.meta.get("brand_id") != brand_id:
        raise NotFound("job", job_id)
    status = job.get_status(refresh=True)
    return RollupJob(
        job_id=job.id,
        status=status.value if status else "unknown",
        progress=job.meta.get("progress"),
        result=job.return_value(),
        enqueued_at=job.enqueued_at,
        ended_at=job.ended_at,
    )

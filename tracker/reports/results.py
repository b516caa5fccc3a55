"""What the report service answers: typed results, rendered as JSON and CSV by the API
(`tracker.reports.schemas`) and as pages by the dashboard. Definitions: docs/metrics.md.

Money is integer minor units of the report's `currency`; amounts without an exchange rate are
apart, by currency (`unconverted_revenue`, `unconverted`). A `Ratio` is a decimal string with
four places, rounded half-even; None where its denominator is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

Ratio = str  # e.g. "-0.1575"; ratios are text so that no float ever holds them
Minor = int  # money in minor units of the report's currency


@dataclass(frozen=True)
class Metrics:
    """Every figure of one promotion or a group of them (a row, a comparison group, the totals)."""

    cost_per_conversion: Minor | None
    spend: Minor
    revenue: Minor
    roas: Ratio | None
    roi: Ratio | None
    clicks: int
    unique_clicks: int
    bot_hits: int
    bots_by_family: dict[str, int]  # bot hits by why they were excluded
    conversions: int
    conversion_rate: Ratio | None
    cost_per_click: Minor | None
    average_order_value: Minor | None
    click_through_on_followers: Ratio | None
    engagement_rate: Ratio | None
    engagements: int | None  # None: no promotion of the group has the figure
    impressions: int | None
    reach: int | None
    views: int | None
    engagement_rate_followers: Ratio | None
    engagement_rate_reach: Ratio | None
    cost_per_engagement: Minor | None
    cpm: Minor | None
    ctr_impressions: Ratio | None
    refunds: Minor
    median_time_to_conversion_seconds: int | None
    p90_time_to_conversion_seconds: int | None
    promotions: int
    unconverted_revenue: dict[str, int]  # by currency (or 'spend:<currency>'), minor units of each


@dataclass(frozen=True)
class ExpectedRange:
    """A tier's expected engagement rate on followers, in percent (text); either bound may be unset."""

    min: str | None
    max: str | None


@dataclass(frozen=True)
class Versus:
    """A group's engagement rate on followers against its tier's expected range."""

    expected_engagement_rate: ExpectedRange
    engagement_vs_expected: str | None  # below, within, above; None without engagements or a range


@dataclass(frozen=True)
class Unattributed:
    """Orders that matched no promotion (or matched outside the attribution window)."""

    orders: int
    revenue: Minor
    unconverted_revenue: dict[str, int]
    by_reason: dict[str, int]


# -- the grouped report ---------------------------------------------------------------------
GROUPINGS = ("promotion", "influencer", "campaign", "tier")


@dataclass(frozen=True)
class GroupRow:
    """One promotion, influencer, campaign or tier (`by`), named by its id (`key`; a tier by its name)."""

    by: str
    key: str
    name: str
    metrics: Metrics
    versus: Versus | None = None  # by tier only


@dataclass(frozen=True)
class GroupedReport:
    """Every metric per promotion, influencer, campaign or tier over a date range, and the totals."""

    currency: str
    start: date | None
    end: date | None
    by: str
    rows: list[GroupRow]
    totals: Metrics
    unattributed: Unattributed
    rolled_up_at: str | None  # ISO 8601, when the roll-up last finished for the brand; None: never


@dataclass(frozen=True)
class ChannelRow:
    """The links of one channel (None: links posted on no channel), all time."""

    channel: str | None
    name: str
    links: int
    clicks: int
    unique_clicks: int
    bot_hits: int
    conversions: int
    revenue: Minor
    refunds: Minor
    conversion_rate: Ratio | None
    average_order_value: Minor | None
    unconverted_revenue: dict[str, int]


@dataclass(frozen=True)
class WithoutLink:
    """Orders attributed without a click (a discount code): they belong to no link, so to no channel."""

    conversions: int
    revenue: Minor


@dataclass(frozen=True)
class ChannelReport:
    currency: str
    promotion_id: str | None
    rows: list[ChannelRow]
    totals: Metrics
    without_link: WithoutLink
    rolled_up_at: str | None
    by: str = "channel"


# -- the comparison -------------------------------------------------------------------------
@dataclass(frozen=True)
class CurveDay:
    """One day since posting, and the sums of days 0..day."""

    day: int
    conversions: int
    revenue: Minor
    spend: Minor
    cumulative_conversions: int
    cumulative_revenue: Minor
    cumulative_spend: Minor
    cumulative_roi: Ratio | None


@dataclass(frozen=True)
class Curves:
    """How conversions arrive after posting: the first 24 hours against the long tail, day by day."""

    first_24h_conversions: int
    after_24h_conversions: int
    first_24h_share: Ratio | None
    long_tail_share: Ratio | None
    first_24h_revenue_share: Ratio | None
    long_tail_revenue_share: Ratio | None
    half_life_hours: int | None
    payback_day: int | None
    days: list[CurveDay]


@dataclass(frozen=True)
class PromotionCurves:
    promotion_id: str
    curves: Curves


@dataclass(frozen=True)
class ComparisonGroup:
    """One tier:style group of promotions: its metrics, its tier's engagement range, its curves."""

    name: str
    tier: str
    style: str
    metrics: Metrics
    versus: Versus
    curves: Curves
    by_promotion: list[PromotionCurves] | None = None  # only when asked for

    def figure(self, name: str) -> object:
        """A figure by its name in the report (metrics, engagement range or curves)."""
        for part in (self.metrics, self.versus, self.curves):
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(name)


@dataclass(frozen=True)
class Difference:
    """Cost per conversion of group A minus group B, with its 95% bootstrap interval."""

    groups: tuple[str, str]
    difference: Minor | None
    low: Minor | None
    high: Minor | None
    resamples: int
    confidence: str = "95%"


@dataclass(frozen=True)
class Comparison:
    currency: str
    campaign_id: str | None
    start: date | None
    end: date | None
    groups: tuple[ComparisonGroup, ComparisonGroup]
    cost_per_conversion_difference: Difference
    verdict: str
    rolled_up_at: str | None


# -- series and breakdowns ------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """One period's (or the range's) counts and revenue."""

    clicks: int
    unique_clicks: int
    bot_hits: int
    conversions: int
    revenue: Minor
    unconverted: dict[str, int]  # revenue without a rate, by currency


@dataclass(frozen=True)
class SeriesRow:
    """One local day or hour: its counts and revenue."""

    period: str  # yyyy-mm-dd, or yyyy-mm-ddTHH:00 (local)
    clicks: int
    unique_clicks: int
    bot_hits: int
    conversions: int
    revenue: Minor
    unconverted: dict[str, int]


@dataclass(frozen=True)
class Series:
    """A link's, promotion's, influencer's, campaign's or the brand's figures by local day or hour."""

    by: str
    subject_id: str | None
    start: date
    end: date
    time_zone: str
    interval: str  # day or hour
    currency: str
    rows: list[SeriesRow]
    totals: Figures


@dataclass(frozen=True)
class BreakdownRow:
    value: str
    clicks: int
    share: Ratio | None


@dataclass(frozen=True)
class BreakdownOther:
    clicks: int
    share: Ratio | None
    values: int  # values past the top N summed here
    folded_at_rollup: int  # clicks of values past the roll-up's cap per link and day


@dataclass(frozen=True)
class Breakdown:
    """Clicks by one dimension's values: the top N, the rest as other, and the exact total."""

    by: str
    subject_id: str | None
    start: date
    end: date
    time_zone: str
    dimension: str
    top: int
    rows: list[BreakdownRow]
    other: BreakdownOther
    total: int


# -- on-demand roll-ups ---------------------------------------------------------------------
FINAL = ("finished", "failed", "stopped", "canceled")


@dataclass(frozen=True)
class RollupJob:
    """A roll-up job of the brand and how far it got (the worker keeps `progress` in the job's meta)."""

    job_id: str
    status: str  # queued, started, finished, failed... (RQ's), or unknown
    progress: dict[str, int] | None
    result: dict[str, int] | None  # what the roll-up did, once finished
    enqueued_at: datetime | None
    ended_at: datetime | None

    @property
    def done(self) -> bool:
        return self.status in FINAL

    @property
    def percent(self) -> int:
        """For a progress bar: 5 while queued, 10-95 while rolling up brands, 100 when over."""
        if self.done:
            return 100
        if self.status == "started":
            progress = self.progress or {}
            return 10 + int(85 * progress.get("brands_done", 0) / max(progress.get("brands", 1), 1))
        return 5

    @property
    def message(self) -> str:
        progress = self.progress or {}
        return {
            "queued": "Queued, waiting for a worker…",
            "deferred": "Waiting…",
            "scheduled": "Waiting…",
            "started": f"Rolling up: {progress.get('events_read', 0):,} events read…",
            "finished": f"Done: {progress.get('clicks', 0):,} clicks and {progress.get('conversions', 0):,} orders "
            f"or refunds rolled up.",
            "failed": "The roll-up failed; try again, or look at the worker's log.",
        }.get(self.status, self.status)

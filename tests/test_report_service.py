"""The report service: its typed results carry the very figures the API answers, and the OpenAPI
document describes every report body (the API renders the service's results through schemas)."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import date
from typing import Any

import pytest
import requests

from tracker.brands.model import get_brand
from tracker.reports import series, service
from tracker.reports.results import (
    ChannelReport,
    Comparison,
    Curves,
    GroupedReport,
    Metrics,
    RollupJob,
    Series,
)

METRICS = [f.name for f in fields(Metrics)]
CURVES = [f.name for f in fields(Curves) if f.name != "days"]


def no_floats(value: Any) -> None:
    """Money and ratios are integers and decimal text all the way down."""
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        for v in value.values():
            no_floats(v)
    elif isinstance(value, list | tuple):
        for v in value:
            no_floats(v)
    else:
        assert not isinstance(value, float), value


def test_the_service_gives_typed_results_with_the_figures_the_api_answers(scenario, api, r):
    brand = get_brand(r, api.brand["id"])
    for by in ("promotion", "influencer", "campaign", "tier"):
        report = service.grouped(r, brand, by)
        body = api.get("/reports", params={"by": by}).json()
        assert isinstance(report, GroupedReport) and report.currency == body["currency"] == "USD"
        assert {row.key: vars(row.metrics) for row in report.rows} == {
            row[by]: {m: row[m] for m in METRICS} for row in body["rows"]
        }
        assert {row.key: row.name for row in report.rows} == {row[by]: row["name"] for row in body["rows"]}
        assert vars(report.totals) == body["totals"] and asdict(report.unattributed) == body["unattributed"]
        no_floats(report)
    a = scenario.promos["A"]["id"]
    figures = next(row.metrics for row in service.grouped(r, brand, "promotion").rows if row.key == a)
    assert (figures.conversions, figures.revenue, figures.spend, figures.roi) == (3, 9200, 10920, "-0.1575")
    tiers = {row.key: row for row in service.grouped(r, brand, "tier").rows}
    for row in api.get("/reports", params={"by": "tier"}).json()["rows"]:
        versus = tiers[row["tier"]].versus
        assert asdict(versus.expected_engagement_rate) == row["expected_engagement_rate"]
        assert versus.engagement_vs_expected == row["engagement_vs_expected"]

    dated = service.grouped(r, brand, "promotion", date(2026, 10, 1), date(2026, 10, 2))
    body = api.get("/reports", params={"by": "promotion", "from": "2026-10-01", "to": "2026-10-02"}).json()
    assert {row.key: vars(row.metrics) for row in dated.rows} == {
        row["promotion"]: {m: row[m] for m in METRICS} for row in body["rows"]
    }

    channels = service.by_channel(r, brand, promotion_id=a)
    body = api.get("/reports", params={"by": "channel", "promotion_id": a}).json()
    assert isinstance(channels, ChannelReport) and [asdict(row) for row in channels.rows] == body["rows"]
    assert asdict(channels.without_link) == body["without_link"] and vars(channels.totals) == body["totals"]


def test_the_comparison_and_series_from_the_service_are_the_api_figures(scenario, api, r):
    brand = get_brand(r, api.brand["id"])
    result = service.comparison(r, brand, per_promotion=True)
    body = api.get("/reports/comparison", params={"per_promotion": "true"}).json()
    assert isinstance(result, Comparison) and result.verdict == body["verdict"]
    for group, shown in zip(result.groups, body["groups"], strict=True):
        assert (group.name, group.tier, group.style) == (shown["name"], shown["tier"], shown["style"])
        assert vars(group.metrics) == {m: shown[m] for m in METRICS}
        assert {c: getattr(group.curves, c) for c in CURVES} == {c: shown[c] for c in CURVES}
        assert [asdict(day) for day in group.curves.days] == shown["days"]
        assert [(p.promotion_id, [asdict(d) for d in p.curves.days]) for p in group.by_promotion] == [
            (p["promotion_id"], p["days"]) for p in shown["by_promotion"]
        ]
    assert result.groups[0].metrics.cost_per_conversion == 3985 and result.groups[0].curves.half_life_hours == 31
    diff = asdict(result.cost_per_conversion_difference)
    assert {**diff, "groups": list(diff["groups"])} == body["cost_per_conversion_difference"]
    no_floats(result)

    start, end = date(2026, 10, 1), date(2026, 10, 6)
    daily = service.series(r, brand, "brand", None, start, end)
    shown = api.get("/reports/series", params={"by": "brand", "from": "2026-10-01", "to": "2026-10-06"}).json()
    assert isinstance(daily, Series) and daily.interval == shown["interval"] == "day"
    assert [asdict(row) for row in daily.rows] == shown["rows"] and asdict(daily.totals) == shown["totals"]
    assert daily.totals.conversions == 7  # o1..o8 by code, the duplicate once, the refunded o5 out
    start, end = series.date_range(brand, None, None)  # the clicks were made now
    top = service.breakdown(r, brand, "brand", None, "browser", start, end, top=2)
    shown = api.get("/reports/breakdown", params={"by": "brand", "dimension": "browser", "top": 2,
                                                  "from": start.isoformat(), "to": end.isoformat()}).json()  # fmt: skip
    assert [asdict(row) for row in top.rows] == shown["rows"] and asdict(top.other) == shown["other"]
    assert top.total == shown["total"] == 9  # A 3, B 2, C 4 (bots and HEAD apart)


def test_a_refresh_from_the_service_is_followed_through_the_api(api, queue_r, run_worker):
    job = service.refresh(queue_r, api.brand["id"])
    assert isinstance(job, RollupJob) and (job.status, job.done, job.percent) == ("queued", False, 5)
    assert api.get(f"/reports/jobs/{job.job_id}").json()["status"] == "queued"
    run_worker()
    done = service.rollup_job(queue_r, api.brand["id"], job.job_id)
    shown = api.get(f"/reports/jobs/{job.job_id}").json()
    assert (done.status, done.progress, done.result) == (shown["status"], shown["progress"], shown["result"])
    assert done.done and done.percent == 100 and done.message.startswith("Done:")


REPORT_PATHS = ["/api/v1/reports", "/api/v1/reports/comparison", "/api/v1/reports/series",
                "/api/v1/reports/breakdown", "/api/v1/reports/refresh", "/api/v1/reports/jobs/{job_id}"]  # fmt: skip


@pytest.mark.parametrize("path", REPORT_PATHS)
def test_the_openapi_document_describes_every_report_body(server, path):
    spec = requests.get(f"{server.url}/api/openapi.json").json()
    components = spec["components"]["schemas"]
    (method,) = (m for m in spec["paths"][path] if m in ("get", "post"))
    (status,) = (s for s in spec["paths"][path][method]["responses"] if s.startswith("2"))
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    refs = [s["$ref"] for s in schema.get("oneOf", [schema])]
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs), schema
    for ref in refs:
        body = components[ref.rsplit("/", 1)[1]]
        assert body["properties"] and body["required"], ref  # a described object, not any object


def test_the_dashboard_answers_its_scripts_in_the_one_error_shape(server, api):
    from tests.test_dashboard import Dash

    d = Dash(server.url)
    assert d.get("/dashboard/jobs/x", headers={"Accept": "application/json"}).json() == {
        "code": 401, "status": "Unauthorized", "message": "Not signed in."
    }  # fmt: skip
    assert d.login(api.key).status_code == 303
    missing = d.get("/dashboard/jobs/no-such-job", headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "status": "Not Found", "message": "job no-such-job not found"}
    assert missing.json() == api.get("/reports/jobs/no-such-job").json()
    d.http.close()

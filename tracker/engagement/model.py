"""A promotion's post metrics: dated snapshots of cumulative counts (docs/metrics.md).

A snapshot is what the platform showed on one day: impressions, reach, views, likes, comments,
shares, saves so far (each optional, at least one). The brand's series (entered through the API,
a CSV import or the dashboard, or confirmed from the influencer's reports) is one hash per
promotion, date -> snapshot, with the latest snapshot also in field `latest`, so a report reads
one field per promotion. What the influencer reports on their page is kept in another hash until
the brand confirms it (copied into the series) or rejects it; reports never read it.

Dates run from the promotion's posting day (UTC) to today (UTC): a promotion without `posted_at`
has no metrics yet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import redis
from marshmallow import ValidationError

from tracker import keys
from tracker.errors import Invalid
from tracker.records import now_iso, parse_iso
from tracker.tiers import TIERS

COUNTS = ("impressions", "reach", "views", "likes", "comments", "shares", "saves")
ENGAGEMENTS = ("likes", "comments", "shares", "saves")  # views are not engagements
MAX_COUNT = 10**12
MAX_ROWS = 1000
CSV_COLUMNS = ("date", *COUNTS)
LATEST = "latest"
INTEGER = re.compile(r"^-?[0-9]{1,20}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Expected engagement rate on followers, in percent, per tier (the figures: a micro
# account engages 2.4% or more, a mega/celebrity account 2-5%); a brand sets its own.
DEFAULT_RANGES: dict[str, dict[str, str | None]] = {
    "nano": {"min": None, "max": None},
    "micro": {"min": "2.4", "max": None},
    "macro": {"min": None, "max": None},
    "celebrity": {"min": "2", "max": "5"},
}


def as_number(text: str) -> int | str:
    """A typed count as the JSON body would carry it: an integer where it is one (the schema then
    checks its range), else the text (the schema says it is not an integer)."""
    return int(text) if INTEGER.fullmatch(text) else text


def engagements(snapshot: dict[str, Any]) -> int:
    return sum(snapshot.get(name) or 0 for name in ENGAGEMENTS)


def today() -> date:
    return datetime.now(UTC).date()


def date_problem(promotion: dict[str, Any], day: date) -> str | None:
    """Why a snapshot cannot be dated `day` for this promotion, or None."""
    posted = parse_iso(promotion.get("posted_at"))
    if posted is None:
        return "The promotion has not been posted (no posted_at): set posted_at first."
    if day < posted.astimezone(UTC).date():
        return f"Must be on or after the promotion's posting day, {posted.astimezone(UTC).date().isoformat()}."
    if day > today():
        return "Must not be in the future."
    return None


def as_stored(snapshot: dict[str, Any], source: str) -> dict[str, Any]:
    day = snapshot["date"]
    out: dict[str, Any] = {"date": day.isoformat() if isinstance(day, date) else day}
    for name in COUNTS:
        if snapshot.get(name) is not None:
            out[name] = snapshot[name]
    out["source"] = source
    out["entered_at"] = now_iso()
    return out


def check_dates(promotion: dict[str, Any], snapshots: list[dict[str, Any]], path: str | None = None) -> None:
    """Raise Invalid naming the first snapshot dated outside the promotion, or dated twice."""
    seen: set[date] = set()
    for n, s in enumerate(snapshots):
        problem = date_problem(promotion, s["date"])
        if problem is None and s["date"] in seen:
            problem = "Each date at most once."
        if problem:
            if path is None:
                raise Invalid("date", problem)
            raise Invalid(f"{path}.{n}.date", problem, {"json": {path: {n: {"date": [problem]}}}})
        seen.add(s["date"])


# -- the brand's series ---------------------------------------------------------------------
def series(r: redis.Redis, brand_id: str, promotion_id: str) -> list[dict[str, Any]]:
    raw = r.hgetall(keys.promotion_metrics(brand_id, promotion_id))
    return sorted((json.loads(v) for k, v in raw.items() if k != LATEST.encode()), key=lambda s: s["date"])


def write_series(r: redis.Redis, key: str, add: dict[str, dict[str, Any]], replace: bool) -> None:
    """Store snapshots by date (all or nothing) and keep `latest` the latest of the whole series."""
    with r.pipeline(transaction=True) as p:  # MULTI on a cluster client too (its default is none)
        while True:
            try:
                p.watch(key)
                dates = [] if replace else [k.decode() for k in p.hkeys(key) if k != LATEST.encode()]
                last = max([*dates, *add], default=None)
                latest = add.get(last) if last in add else (json.loads(p.hget(key, last)) if last else None)
                p.multi()
                if replace:
                    p.delete(key)
                if add:
                    p.hset(key, mapping={d: json.dumps(s, separators=(",", ":")) for d, s in add.items()})
                if latest is not None:
                    p.hset(key, LATEST, json.dumps(latest, separators=(",", ":")))
                p.execute()
                return
            except redis.WatchError:
                continue


def add_snapshots(r: redis.Redis, brand_id: str, promotion: dict[str, Any], snapshots: list[dict[str, Any]]) -> None:
    """Add the brand's snapshots to its series (a date already there is replaced)."""
    check_dates(promotion, snapshots)
    add = {s["date"].isoformat(): as_stored(s, "brand") for s in snapshots}
    write_series(r, keys.promotion_metrics(brand_id, promotion["id"]), add, replace=False)


def read_csv(text: str, load_row: Any) -> list[dict[str, Any]]:
    """The rows of a CSV import, each loaded by `load_row` (a marshmallow load: raises
    ValidationError); raises Invalid naming the line and column of the first problem."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid("csv", "empty; the first line names the columns.", {"csv": {"header": ["Empty file."]}}) from None
    except csv.Error as exc:
        raise Invalid("csv, line 1", str(exc), {"csv": {"line 1": [str(exc)]}}) from None
    for name in header:
        if name not in CSV_COLUMNS:
            problem = f"Unknown column; the columns are {', '.join(CSV_COLUMNS)}."
            raise Invalid(f"csv, header, {name}", problem, {"csv": {"header": {name: [problem]}}})
    if "date" not in header or len(set(header)) != len(header):
        problem = "The header names each column at most once, and date is required."
        raise Invalid("csv, header", problem, {"csv": {"header": [problem]}})
    rows: list[dict[str, Any]] = []
    try:
        for line in reader:
            at = f"line {reader.line_num}"
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= MAX_ROWS:
                raise Invalid("csv", f"at most {MAX_ROWS} rows.", {"csv": {at: [f"At most {MAX_ROWS} rows."]}})
            if len(line) != len(header):
                problem = f"Has {len(line)} cells; the header has {len(header)}."
                raise Invalid(f"csv, {at}", problem, {"csv": {at: [problem]}})
            raw: dict[str, Any] = {}
            for name, cell in zip(header, line, strict=True):
                cell = cell.strip()
                if cell == "":
                    continue
                raw[name] = as_number(cell) if name != "date" else cell
            try:
                row = load_row(raw)
            except ValidationError as exc:
                name, problems = next(iter(exc.messages.items()))
                message = problems[0] if isinstance(problems, list) else str(problems)
                if name == "_schema":
                    raise Invalid(f"csv, {at}", message, {"csv": {at: [message]}}) from None
                raise Invalid(f"csv, {at}, {name}", message, {"csv": {at: {name: [message]}}}) from None
            row["_line"] = at
            rows.append(row)
    except csv.Error as exc:
        at = f"line {reader.line_num}"
        raise Invalid(f"csv, {at}", str(exc), {"csv": {at: [str(exc)]}}) from None
    if not rows:
        raise Invalid("csv", "no rows under the header.", {"csv": {"header": ["No rows under the header."]}})
    return rows


def check_rows(promotion: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """The dates of a CSV import's rows: each in the promotion, at most once (a problem names its line)."""
    seen: set[date] = set()
    for row in rows:
        problem = date_problem(promotion, row["date"]) or ("Each date at most once." if row["date"] in seen else None)
        if problem:
            raise Invalid(f"csv, {row['_line']}, date", problem, {"csv": {row["_line"]: {"date": [problem]}}})
        seen.add(row["date"])


# -- the influencer's reports ---------------------------------------------------------------
def self_reported(r: redis.Redis, brand_id: str, promotion_id: str) -> list[dict[str, Any]]:
    raw = r.hvals(keys.promotion_self_metrics(brand_id, promotion_id))
    return sorted((json.loads(v) for v in raw), key=lambda s: s["date"])


def influencer_reports(r: redis.Redis, brand_id: str, promotion_ids: list[str]) -> list[dict[str, Any]]:
    """What an influencer reported, for their page: awaiting confirmation, or confirmed (in the
    brand's series with source "influencer"), by promotion and date."""
    with r.pipeline(transaction=False) as p:
        for promotion_id in promotion_ids:
            p.hvals(keys.promotion_self_metrics(brand_id, promotion_id))
            p.hgetall(keys.promotion_metrics(brand_id, promotion_id))
        raw = p.execute()
    out = []
    for n, promotion_id in enumerate(promotion_ids):
        for v in raw[2 * n]:
            out.append({**json.loads(v), "promotion_id": promotion_id, "confirmed": False})
        for k, v in raw[2 * n + 1].items():
            s = json.loads(v)
            if k != LATEST.encode() and s.get("source") == "influencer":
                out.append({**s, "promotion_id": promotion_id, "confirmed": True})
    return sorted(out, key=lambda s: (s["date"], s["promotion_id"]), reverse=True)


# -- what reports read ----------------------------------------------------------------------
def as_of(latest: bytes | None, r: redis.Redis, brand_id: str, promotion_id: str, end: date | None) -> dict | None:
    """The snapshot a report ending on `end` uses: the latest on or before it (`latest` when that
    is early enough: one field per promotion; else the promotion's series is read)."""
    if latest is None:
        return None
    snap = json.loads(latest)
    if end is None or snap["date"] <= end.isoformat():
        return snap
    earlier = [s for s in series(r, brand_id, promotion_id) if s["date"] <= end.isoformat()]
    return earlier[-1] if earlier else None


def ranges(brand: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """The brand's expected engagement rate per tier (percent text), defaults where unset."""
    own = brand.get("engagement_ranges") or {}
    return {t: {"min": None, "max": None, **DEFAULT_RANGES.get(t, {}), **(own.get(t) or {})} for t in TIERS}


def merge_ranges(brand: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str | None]]:
    """The brand's ranges with the tiers in `changes` replaced (percent as text, as stored)."""
    out = ranges(brand)
    for tier, bounds in changes.items():
        out[tier] = {k: None if bounds.get(k) is None else str(bounds[k]) for k in ("min", "max")}
    return out


def versus(engaged: int, followers: int, expected: dict[str, str | None]) -> str | None:
    """'below', 'within' or 'above' the expected range (percent of followers); None without a
    rate or a range."""
    if not followers or (expected.get("min") is None and expected.get("max") is None):
        return None
    percent = Decimal(engaged) * 100 / Decimal(followers)
    if expected.get("min") is not None and percent < Decimal(expected["min"]):
        return "below"
    if expected.get("max") is not None and percent > Decimal(expected["max"]):
        return "above"
    return "within"

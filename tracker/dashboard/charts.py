"""Line charts as inline SVG, drawn on the server: axes, ticks, one polyline per series, a legend.

Colours and line styles come from the stylesheet (classes `series-0`, `series-1`, `promo`), so a
chart needs no script and no inline style. Coordinates are floats (pixels), never money.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from tracker.reports.results import SeriesRow

WIDTH, HEIGHT = 600, 360
LEFT, RIGHT, TOP, BOTTOM = 78, 36, 14, 104  # RIGHT: room for half of the last x label


@dataclass
class Series:
    """One line: `points` are (day, value); `group` picks its colour; thin lines are per promotion."""

    name: str
    points: list[tuple[float, float]]
    group: int
    thin: bool = False
    labels: list[str] = field(default_factory=list)  # one tooltip per point (group lines only)


def ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering lo..hi: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if raw <= m * magnitude)
    if integer:
        step = max(1, round(step))
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    return [start + i * step for i in range(round((end - start) / step) + 1)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[Series],
    y_label: str,
    y_format: Callable[[float], str],
    integer: bool = False,
    x_label: str = "Days since posting",
    x_format: Callable[[float], str] | None = None,
) -> Markup:
    """An accessible SVG line chart (role img, <title> and <desc>) of `series` over days since posting."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    x_ticks = ticks(0, max(xs, default=1) or 1, 6, integer=True)
    y_ticks = ticks(min(0.0, *ys) if ys else 0.0, max(0.0, *ys) if ys else 1.0, 5, integer)
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> str:
        return _num(LEFT + (x - x0) / (x1 - x0) * pw)

    def sy(y: float) -> str:
        return _num(TOP + ph - (y - y0) / (y1 - y0) * ph)

    out = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/>',
    ]
    for y in y_ticks:
        line = "zero" if y == 0 and y0 < 0 else "grid"  # a dashed zero line when values go below it
        out.append(f'<line class="{line}" x1="{LEFT}" x2="{LEFT + pw}" y1="{sy(y)}" y2="{sy(y)}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 8}" y="{sy(y)}" text-anchor="end" dy="0.32em">{escape(y_format(y))}</text>'
        )
    for x in x_ticks:
        out.append(f'<line class="tick-mark" x1="{sx(x)}" x2="{sx(x)}" y1="{TOP + ph}" y2="{TOP + ph + 5}"/>')
        out.append(f'<text class="tick" x="{sx(x)}" y="{TOP + ph + 18}" text-anchor="middle">'
                   f"{escape(x_format(x) if x_format else _num(x))}</text>")
    out += [
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}"/>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + pw}" y1="{TOP + ph}" y2="{TOP + ph}"/>',
        f'<text class="axis-label" x="{LEFT + pw / 2}" y="{TOP + ph + 38}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text class="axis-label" transform="translate(16 {TOP + ph / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]
    if not ys:
        out.append(
            f'<text class="empty" x="{LEFT + pw / 2}" y="{TOP + ph / 2}" text-anchor="middle">No data yet</text>'
        )
    for s in sorted(series, key=lambda s: not s.thin):  # thin lines first, group lines on top
        points = " ".join(f"{sx(x)},{sy(y)}" for x, y in s.points)
        kind = "promo" if s.thin else "group"
        out.append(
            f'<polyline class="line {kind} series-{s.group}" points="{points}" fill="none">'
            f"<title>{escape(s.name)}</title></polyline>"
        )
        if not s.thin:  # a dot where the line moves (a day with events), with its value as a tooltip
            labels = s.labels or [""] * len(s.points)
            for n, ((x, y), label) in enumerate(zip(s.points, labels, strict=True)):
                if n and y == s.points[n - 1][1]:
                    continue
                tip = f"<title>{escape(label)}</title>" if label else ""
                out.append(f'<circle class="dot series-{s.group}" cx="{sx(x)}" cy="{sy(y)}" r="3.5">{tip}</circle>')
    entries = [
        (f"line group series-{s.group}", s.name if s.points else f"{s.name} (no data)") for s in series if not s.thin
    ]
    if any(s.thin for s in series):
        entries.append(("line promo series-0", "one promotion"))
    x, y = LEFT, TOP + ph + 66
    for css, label in entries:  # left to right, wrapping to a second row
        width = 40 + 8 * len(label)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 22
        out.append(f'<line class="{css} key" x1="{x}" x2="{x + 24}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="legend" x="{x + 30}" y="{y}" dy="0.32em">{escape(label)}</text>')
        x += width + 12
    out.append("</svg>")
    return Markup("\n".join(out))


def period_chart(chart_id: str, title: str, rows: Sequence[SeriesRow], time_zone: str) -> Markup:
    """Clicks and conversions per day (or hour) of a series (tracker.reports.results.Series), one
    point per period; ticks name the periods (mm-dd, or HH:00 by hour)."""
    hourly = bool(rows) and "T" in rows[0].period
    names = [row.period[11:16] if hourly else row.period[5:] for row in rows]

    def line(metric: str, label: str, group: int) -> Series:
        points = [(float(n), float(getattr(row, metric))) for n, row in enumerate(rows)]
        tips = [f"{row.period}: {getattr(row, metric)} {label.lower()}" for row in rows]
        return Series(label, points, group, labels=tips)

    clicks, conversions = sum(r.clicks for r in rows), sum(r.conversions for r in rows)
    span = f"{rows[0].period} to {rows[-1].period}" if rows else "no dates"
    description = (f"{'Hourly' if hourly else 'Daily'} clicks ({clicks} in all) and conversions ({conversions}) "
                   f"from {span}, {time_zone} time; the table below lists every {'hour' if hourly else 'day'}.")
    return line_chart(
        chart_id, title, description, [line("clicks", "Clicks", 0), line("conversions", "Conversions", 1)],
        "Count", lambda y: _num(y), integer=True, x_label=f"{'Hour' if hourly else 'Day'} ({time_zone})",
        x_format=lambda x: names[int(x)] if 0 <= int(x) < len(names) and x == int(x) else "",
    )  # fmt: skip

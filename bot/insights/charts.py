"""Server-side SVG charts of the figures (bars, a line for the trend): no script, readable on a phone.

Each chart scales to its container (`viewBox`, `width="100%"`), is an image with a title and a
description for screen readers (`role="img"`, `<title>`, `<desc>`), and writes every value as text beside
its mark, so nothing is said by colour or length alone. Text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

from bot.formats import Formats
from bot.insights.stats import FIELD_REFERENCE, KINDS, VenueStats

# Drawn narrow (the user units of a phone's width) so that, scaled to a phone's screen, no text falls under
# 12 CSS px: 14 units on a 340-unit chart are 13.5 px on a 360 px wide phone (328 px of content).
WIDTH = 340
FONT_SIZE = 14
TITLE_SIZE = 16
BAR_HEIGHT = 18
LABEL_GAP = 6  # between a bar's label line and the bar
GAP = 12
TOP = 34
BAR_COLOUR = "#2f6f9f"
#: Numbers as the dashboard's French readers write them, unless a chart is given other formats.
_FRENCH: Final = Formats()
REFERENCE_COLOUR = "#c0392b"
LINE_HEIGHT = 200
#: The most labels on a line chart's axis (and values over its dots), so that neighbours never overlap.
MAX_AXIS_LABELS = 7


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its value, the text written beside it, and an optional reference mark."""

    label: str
    value: float
    text: str
    reference: float | None = None
    reference_text: str = ""


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a line: its label on the x axis and its value (None: no data, the line breaks)."""

    label: str
    value: float | None
    text: str = ""


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" class="chart" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<text x="0" y="18" font-size="{TITLE_SIZE}" font-weight="bold" aria-hidden="true">{escape(title)}</text>',
    ]


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, scale: float | None = None) -> str:
    """Horizontal bars, longest = `scale` (default: the largest value or reference), each under a line with its
    label on the left and its value on the right: on a phone's width, neither is cut nor drawn over a bar."""
    row = FONT_SIZE + LABEL_GAP + BAR_HEIGHT + GAP
    height = TOP + len(bars) * row
    description = "; ".join(
        f"{b.label}: {b.text}" + (f" ({b.reference_text})" if b.reference_text else "") for b in bars
    )
    parts = _open(chart_id, title, description or "—", height)
    largest = scale or max([b.value for b in bars] + [b.reference or 0.0 for b in bars] + [0.0])
    span = WIDTH - 2  # from x = 1 to WIDTH - 1: a reference mark's stroke stays inside
    for index, bar in enumerate(bars):
        baseline = TOP + index * row + FONT_SIZE
        y = baseline + LABEL_GAP
        length = span * bar.value / largest if largest > 0 else 0.0
        parts.append('<g class="bar">')
        parts.append(f'<text x="0" y="{baseline}">{escape(bar.label)}</text>')
        label = bar.text + (f" · {bar.reference_text}" if bar.reference_text else "")
        parts.append(f'<text x="{WIDTH}" y="{baseline}" text-anchor="end">{escape(label)}</text>')
        parts.append(
            f'<rect x="1" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
        )
        if bar.reference is not None and largest > 0:
            x = 1 + span * bar.reference / largest
            parts.append(
                f'<line class="reference" x1="{x:.1f}" x2="{x:.1f}" y1="{y - 3}" y2="{y + BAR_HEIGHT + 3}" '
                f'stroke="{REFERENCE_COLOUR}" stroke-width="3" stroke-dasharray="4 2">'
                f"<title>{escape(bar.reference_text)}</title></line>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(
    chart_id: str,
    title: str,
    points: Sequence[Point],
    *,
    low: float = 0.0,
    high: float | None = None,
    formats: Formats = _FRENCH,
) -> str:
    """A line over labelled points (gaps where a value is None), each value written above its dot in the
    reader's way ("3,4")."""
    left, right, top, bottom = 30.0, 20.0, float(TOP + 16), 36.0
    values = [p.value for p in points if p.value is not None]
    high = high if high is not None else max([*values, low + 1.0])
    description = "; ".join(f"{p.label}: {p.text or _figure(p.value, formats)}" for p in points)
    parts = _open(chart_id, title, description or "—", LINE_HEIGHT)
    plot_w, plot_h = WIDTH - left - right, LINE_HEIGHT - top - bottom
    inset = 16.0  # the first and last dots, their values and labels clear of the axis's own labels
    step = (plot_w - 2 * inset) / max(1, len(points) - 1)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low)) if high > low else top + plot_h

    parts.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#888" '
        'aria-hidden="true"/>'
    )
    for tick in (low, high):
        parts.append(f'<text x="{left - 6}" y="{y_of(tick) + 5:.1f}" text-anchor="end">{_figure(tick, formats)}</text>')
    every = max(1, -(-len(points) // MAX_AXIS_LABELS))  # labels and values far enough apart not to overlap
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, point in enumerate(points):
        x = left + inset + step * index if len(points) > 1 else left + plot_w / 2
        labelled = index % every == 0
        if labelled:
            parts.append(
                f'<text x="{x:.1f}" y="{LINE_HEIGHT - bottom + 24:.1f}" text-anchor="middle">'
                f"{escape(point.label)}</text>"
            )
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = y_of(point.value)
        segment.append(f"{x:.1f},{y:.1f}")
        text = point.text or _figure(point.value, formats)
        value = f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">{escape(text)}</text>' if labelled else ""
        parts.append(
            f'<g class="point"><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BAR_COLOUR}">'
            f"<title>{escape(point.label)}: {escape(text)}</title></circle>{value}</g>"
        )
    if segment:
        segments.append(segment)
    for points_text in segments:
        parts.insert(
            5,
            f'<polyline class="trend" points="{" ".join(points_text)}" fill="none" stroke="{BAR_COLOUR}" '
            'stroke-width="2" aria-hidden="true"/>',
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _figure(value: float | None, formats: Formats) -> str:
    """A value as written on a chart: whole numbers without decimals, the others with one ("3,4")."""
    if value is None:
        return "—"
    return formats.decimal(value, 0 if float(value).is_integer() else 1)


# --- the dashboard's charts of a row of figures -------------------------------------------------------


def rating_chart(stats: VenueStats, *, title: str = "Ratings", formats: Formats = _FRENCH) -> str:
    """How many feedbacks gave each rating, 5 stars first."""
    total = max(1, stats.feedbacks)
    counts = {r: stats.distribution.get(r, 0) for r in range(5, 0, -1)}
    bars = [
        Bar("★" * r, count, f"{formats.number(count)} ({formats.percent(count / total, 0)})")
        for r, count in counts.items()
    ]
    return bar_chart("ratings", title, bars)


def kinds_chart(
    stats: VenueStats,
    *,
    title: str = "Kinds of feedback",
    reference_label: str = "field",
    names: Mapping[str, str] | None = None,
    formats: Formats = _FRENCH,
) -> str:
    """Each kind's share of the analysed feedback, with the field reference as a dashed mark; `names` are the
    words shown for the kinds (their codes without it)."""
    shares = stats.kind_shares
    bars = [
        Bar(
            (names or {}).get(kind, kind),
            shares[kind] or 0.0,
            formats.percent(shares[kind], 0),
            FIELD_REFERENCE[kind],
            f"{reference_label} {formats.percent(FIELD_REFERENCE[kind], 0)}",
        )
        for kind in KINDS
    ]
    return bar_chart("kinds", title, bars)


def trend_chart(stats: VenueStats, *, title: str = "Feedbacks per week", formats: Formats = _FRENCH) -> str:
    """The weekly number of feedbacks."""
    points = [Point(w.week[5:], float(w.feedbacks)) for w in stats.weekly]
    return line_chart("trend", title, points, formats=formats)


def rating_trend_chart(stats: VenueStats, *, title: str = "Average rating per week", formats: Formats = _FRENCH) -> str:
    """The weekly average rating on a 1-5 scale (a gap for a week without feedback)."""
    points = [
        Point(w.week[5:], w.average_rating, formats.decimal(w.average_rating, 1) if w.average_rating else "")
        for w in stats.weekly
    ]
    return line_chart("rating-trend", title, points, low=1.0, high=5.0, formats=formats)

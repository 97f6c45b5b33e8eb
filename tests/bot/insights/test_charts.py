"""Server-side SVG charts: well-formed, accessible (title, description, text of every value), responsive
(viewBox), drawn to scale, escaped; and the dashboard's charts of a row of figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.formats import Formats
from bot.insights.charts import (
    Bar,
    Point,
    bar_chart,
    kinds_chart,
    line_chart,
    rating_chart,
    rating_trend_chart,
    trend_chart,
)
from bot.insights.stats import VenueStats, WeekFigures

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ") and root.get("height") is None  # scales with its container
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_bars_are_to_scale_labelled_and_escaped() -> None:
    bars = [Bar("Big <Tasty>", 10, "10"), Bar("frites & co", 5, "5"), Bar("eau", 0, "0")]
    svg = bar_chart("c", "Produits <cités> & co", bars)
    root = _parse(svg)
    assert root.findtext(f"{SVG}title") == "Produits <cités> & co"
    assert root.findtext(f"{SVG}desc") == "Big <Tasty>: 10; frites & co: 5; eau: 0"
    widths = [float(r.get("width", "")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == 0
    assert {"Big <Tasty>", "10", "frites & co", "5", "eau", "0"} <= set(_texts(root))
    assert "<Tasty>" not in svg and "&lt;Tasty&gt;" in svg


def test_an_empty_chart_is_still_a_valid_image() -> None:
    root = _parse(bar_chart("c", "Rien", []))
    assert root.findtext(f"{SVG}desc") == "—" and not list(root.iter(f"{SVG}rect"))
    root = _parse(line_chart("l", "Rien", []))
    assert not list(root.iter(f"{SVG}polyline"))


def test_reference_marks_stand_where_the_reference_is() -> None:
    bars = [Bar("a", 0.5, "50%", 0.25, "field 25%"), Bar("b", 0.25, "25%", 0.5, "field 50%")]
    root = _parse(bar_chart("k", "Kinds", bars))
    rects = list(root.iter(f"{SVG}rect"))
    marks = [line for line in root.iter(f"{SVG}line") if line.get("class") == "reference"]
    x0 = float(rects[0].get("x", ""))
    full = float(rects[0].get("width", ""))  # 0.5 is the largest value: the full length
    assert [float(m.get("x1", "")) - x0 for m in marks] == [full / 2, full]
    assert "50% · field 25%" in _texts(root) and "25% · field 50%" in _texts(root)


def test_a_line_breaks_where_a_week_has_no_value() -> None:
    points = [Point("a", 1.0), Point("b", 3.0), Point("c", None), Point("d", 5.0), Point("e", 4.0)]
    root = _parse(line_chart("l", "Trend", points, low=1.0, high=5.0))
    lines = [p.get("points", "").split() for p in root.iter(f"{SVG}polyline")]
    assert sorted(len(points) for points in lines) == [2, 2]
    ys = {float(c.get("cy", "")) for c in root.iter(f"{SVG}circle")}
    assert len(list(root.iter(f"{SVG}circle"))) == 4 and max(ys) > min(ys)  # 1 lowest, 5 highest
    assert {"a", "b", "c", "d", "e", "1", "3", "5", "4"} <= set(_texts(root))


def test_the_dashboard_charts_of_a_row_of_figures() -> None:
    weekly = (WeekFigures("2026-09-07", 3, 4.0), WeekFigures("2026-09-14", 0, None), WeekFigures("2026-09-21", 1, 2.0))
    row = VenueStats(
        brand="quick", venue=None, venue_name="", feedbacks=4, average_rating=3.5, tickets=4, answered=1, open=3,
        closed=0, spam=0, undeliverable=0, response_rate=0.25, median_first_response_seconds=60.0,
        distribution={5: 2, 4: 1, 2: 1}, analysed=4, weekly=weekly,
        kinds={"complaint": 1, "critique": 0, "suggestion": 0, "praise": 3},
    )  # fmt: skip
    ratings = _parse(rating_chart(row, title="Notes"))
    # French numbers, as the dashboard's tables write them (Babel): a no-break space before "%".
    assert ratings.findtext(f"{SVG}title") == "Notes"
    assert "2 (50\u00a0%)" in _texts(ratings) and "0 (0\u00a0%)" in _texts(ratings)
    kinds = _parse(kinds_chart(row, reference_label="terrain"))
    assert "75\u00a0% · terrain 44\u00a0%" in _texts(kinds) and "25\u00a0% · terrain 8\u00a0%" in _texts(kinds)
    english = _parse(kinds_chart(row, formats=Formats("en")))
    assert "75% · field 44%" in _texts(english)
    trend = _parse(trend_chart(row))
    assert [len(p.get("points", "").split()) for p in trend.iter(f"{SVG}polyline")] == [3]
    assert "09-14" in _texts(trend)
    rating_trend = _parse(rating_trend_chart(row))
    assert len(list(rating_trend.iter(f"{SVG}polyline"))) == 2  # no rating in the empty week: a gap


def test_a_weeks_average_rating_reads_with_a_decimal_comma() -> None:
    weekly = (WeekFigures("2026-09-07", 5, 3.4), WeekFigures("2026-09-14", 2, 4.5))
    row = VenueStats(
        brand="quick", venue=None, venue_name="", feedbacks=7, average_rating=3.7, tickets=0, answered=0, open=0,
        closed=0, spam=0, undeliverable=0, response_rate=None, median_first_response_seconds=None,
        distribution={4: 4, 3: 3}, analysed=0, weekly=weekly, kinds={},
    )  # fmt: skip
    texts = _texts(_parse(rating_trend_chart(row)))
    assert "3,4" in texts and "4,5" in texts and "3.4" not in texts
    assert "3.4" in _texts(_parse(rating_trend_chart(row, formats=Formats("en"))))
    ticks = _texts(_parse(line_chart("l", "Note", [Point("a", 2.5)], low=1.0, high=4.5)))
    assert "2,5" in ticks and "4,5" in ticks  # the axis and a value without its own text

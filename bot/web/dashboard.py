"""The web admin's dashboard: the insights of a brand or a venue over a period (`bot.insights.stats`), drawn with
`bot.insights.charts`. It builds the page's context; `bot.web.admin` serves it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from bot.editing.editor import Admin
from bot.errors import NotAllowed, problem
from bot.formats import Formats
from bot.insights.charts import kinds_chart, rating_chart, rating_trend_chart, trend_chart
from bot.insights.figures import NAMES, SMALL_BASE, Figure
from bot.insights.stats import (
    CHANNEL_ORDER,
    FIELD_REFERENCE,
    KINDS,
    MAX_PERIOD_DAYS,
    Ranked,
    VenueStats,
    parse_period,
    venue_stats,
)
from bot.insights.tables import change_text, figure_text, staff_name
from bot.labels import labels_for
from bot.storage import keys
from bot.storage.store import Store

FIELDS = ("brand", "venue", "since", "until")


async def dashboard_form(store: Store, admin: Admin, query: Mapping[str, str]) -> dict[str, Any]:
    """The form's values as asked (brand: by default the admin's, or for an operator the brand that heard from
    a customer last), with the brands the admin may choose from and the venues of the brand shown."""
    form: dict[str, Any] = {name: query.get(name, "").strip() for name in FIELDS}
    names = {b.code: b.name for b in await store.list_brands()}
    brands = [admin.brand] if admin.brand is not None else list(names)
    form["brand"] = form["brand"] or await _liveliest(store, brands)
    form["brands"] = brands
    form["brand_names"] = {code: names.get(code, code) for code in brands}
    form["venues"] = (
        [(v.code, v.name) for v in await store.list_venues(form["brand"])] if form["brand"] in brands else []
    )
    return form


async def _liveliest(store: Store, brands: list[str]) -> str:
    """The brand whose newest feedback is the most recent (the first brand when none has any; "" without any)."""
    newest: dict[str, float] = {}
    for code in brands:
        found = await store.redis.zrange(keys.feedbacks(code), -1, -1, withscores=True)
        if found:
            newest[code] = float(found[0][1])
    return max(newest, key=newest.__getitem__) if newest else next(iter(brands), "")


async def dashboard_figures(store: Store, admin: Admin, form: Mapping[str, str]) -> dict[str, Any]:
    """The figures and charts of the brand or venue and period of the form, checked (NotFound for an
    unknown brand or venue, NotAllowed for another brand than the admin's, InvalidInput for bad dates)."""
    brand, venue = form["brand"], form["venue"] or None
    if admin.brand is not None and brand != admin.brand:
        text = "{admin} may see only the brand {mine!r}, not {brand!r}"
        raise NotAllowed(problem("only_brand", text, admin=admin.name, mine=admin.brand, brand=brand))
    since, until = parse_period(
        form["since"] or None, form["until"] or None, ("« depuis le »", "« jusqu'au »"), longest_days=MAX_PERIOD_DAYS
    )
    await store.get_brand(brand)
    rows = await venue_stats(store, brand, venue, since=since, until=until)
    [row] = [r for r in rows if r.venue == venue]
    return {
        "stats": row,
        "field": field_context(row, [r for r in rows if r.venue is not None and venue is None]),
        "median": Formats().duration(row.median_first_response_seconds),
        "kinds": _kinds(row),
        "channels": _channels(row),
        "tops": _tops(row),
        "charts": _charts(row),
    }


def _kinds(row: VenueStats) -> list[dict[str, Any]]:
    shares = row.kind_shares
    return [
        {"kind": k, "name": LABELS.name("kinds", k), "count": row.kinds.get(k, 0), "share": shares[k],
         "reference": FIELD_REFERENCE[k]}
        for k in KINDS
    ]  # fmt: skip


#: The dashboard is in French: kinds, aspects, entity labels and channels by the staff card's words.
LABELS = labels_for("fr")
#: Each channel's name, in the order of the stats (the inbox's and ticket page's filter and column too).
CHANNEL_NAMES = {channel: LABELS.name("channels", channel) for channel in CHANNEL_ORDER}


def _channels(row: VenueStats) -> list[dict[str, Any]]:
    total = row.feedbacks
    return [
        {"channel": c, "name": LABELS.name("channels", c), "count": n, "share": n / total if total else None}
        for c, n in row.channels.items()
    ]


def _tops(row: VenueStats) -> dict[str, list[dict[str, Any]]]:
    """Each top list with the words to show: an aspect by its name, names people wrote as they wrote them."""
    lists: dict[str, tuple[Ranked, ...]] = {
        "staff_thanked": row.staff_thanked,
        "products_criticised": row.products_criticised,
        "top_aspects": row.top_aspects,
        "top_entities": row.top_entities,
    }
    return {
        name: [
            {"text": r.text, "count": r.count,
             "name": LABELS.name("aspects", r.text) if name == "top_aspects" else r.text}
            for r in ranked
        ]
        for name, ranked in lists.items()
    }  # fmt: skip


def _charts(row: VenueStats) -> dict[str, Markup]:
    # The charts escape every text they write: their SVG goes into the page as it is.
    kind_names = {k: LABELS.name("kinds", k) for k in KINDS}
    return {
        "ratings": Markup(rating_chart(row, title="Notes")),
        "kinds": Markup(kinds_chart(row, title="Types de retours", reference_label="terrain", names=kind_names)),
        "trend": Markup(trend_chart(row, title="Retours par semaine")),
        "rating_trend": Markup(rating_trend_chart(row, title="Note moyenne par semaine")),
    }


#: The figures of the per-venue and per-staff tables (the staff's response rate means nothing: see figures).
VENUE_COLUMNS = NAMES
STAFF_COLUMNS = ("first_response_median", "first_response_p90", "within_deadline", "csat", "resolution_rate")


def _cell(name: str, figure: Figure) -> dict[str, Any]:
    return {"name": name, "value": figure.value, "text": figure_text(name, figure.value), "base": figure.base,
            "low_base": figure.low_base}  # fmt: skip


def field_context(row: VenueStats, venues: list[VenueStats]) -> dict[str, Any]:
    """The field's figures of the row with their rules, beside the previous period; per venue (the brand's
    venues when the row is the brand's) and per staff member."""
    formats = Formats()
    figures: list[dict[str, Any]] = []
    if row.field is not None:
        for name in NAMES:
            figure = row.field[name]
            before = row.field_previous[name] if row.field_previous is not None else None
            change = row.field.change(name, row.field_previous)
            figures.append({
                **_cell(name, figure), "label": LABELS.name("figures", name), "rule": LABELS.name("figure_rules", name),
                "previous": figure_text(name, before.value if before else None), "change": change_text(name, change),
            })  # fmt: skip
    previous = None
    if row.previous_since is not None and row.previous_until is not None:
        previous = f"du {formats.day(row.previous_since)} au {formats.day(row.previous_until)} (exclu)"
    return {
        "figures": figures,
        "previous": previous,
        "small_base": SMALL_BASE,
        "columns": [(name, LABELS.name("figures", name)) for name in VENUE_COLUMNS],
        "venues": [
            {"code": v.venue, "name": v.venue_name, "cells": [_cell(n, v.field[n]) for n in VENUE_COLUMNS]}
            for v in venues
            if v.field is not None
        ],
        "staff_columns": [(name, LABELS.name("figures", name)) for name in STAFF_COLUMNS],
        "staff": [
            {
                "by": s.by,
                "name": staff_name(s.by),
                "answered": s.figures["first_response_median"].base,
                "cells": [_cell(n, s.figures[n]) for n in STAFF_COLUMNS],
            }
            for s in row.staff
        ],
    }

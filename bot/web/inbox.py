"""The web admin's inbox: a brand's feedback newest first, filtered and searched through the inbox index
(`bot.storage.index`), a page at a time from a cursor. It builds the page's context; `bot.web.admin` serves it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from redis.asyncio import Redis

from bot.editing.editor import Admin
from bot.errors import InvalidInput, NotAllowed, problem
from bot.storage import keys
from bot.storage.index import KINDS, RATINGS, STATUSES, FeedbackIndex, InboxQuery
from bot.storage.store import Store, redis_strings
from bot.web.dashboard import CHANNEL_NAMES
from nlp.aspects import ASPECTS

PAGE_SIZE = 25
EXCERPT = 240  # characters of a reason shown in a row
MAX_QUERY = 200  # characters of a search
#: The filters of the form: the index's facet, and the values one may choose (None: the brand's venues).
FILTERS: dict[str, tuple[str, ...] | None] = {
    "venue": None,
    "channel": tuple(CHANNEL_NAMES),
    "rating": RATINGS,
    "kind": KINDS,
    "aspect": ASPECTS,
    "status": STATUSES,
}
STATUS_NAMES = {
    "none": "pas encore de ticket",
    "open": "ouvert",
    "answered": "répondu",
    "closed": "fermé",
    "spam": "spam",
    "no_answer": "pas de réponse attendue",
}
KIND_NAMES = {"complaint": "plainte", "critique": "critique", "suggestion": "suggestion", "praise": "éloge"}


async def inbox_form(
    store: Store, admin: Admin, query: Mapping[str, str], multi: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The form as asked, checked: the brand (a brand admin's own; NotAllowed for another), each filter's values
    (InvalidInput for one that does not exist), the search, the period (UTC days) and the cursor."""
    brands = [admin.brand] if admin.brand is not None else [b.code for b in await store.list_brands()]
    brand = query.get("brand", "").strip() or next(iter(brands), "")
    if admin.brand is not None and brand != admin.brand:
        text = "{admin} may see only the brand {mine!r}, not {brand!r}"
        raise NotAllowed(problem("only_brand", text, admin=admin.name, mine=admin.brand, brand=brand))
    form: dict[str, Any] = {"brand": brand, "brands": brands, "venues": [], "chosen": {}}
    if not brand:
        return form
    await store.get_brand(brand)  # NotFound for a brand that does not exist
    form["venues"] = [(v.code, v.name) for v in await store.list_venues(brand)]
    for name, allowed in FILTERS.items():
        values = [v for v in multi.get(name, []) if v]
        choices = allowed if allowed is not None else tuple(code for code, _ in form["venues"])
        for value in values:
            if value not in choices:
                raise InvalidInput(
                    problem(
                        "filter_choice",
                        "{name} {value!r} is not one of {choices}",
                        name=name,
                        value=value,
                        choices=tuple(choices),
                    )
                )
        form["chosen"][name] = values
    form["suggestion"] = query.get("suggestion") == "1"
    form["q"] = " ".join(query.get("q", "").split())[:MAX_QUERY]
    form["since"], form["until"] = query.get("since", "").strip(), query.get("until", "").strip()
    since, until = _day(form["since"], "since"), _day(form["until"], "until")
    if since and until and until <= since:
        raise InvalidInput(problem("until_before_since", "until must come after since"))
    form["since_day"], form["until_day"] = since, until
    before = query.get("before", "").strip()
    if before and not before.isdigit():
        raise InvalidInput(problem("bad_cursor", "the page's cursor is not a number"))
    form["before"] = int(before) if before else -1
    return form


def _day(text: str, what: str) -> str:
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text).strftime("%Y%m%d")
    except ValueError:
        raise InvalidInput(
            problem("bad_date", "{what} {text!r} is not a date: write YYYY-MM-DD", what=what, text=text)
        ) from None


async def inbox_page(redis: Redis, form: Mapping[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """The matches' count, the rows of one page and the link to the next (one script call, one round trip)."""
    query = _query(form, before=form["before"])
    index = FeedbackIndex(redis)
    newest = await index.newest(form["brand"])  # before the query: what is stored meanwhile shows up as new
    page = await index.query(query)
    rows = await _rows(redis, form["brand"], page.feedback_ids, time.time() if now is None else now)
    following = None
    if page.next_cursor is not None:
        following = "/inbox?" + urlencode([*_query_pairs(form), ("before", str(page.next_cursor))])
    first = "/inbox?" + urlencode(_query_pairs(form)) if form["before"] >= 0 else None
    return {
        "count": page.count,
        "rows": rows,
        "next": following,
        "first": first,
        "newest": newest,
        "poll": "/inbox/new?" + urlencode(_query_pairs(form)) if form["before"] < 0 else None,
    }


async def new_rows(redis: Redis, form: Mapping[str, Any], after: int, *, now: float | None = None) -> dict[str, Any]:
    """The rows stored after position `after` that match the form (at most a page), their count, and the newest
    position now."""
    index = FeedbackIndex(redis)
    newest = await index.newest(form["brand"])
    page = await index.query(_query(form, after=after))
    rows = await _rows(redis, form["brand"], page.feedback_ids, time.time() if now is None else now)
    return {"count": page.count, "rows": rows, "newest": max(newest, after)}


def _query(form: Mapping[str, Any], *, before: int = -1, after: int = -1) -> InboxQuery:
    filters = {name: values for name, values in form["chosen"].items() if values}
    if form["suggestion"]:
        filters["suggestion"] = ["1"]
    return InboxQuery(
        form["brand"], filters, text=form["q"], since=form["since_day"], until=form["until_day"], before=before,
        after=after, limit=PAGE_SIZE,
    )  # fmt: skip


def _query_pairs(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs = [("brand", form["brand"])]
    for name, values in form["chosen"].items():
        pairs += [(name, v) for v in values]
    if form["suggestion"]:
        pairs.append(("suggestion", "1"))
    pairs += [(name, form[name]) for name in ("q", "since", "until") if form[name]]
    return pairs


async def _rows(redis: Redis, brand: str, ids: Sequence[str], now: float) -> list[dict[str, Any]]:
    async with redis.pipeline(transaction=False) as pipe:
        for feedback_id in ids:
            pipe.hgetall(keys.feedback(brand, feedback_id))
        feedbacks = [redis_strings(row) for row in await pipe.execute()]
    async with redis.pipeline(transaction=False) as pipe:
        for data in feedbacks:
            pipe.hmget(keys.ticket(brand, int(data.get("ticket") or 0)), ["status", "resolved"])
        tickets = await pipe.execute()
    rows = []
    for data, (status, resolved) in zip(feedbacks, tickets, strict=True):
        if not data:
            continue  # gone since the index was read
        entities = json.loads(data.get("entities") or "[]")
        state = status or ("no_answer" if data.get("no_answer") else "none")
        rows.append(
            {
                "id": data["id"],
                "venue": data.get("venue_name") or data.get("venue", ""),
                "rating": int(data.get("rating") or 0),
                "kind": KIND_NAMES.get(data.get("kind") or "", ""),
                "reason": highlighted(data.get("reason", ""), [e for e in entities if e.get("field") == "reason"]),
                "suggestion": highlighted(
                    data.get("suggestion", ""), [e for e in entities if e.get("field") == "suggestion"]
                ),
                "age": age(now - float(data.get("created_at") or now)),
                "status": state,
                "status_name": STATUS_NAMES.get(state, state),
                "resolved": resolved or "",
                "contact": data.get("contact") == "1",  # the customer asked to be contacted (`bot.customers.contact`)
                "channel": CHANNEL_NAMES.get(data.get("channel") or "telegram", data.get("channel") or ""),
                "ticket": int(data["ticket"]) if data.get("ticket") else None,
            }
        )
    return rows


def highlighted(text: str, entities: Sequence[Mapping[str, Any]], limit: int = EXCERPT) -> Markup:
    """The start of a text, escaped, with its entities in `<mark>` (their label as a class)."""
    shown = text[:limit]
    parts: list[str] = []
    at = 0
    for entity in sorted(entities, key=lambda e: int(e.get("start", 0))):
        start, end = int(entity.get("start", 0)), int(entity.get("end", 0))
        if start < at or end > len(shown) or start >= end:
            continue  # overlapping, cut by the excerpt or malformed: shown as plain text
        label = str(entity.get("label", "MISC"))
        label = label if label.isalpha() else "MISC"
        parts += [str(escape(shown[at:start])), f'<mark class="entity {label}">{escape(shown[start:end])}</mark>']
        at = end
    parts.append(str(escape(shown[at:])))
    if len(text) > limit:
        parts.append("…")
    return Markup("".join(parts))


def age(seconds: float) -> str:
    """How long ago, in the largest unit that fits (min, h, j)."""
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} j"

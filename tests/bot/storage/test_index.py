"""The inbox index (`bot.storage.index`) against the feedback itself: every filter, the search, the period and
the paging give what reading every feedback and filtering it by hand gives."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.staff.tickets import TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.index import WORD_BITMAP_RATIO, FeedbackIndex, InboxQuery, words
from bot.storage.store import Store
from tests.seeding import seed_feedback

MONDAY = dt.datetime(2026, 9, 7, 9, 0, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0
Row = dict[str, Any]


@pytest.fixture
async def rows(redis_client: Redis) -> list[Row]:
    """150 feedbacks of quick's two venues, one every 5 hours, from four channels, with tickets and answers;
    every feedback as the store reads it back, with its ticket, newest first."""
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_brand("sncf", "SNCF")
    venues = [await store.add_venue("quick", "Quick Massy"), await store.add_venue("quick", "Quick Orly")]
    await seed_feedback(redis_client, venues, 150, start=MONDAY, spacing=5 * HOUR, rng=random.Random(3), batch=40,
                        channels=("telegram", "whatsapp", "web", "telegram", "kiosk"))  # fmt: skip
    found = [row async for row in store.iter_feedback("quick", with_tickets=True)]
    return sorted(found, key=lambda row: row["created_at"], reverse=True)


async def everything(index: FeedbackIndex, query: InboxQuery) -> tuple[int, list[str]]:
    """Every page of a query, following the cursors; the count of the first page."""
    page = await index.query(query)
    count, ids = page.count, list(page.feedback_ids)
    while page.next_cursor is not None:
        page = await index.query(InboxQuery(**{**_fields(query), "before": page.next_cursor}))
        assert page.count == count  # the count does not depend on the page
        ids += page.feedback_ids
    return count, ids


def _fields(query: InboxQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in query.__slots__}


def folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def status(row: Row) -> str:
    return str(row["ticket_hash"].get("status", "none"))


CASES: list[tuple[dict[str, list[str]], str, Callable[[Row], bool]]] = [
    ({}, "", lambda r: True),
    ({"rating": ["1", "2", "3"]}, "", lambda r: r["rating"] <= 3),
    ({"channel": ["whatsapp"]}, "", lambda r: r["channel"] == "whatsapp"),
    ({"kind": ["praise"], "channel": ["telegram", "web"]}, "",
     lambda r: r["kind"] == "praise" and r["channel"] in ("telegram", "web")),
    ({"status": ["answered"], "rating": ["5"]}, "", lambda r: status(r) == "answered" and r["rating"] == 5),
    ({"status": ["open"]}, "", lambda r: status(r) == "open"),
    ({"suggestion": ["1"]}, "", lambda r: bool(r["suggestion"])),
    ({"aspect": ["product"]}, "", lambda r: "product" in r["aspects"]),
    ({}, "Julien", lambda r: "julien" in folded(r["reason"])),
    ({}, "big tasty", lambda r: "big tasty" in folded(r["reason"])),
    ({"rating": ["1"]}, "FROID", lambda r: r["rating"] == 1 and "froid" in folded(r["reason"])),
    ({}, "croissants", lambda r: "croissants" in folded(r["suggestion"] or "")),
    ({}, "réponse", lambda r: any("reponse" in folded(m["text"]) for m in r["replies"])),
    ({}, "nowhere", lambda r: False),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "text", "wanted"), CASES)
async def test_filters_and_search_give_what_reading_every_feedback_gives(
    redis_client: Redis, rows: list[Row], filters: dict[str, list[str]], text: str, wanted: Callable[[Row], bool]
) -> None:
    venue = rows[0]["venue"]
    for extra in ({}, {"venue": [venue]}):
        expected = [r["id"] for r in rows if wanted(r) and (not extra or r["venue"] == venue)]
        query = InboxQuery("quick", {**filters, **extra}, text=text, limit=7)
        count, ids = await everything(FeedbackIndex(redis_client), query)
        assert (count, ids) == (len(expected), expected)


async def test_a_period_of_days_keeps_the_feedback_of_those_days(redis_client: Redis, rows: list[Row]) -> None:
    index = FeedbackIndex(redis_client)
    since, until = "20260910", "20260915"
    expected = [
        r["id"] for r in rows if since <= dt.datetime.fromtimestamp(r["created_at"], dt.UTC).strftime("%Y%m%d") < until
    ]
    assert expected
    assert await everything(index, InboxQuery("quick", {}, since=since, until=until, limit=10)) == (
        len(expected),
        expected,
    )
    later = [r["id"] for r in rows if r["created_at"] >= dt.datetime(2026, 9, 20, tzinfo=dt.UTC).timestamp()]
    assert await everything(index, InboxQuery("quick", {}, since="20260920")) == (len(later), later)
    assert await everything(index, InboxQuery("quick", {}, since="20300101")) == (0, [])
    assert await everything(index, InboxQuery("quick", {}, until="20200101")) == (0, [])  # fmt: skip


async def test_a_ticket_closed_or_spam_moves_to_that_state(redis_client: Redis, rows: list[Row]) -> None:
    index, tickets = FeedbackIndex(redis_client), TicketStore(redis_client)
    row = next(r for r in rows if status(r) == "open")
    ticket = await tickets.get("quick", row["ticket"])
    assert ticket is not None
    await tickets.close(ticket, TicketStatus.SPAM, MONDAY)
    spam = await index.query(InboxQuery("quick", {"status": ["spam"]}))
    assert spam.feedback_ids == [row["id"]]
    still_open = await index.query(InboxQuery("quick", {"status": ["open"]}, limit=100))
    assert row["id"] not in still_open.feedback_ids
    assert still_open.count == sum(1 for r in rows if status(r) == "open") - 1


async def test_brands_do_not_share_an_index_and_unknown_values_match_nothing(
    redis_client: Redis, rows: list[Row]
) -> None:
    index = FeedbackIndex(redis_client)
    assert (await index.query(InboxQuery("sncf", {}))).count == 0
    assert (await index.query(InboxQuery("quick", {"venue": ["nowhere"]}))).count == 0
    assert (await index.query(InboxQuery("quick", {"rating": ["9"]}))).feedback_ids == []
    assert (await index.query(InboxQuery("quick", {}, text="   ,;! "))).count == len(rows)  # no word: no search


async def test_a_frequent_word_becomes_a_bitmap_and_a_rare_one_stays_a_list_of_positions(
    redis_client: Redis, rows: list[Row]
) -> None:
    store, prefix = Store(redis_client), keys.index("quick")
    venues = await store.list_venues("quick")
    await seed_feedback(redis_client, venues, 100, start=MONDAY + 1000 * HOUR, spacing=HOUR, rng=random.Random(4))
    rows = [row async for row in store.iter_feedback("quick")]
    merci = sum(1 for r in rows if "merci" in words(r["reason"] + " " + " ".join(m["text"] for m in r["replies"])))
    assert merci > 128 and merci * WORD_BITMAP_RATIO > len(rows)
    expected = sorted(
        (r for r in rows if "merci" in folded(r["reason"]) or any("merci" in folded(m["text"]) for m in r["replies"])),
        key=lambda r: -r["created_at"],
    )
    assert await everything(FeedbackIndex(redis_client), InboxQuery("quick", {}, text="merci", limit=50)) == (
        len(expected),
        [r["id"] for r in expected],
    )
    assert await redis_client.exists(f"{prefix}:w:merci") and not await redis_client.exists(f"{prefix}:p:merci")
    assert await redis_client.strlen(f"{prefix}:p:croissants") == 4 * sum(
        1 for r in rows if "croissants" in folded(r["suggestion"] or "")
    )
    assert not await redis_client.exists(f"{prefix}:w:croissants")
    assert await redis_client.keys(f"{prefix}:tmp:*") == []  # queries leave nothing behind


def test_words_fold_case_and_accents_and_drop_stop_words() -> None:
    assert words("Le Big Tasty était FROID, très froid ; à 12h") == ["big", "tasty", "froid", "12h"]
    assert words("") == [] and words("__init__ la le") == []

"""The inbox over HTTP against seeded feedback: counts and rows as reading every feedback gives them, paging by
cursor, highlighted and escaped texts, and brand boundaries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.customers.contact import ContactRequests
from bot.staff.policy import PolicyStore
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from tests.bot.web.conftest import MONDAY, WebAdmin
from tests.bot.web.test_admin import login

SEPT_10 = MONDAY + 3 * 86400 - 9 * 3600  # midnight UTC


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def everything(web_admin: WebAdmin) -> list[dict[str, Any]]:
    store = web_admin.editor.store
    rows = [row async for row in store.iter_feedback("quick", with_tickets=True)]
    return sorted(rows, key=lambda row: row["created_at"], reverse=True)


async def read(client: aiohttp.ClientSession, url: str, status: int = 200) -> str:
    async with client.get(url) as response:
        text = await response.text()
        assert response.status == status, text
        return text


def listed(page: str) -> tuple[int, list[str], str | None]:
    """The count, the feedback ids of the rows, and the next page's link."""
    count = re.search(r'id="count" data-count="(\d+)"', page)
    assert count is not None
    following = re.search(r'<a href="([^"]+)" id="next-page"', page)
    link = following.group(1).replace("&amp;", "&") if following else None
    return int(count.group(1)), re.findall(r'data-feedback="(\w+)"', page), link


async def all_pages(client: aiohttp.ClientSession, web_admin: WebAdmin, path: str) -> tuple[int, list[str]]:
    count, ids, link = listed(await read(client, web_admin.url + path))
    while link is not None:
        more_count, more, link = listed(await read(client, web_admin.url + link))
        assert more_count == count
        ids += more
    return count, ids


async def test_the_inbox_lists_every_feedback_newest_first_page_after_page(
    web_admin: WebAdmin, seeded: list[str], client: aiohttp.ClientSession
) -> None:
    await login(client, web_admin, "quick")
    rows = await everything(web_admin)
    count, ids = await all_pages(client, web_admin, "/inbox")
    assert (count, ids) == (60, [r["id"] for r in rows])
    assert len(set(ids)) == 60


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("rating=1&rating=2&channel=whatsapp", lambda r: r["rating"] <= 2 and r["channel"] == "whatsapp"),
        ("kind=praise&status=answered", lambda r: r["kind"] == "praise" and r["ticket_hash"]["status"] == "answered"),
        ("suggestion=1", lambda r: bool(r["suggestion"])),
        ("aspect=price&aspect=cleanliness", lambda r: bool({"price", "cleanliness"} & set(r["aspects"]))),
        ("q=julien", lambda r: "julien" in r["reason"].lower()),
        ("q=Big+Tasty&rating=1", lambda r: "big tasty" in r["reason"].lower() and r["rating"] == 1),
        ("since=2026-09-10&until=2026-09-14", lambda r: SEPT_10 <= r["created_at"] < SEPT_10 + 4 * 86400),
        ("q=personne", lambda r: False),
    ],
)  # fmt: skip
async def test_filters_and_search_count_what_they_match(
    web_admin: WebAdmin, seeded: list[str], client: aiohttp.ClientSession, query: str, wanted: Any
) -> None:
    await login(client, web_admin, "quick")
    rows = await everything(web_admin)
    for venue in ("", seeded[1]):
        expected = [r["id"] for r in rows if wanted(r) and (not venue or r["venue"] == venue)]
        path = f"/inbox?{query}" + (f"&venue={venue}" if venue else "")
        assert await all_pages(client, web_admin, path) == (len(expected), expected)


async def test_rows_show_the_venue_stars_state_and_highlighted_entities(
    web_admin: WebAdmin, seeded: list[str], client: aiohttp.ClientSession
) -> None:
    await login(client, web_admin, "quick")
    page = await read(client, f"{web_admin.url}/inbox?q=julien")
    assert '<mark class="entity PER">Julien</mark>' in page
    assert "Quick Massy" in page or "Quick Orly" in page
    assert re.search(r'<a href="/ticket/quick/\d+">n° \d+</a>', page)
    assert "★★★★★" in page


async def test_a_customer_s_text_is_escaped(
    web_admin: WebAdmin, redis_client: Redis, client: aiohttp.ClientSession
) -> None:
    store = Store(redis_client)
    venue = (await store.list_venues("quick"))[0]
    record = FeedbackRecord(
        id="0000000000001", venue=VenueRef("quick", venue.code, venue.name), language="fr", rating=1,
        reason='<script>alert("x")</script> & <b>gras</b>', suggestion=None, status=FeedbackStatus.COMPLETE,
        created_at=MONDAY, updated_at=MONDAY, flow="default",
    )  # fmt: skip
    who = CustomerId.telegram(42)
    await store.save_turn(who, Conversation(), [record], duplicate_window=1, conversation_timeout=60)
    await login(client, web_admin, "quick")
    page = await read(client, f"{web_admin.url}/inbox?q=script")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert listed(page)[:2] == (1, [record.id])


async def test_brand_boundaries_and_bad_choices(
    web_admin: WebAdmin, seeded: list[str], client: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession() as stranger, stranger.get(f"{web_admin.url}/inbox") as response:
        assert response.status == 401
    await login(client, web_admin, "quick")
    assert "Refusé" in await read(client, f"{web_admin.url}/inbox?brand=sncf", 403)
    for bad in (
        "rating=9",
        "venue=nowhere",
        "channel=fax",
        "status=lost",
        "before=-3",
        "since=hier",
        "since=2026-09-10&until=2026-09-01",
    ):
        assert 'id="problem"' in await read(client, f"{web_admin.url}/inbox?{bad}", 400)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as operator:
        await login(operator, web_admin, None)
        assert listed(await read(operator, f"{web_admin.url}/inbox?brand=quick"))[0] == 60
        assert listed(await read(operator, f"{web_admin.url}/inbox?brand=sncf"))[0] == 0
        await read(operator, f"{web_admin.url}/inbox?brand=nope", 404)


async def test_a_row_says_when_its_customer_asked_to_be_contacted(
    web_admin: WebAdmin, redis_client: Redis, client: aiohttp.ClientSession
) -> None:
    store = Store(redis_client)
    venue = (await store.list_venues("quick"))[0]
    for n, feedback_id in enumerate(("0000000000001", "0000000000002"), start=1):
        record = FeedbackRecord(
            id=feedback_id, venue=VenueRef("quick", venue.code, venue.name), language="fr", rating=5,
            reason="Parfait", suggestion=None, status=FeedbackStatus.COMPLETE, created_at=MONDAY + n,
            updated_at=MONDAY + n, flow="default",
        )  # fmt: skip
        await store.save_turn(
            CustomerId.telegram(n), Conversation(), [record], duplicate_window=1, conversation_timeout=60
        )
    contact = ContactRequests(redis_client, PolicyStore(redis_client))
    assert await contact.ask(CustomerId.telegram(1), "0000000000001") == venue.name  # the button's press
    await login(client, web_admin, "quick")
    page = await read(client, f"{web_admin.url}/inbox?q=parfait")
    rows = {row[:13]: row.split("</tr>")[0] for row in page.split('<tr data-feedback="')[1:]}
    assert set(rows) == {"0000000000001", "0000000000002"}
    assert "💬 recontact demandé" in rows["0000000000001"] and "recontact" not in rows["0000000000002"]

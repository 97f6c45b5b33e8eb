"""Brands and venues: codes, tokens, short codes, QR codes, and refusal of bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.errors import InvalidInput, NotFound
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from bot.storage.venues import START_PARAMETER_RE, deep_link, new_short_code, new_token, slugify, write_qr
from dialogs.answers import SHORT_CODE_ALPHABET, normalise_venue_code


def test_tokens_fit_telegram_start_parameter_and_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(START_PARAMETER_RE.match(t) and len(t) <= 64 for t in tokens)


def test_short_codes_are_six_easy_characters_that_normalise_back() -> None:
    for _ in range(200):
        code = new_short_code()
        assert len(code) == 6 and set(code) <= set(SHORT_CODE_ALPHABET)
        assert not set(code) & set("0O1IL")
        typed = f" {code[:3].lower()} {code[3:]} "
        assert normalise_venue_code(typed) == code


def test_slugify() -> None:
    assert slugify("Quick Massy — Gare") == "quick-massy-gare"
    assert slugify("Hôtel de Ville") == "hotel-de-ville"
    assert slugify("!!!") == "venue"


def test_qr_codes_are_written_as_png_and_svg(tmp_path: Path) -> None:
    link = deep_link("parole_bot", "tok_EN-123")
    png, svg = write_qr(link, tmp_path / "qr", "quick-massy")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text(encoding="utf-8")


async def test_brand_and_venue_are_stored_and_found_by_token_and_short_code(redis_client: Redis) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy", city="Massy", lat=48.72, lon=2.26)
    with pytest.raises(InvalidInput, match="already has a venue named 'Quick Massy'"):
        await store.add_venue("quick", "Quick Massy", city="Massy")
    again = await store.add_venue("quick", "Quick Massy", city="Massy", force=True)
    assert venue.code == "quick-massy" and again.code == "quick-massy-2"
    assert venue.token != again.token and venue.short_code != again.short_code
    snapshot = await store.load_chat(CustomerId.telegram(42), venue.token)
    assert snapshot.conversation is None
    assert snapshot.venue is not None and snapshot.venue.name == "Quick Massy"
    assert snapshot.venue.brand_name == "Quick"
    found = await store.venue_by_short_code(venue.short_code)
    assert found is not None and found.code == venue.code
    assert [v.code for v in await store.list_venues("quick")] == ["quick-massy", "quick-massy-2"]
    assert (await store.get_venue("quick", "quick-massy")).lat == 48.72


@pytest.mark.parametrize(
    ("code", "name"),
    [("Quick", "Quick"), ("-quick", "Quick"), ("qu ick", "Quick"), ("q" * 40, "Quick"), ("quick", "  "),
     ("quick", "x" * 101), ("quick", "😀" * 51), ("quick", "bad\x00name")],
)  # fmt: skip
async def test_bad_brand_input_is_refused_and_changes_nothing(redis_client: Redis, code: str, name: str) -> None:
    store = Store(redis_client)
    with pytest.raises(InvalidInput):
        await store.add_brand(code, name)
    assert await redis_client.dbsize() == 0


async def test_bad_venue_input_is_refused_and_changes_nothing(redis_client: Redis) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    before = await redis_client.dbsize()
    with pytest.raises(NotFound):
        await store.add_venue("nobody", "Quick Massy")
    for lat, lon in [(48.0, None), (91.0, 2.0), (48.0, 181.0)]:
        with pytest.raises(InvalidInput):
            await store.add_venue("quick", "Quick Massy", lat=lat, lon=lon)
    with pytest.raises(InvalidInput):
        await store.add_venue("quick", "")
    assert await redis_client.dbsize() == before
    with pytest.raises(InvalidInput, match="already exists"):
        await store.add_brand("quick", "Quick again")
    assert re.fullmatch(r"[a-z0-9-]+", "quick")

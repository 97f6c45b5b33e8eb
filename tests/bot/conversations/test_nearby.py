"""Finding a venue without the payload: a customer who shares their location where the venue code is expected
gets the nearest venues within the radius as buttons, nearest first (Redis GEOSEARCH); `parole venue edit`
moves a venue or takes it off the map."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli.main import main
from bot.cli.serve import RunningBot
from bot.storage import keys
from bot.storage.store import Store
from emulator import BotApiEmulator
from tests.support import Customer

HERE = (48.7250, 2.2600)  # the customer, at Massy station
GARE = (48.7253, 2.2606)  # ~55 m
ATLANTIS = (48.7283, 2.2734)  # ~1.0 km
PALAISEAU = (48.7145, 2.2457)  # ~1.6 km
ORLY = (48.7262, 2.3652)  # ~7.7 km: outside the 3 km radius


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance on Redis's Earth (radius 6372797.560856 m)."""
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6372797.560856 * math.asin(math.sqrt(h))


@pytest.fixture
async def store(bot: RunningBot) -> Store:
    await bot.store.add_brand("quick", "Quick")
    await bot.store.add_brand("flunch", "Flunch")
    await bot.store.add_venue("quick", "Quick Massy Atlantis", lat=ATLANTIS[0], lon=ATLANTIS[1])
    await bot.store.add_venue("quick", "Quick Orly", lat=ORLY[0], lon=ORLY[1])
    await bot.store.add_venue("flunch", "Flunch Palaiseau", lat=PALAISEAU[0], lon=PALAISEAU[1])
    await bot.store.add_venue("quick", "Quick Massy Gare", lat=GARE[0], lon=GARE[1])
    await bot.store.add_venue("quick", "Quick sans adresse")
    return bot.store


async def test_a_shared_location_offers_the_nearest_venues_in_order(
    store: Store, emulator: BotApiEmulator, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    asked = await customer.say("/start")
    assert "partagez votre position" in asked.text
    turn = await customer.share_location(*HERE)
    assert not turn.failed and "Voici les 3 établissements les plus proches de vous" in turn.text
    assert turn.buttons == ["Quick Massy Gare · 55 m", "Quick Massy Atlantis · 1,0 km", "Flunch Palaiseau · 1,6 km"]
    offered = emulator.bot_messages(customer.user.id)[-1]
    datas = [data for row in offered.buttons() for _, data in row]
    codes = {v.code: v.short_code for v in await store.list_venues()}
    assert datas == [f"venue:{codes[c]}" for c in ("quick-massy-gare", "quick-massy-atlantis", "flunch-palaiseau")]
    # Picking one is the same as typing its code: the greeting and the rating.
    picked = await customer.tap(datas[1], offered)
    assert "bienvenue chez Quick Massy Atlantis !" in picked.text
    assert "Quelle note" in picked.text and len(picked.buttons) == 5
    # Now a rating is expected: a location is not an answer, and the old list's buttons are spent.
    again = await customer.share_location(*HERE)
    assert "Voici" not in again.text and len(again.buttons) == 5
    stale = await customer.tap(datas[0], offered)
    assert stale.notices and not stale.said
    await customer.tap("rate:4")
    [feedback] = [f async for f in store.iter_feedback()]
    assert (feedback["brand"], feedback["venue"], feedback["rating"]) == ("quick", "quick-massy-atlantis", 4)
    assert await redis_client.zcard(keys.GEO_VENUES) == 4  # the venue without coordinates is not on the map


async def test_the_radius_and_a_location_with_nothing_near(store: Store, emulator: BotApiEmulator) -> None:
    customer = Customer.new(emulator, language="en")
    await customer.say("/start")
    far = await customer.share_location(43.2965, 5.3698)  # Marseille
    assert "No place within 3 km of you." in far.text and "type the 6-character code" in far.text
    assert far.buttons == []
    near_orly = await customer.share_location(48.7300, 2.3600)
    assert "Here is the place nearest to you: is it this one?" in near_orly.text
    assert near_orly.buttons == ["Quick Orly · 569 m"]  # 422 m north, 382 m west
    # The short code still works the other way.
    orly = next(v for v in await store.list_venues("quick") if v.code == "quick-orly")
    typed = await customer.say(orly.short_code.lower())
    assert "Quick Orly" in typed.text and len(typed.buttons) == 5


async def test_nearby_venues_in_the_store(store: Store) -> None:
    found = await store.nearby_venues(*HERE, radius_m=1200, count=5)
    assert [ref.code for ref, _, _ in found] == ["quick-massy-gare", "quick-massy-atlantis"]
    assert [metres for _, _, metres in found] == [pytest.approx(_metres(HERE, GARE), abs=2),
                                                  pytest.approx(_metres(HERE, ATLANTIS), abs=2)]  # fmt: skip
    assert found[0][0].brand_name == "Quick"
    [only] = await store.nearby_venues(*HERE, radius_m=50_000, count=1)
    assert only[0].code == "quick-massy-gare"


async def _edit_scene(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick")
        await store.add_venue("quick", "Quick Orly", lat=ORLY[0], lon=ORLY[1])


def test_parole_venue_edit(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_edit_scene(redis_url))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    async def near(lat: float, lon: float) -> list[str]:
        async with Redis.from_url(redis_url, decode_responses=True) as redis:
            return [ref.name for ref, _, _ in await Store(redis).nearby_venues(lat, lon, radius_m=500, count=5)]

    changes = ("--lat", str(HERE[0]), "--lon", str(HERE[1]), "--name", "Quick Massy", "--language", "en")
    code, out, err = run("venue", "edit", "quick-orly", "--brand", "quick", *changes)
    edited = json.loads(out)
    assert code == 0 and (edited["code"], edited["name"], edited["lat"], edited["language"]) == (
        "quick-orly", "Quick Massy", HERE[0], "en",
    )  # fmt: skip
    assert asyncio.run(near(*HERE)) == ["Quick Massy"] and asyncio.run(near(*ORLY)) == []
    for args, message in [
        (("--lat", "48.7"), "donnez --lat et --lon ensemble"),
        (("--lat", "91", "--lon", "2"), "la latitude 91.0 sort de"),
        (("--lat", "48", "--lon", "2", "--no-location"), "pas les deux"),
        (("--name", " "), "le nom du lieu ne peut pas être vide"),
        (("--language", "fr-FR"), "la langue « fr-FR » n'est pas possible"),
    ]:
        code, out, err = run("venue", "edit", "quick-orly", "--brand", "quick", *args)
        assert code == 1 and message in err and out == "", (args, err)
    code, out, err = run("venue", "edit", "nowhere", "--brand", "quick", "--name", "X")
    assert code == 1 and "le lieu « quick/nowhere » n'existe pas" in err
    assert asyncio.run(near(*HERE)) == ["Quick Massy"]  # nothing changed
    code, out, _ = run("venue", "edit", "quick-orly", "--brand", "quick", "--no-location")
    assert code == 0 and json.loads(out)["lat"] is None and asyncio.run(near(*HERE)) == []
    code, out, _ = run("venue", "list", "--brand", "quick")
    assert json.loads(out)["lon"] is None and json.loads(out)["name"] == "Quick Massy"

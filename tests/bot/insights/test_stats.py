"""The dashboard's figures (`bot.insights.stats`) on seeded feedback: distribution, kinds, top entities and aspects,
weekly trend, period, unanswered tickets, and `parole stats` with its tables, `--json` and its bad input."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli.main import main
from bot.insights.stats import FIELD_REFERENCE, venue_stats
from bot.storage.store import Store
from tests.seeding import SAMPLES, seed_feedback

MONDAY = dt.datetime(2026, 9, 7, 9, 0, tzinfo=dt.UTC).timestamp()
DAY = 24 * 3600.0


async def _brand(redis: Redis) -> Store:
    store = Store(redis)
    await store.add_brand("quick", "Quick")
    await store.add_venue("quick", "Quick Massy")
    await store.add_venue("quick", "Quick Orly")
    return store


async def test_figures_of_a_brand_and_its_venues(redis_client: Redis) -> None:
    store = await _brand(redis_client)
    massy, orly = await store.list_venues("quick")
    # 7 feedbacks at Massy, one of each sample, one a day from Monday; one at Orly the next week.
    await seed_feedback(redis_client, [massy], 7, start=MONDAY, spacing=DAY, rng=random.Random(1), in_order=True,
                        analysed_share=1.0, answered_share=0.0)  # fmt: skip
    await seed_feedback(redis_client, [orly], 1, start=MONDAY + 9 * DAY, spacing=DAY, rng=random.Random(1),
                        in_order=True, analysed_share=1.0, answered_share=1.0)  # fmt: skip
    rows = {row.venue: row for row in await venue_stats(store, "quick")}
    m, total = rows[massy.code], rows[None]
    assert m.feedbacks == 7 and m.distribution == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
    assert m.average_rating == round(sum(s.rating for s in SAMPLES) / 7, 2)
    assert m.kinds == {"complaint": 1, "critique": 2, "suggestion": 1, "praise": 3} and m.analysed == 7
    assert m.kind_shares == {"complaint": 0.143, "critique": 0.286, "suggestion": 0.143, "praise": 0.429}
    assert [(r.text, r.count) for r in m.staff_thanked] == [("Julien", 2), ("Sarah", 1)]
    assert [(r.text, r.count) for r in m.products_criticised] == [("Big Tasty", 1), ("frites", 1)]
    assert [(r.text, r.count) for r in m.top_entities][:2] == [("Big Tasty", 2), ("Julien", 2)]
    assert [(r.text, r.count) for r in m.top_aspects][:2] == [("product", 3), ("welcome", 2)]
    assert [(w.week, w.feedbacks) for w in m.weekly] == [("2026-09-07", 7)]
    assert (m.tickets, m.unanswered, m.answered, m.response_rate) == (7, 7, 0, 0.0)
    # The brand's total: both venues, and the trend goes on through the empty week in between.
    assert total.feedbacks == 8 and total.kinds["praise"] == 4 and total.unanswered == 7 and total.answered == 1
    assert [(w.week, w.feedbacks) for w in total.weekly] == [("2026-09-07", 7), ("2026-09-14", 1)]
    assert total.response_rate == 0.125
    # A period: the second week only.
    since, until = MONDAY + 7 * DAY, MONDAY + 14 * DAY
    rows = {row.venue: row for row in await venue_stats(store, "quick", since=since, until=until)}
    assert (rows[massy.code].feedbacks, rows[massy.code].tickets, rows[massy.code].weekly[0].feedbacks) == (0, 0, 0)
    assert (rows[None].feedbacks, rows[None].distribution[SAMPLES[0].rating], rows[None].tickets) == (1, 1, 1)
    assert rows[None].to_json()["field_reference"] == FIELD_REFERENCE


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def _seed_sixty(redis_url: str) -> list[str]:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = await _brand(redis)
        venues = await store.list_venues("quick")
        await seed_feedback(redis, venues, 60, start=MONDAY, spacing=DAY / 4, rng=random.Random(7),
                            channels=("telegram", "telegram", "web"))  # fmt: skip
    return [v.code for v in venues]


def test_parole_stats_tables_json_and_period(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    venues = asyncio.run(_seed_sixty(redis_url))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))
    code, out, err = _run(capsys, "stats", "--brand", "quick", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["venue"] for r in rows] == [*venues, None]
    assert rows[2]["feedbacks"] == 60 and sum(rows[2]["distribution"].values()) == 60
    assert sum(w["feedbacks"] for w in rows[2]["weekly"]) == 60 and len(rows[2]["weekly"]) == 3
    assert rows[2]["channels"] == {"telegram": 40, "whatsapp": 0, "web": 20, "kiosk": 0}
    assert sum(r["channels"]["web"] for r in rows[:2]) == 20
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--since", "2026-09-14", "--until", "2026-09-21", "--json")
    week = json.loads(out.splitlines()[-1])
    assert week["feedbacks"] == 28 and week["since"] == "2026-09-14T00:00:00Z" and len(week["weekly"]) == 1
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--venue", venues[1], "--since", "2026-09-14")
    assert code == 0 and "Canal" in out and "Borne sur place" in out and "Navigateur" in out
    assert "Terrain" in out and "44\u00a0%" in out and "Semaine du" in out and "Quick Orly" in out
    assert "Personnel le plus remercié" in out and "Julien" in out and "\n14/09/2026 " in out
    assert "\n07/09/2026 " not in out  # the week before the period is not in its trend
    assert "Félicitations" in out and "praise" not in out and "kiosk" not in out  # words, not codes
    assert "Quick · Quick Orly · depuis le 14/09/2026\n" in out
    for args, message in [
        (("stats", "--brand", "quick", "--since", "yesterday"), "--since « yesterday » n'est pas une date"),
        (("stats", "--brand", "quick", "--until", "2026-13-01"), "--until « 2026-13-01 » n'est pas une date"),
        (("stats", "--brand", "quick", "--since", "2026-09-14", "--until", "2026-09-01"), "--until doit venir après"),
    ]:
        code, out, err = _run(capsys, *args)
        assert code == 1 and message in err and out == "", (args, err)

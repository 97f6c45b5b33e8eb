"""The field's figures (`bot.insights.figures`) on a few feedbacks written through parole's own write paths, whose
figures are worked out by hand below: CSAT, resolution, response rate, first response in open hours (across a
weekend), within the deadline, NPS, per venue and per staff member, the previous period, the <30 warning, and
the same figures in `parole stats --json`, its French tables and the export."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.insights.stats import venue_stats
from bot.staff.hours import HoursStore, OpeningHours
from bot.staff.tickets import NewTicket, TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from tests.bot.insights.test_export import _run
from tests.seeding import seed_feedback

UTC = dt.UTC
HOUR = 3600.0


def at(day: int, hour: int, minute: int = 0) -> float:
    """A time of September 2026, UTC (Paris is UTC+2 then)."""
    return dt.datetime(2026, 9, day, hour, minute, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Seeded:
    """A feedback to write: where, when, its rating and NPS, and what became of its ticket."""

    venue: int  # 0 Massy (open Mon-Fri 09:00-18:00 Paris), 1 Orly (no hours: always open)
    created: float
    rating: int
    ticket: str  # "open" (needs an answer), "no_answer", "spam"
    answer: tuple[float, str] | None = None  # (when, by whom: "" for a staff room without a name)
    resolved: bool | None = None  # the customer's answer to "problem solved?" once closed
    nps: int | None = None


# The period under test is the week of Monday 14 September 2026; the previous one, the week before.
WEEK = [
    # Friday 17:00 Paris, answered Monday 09:30 Paris: 1 h on Friday + 30 min on Monday = 5,400 s of open time
    # (64.5 wall-clock hours), within the 4-hour deadline.
    Seeded(0, at(18, 15), 2, "open", (at(21, 7, 30), "sophie")),
    # Tuesday 10:00 Paris, answered 15:00 Paris from the staff room: 5 h = 18,000 s, late; then "not solved".
    Seeded(0, at(15, 8), 1, "open", (at(15, 13), ""), resolved=False),
    Seeded(0, at(16, 10), 5, "no_answer"),
    Seeded(0, at(16, 11), 3, "open"),  # never answered: late (the clock is months later)
    # Orly: always open. 600 s, solved, NPS 9.
    Seeded(1, at(17, 10), 4, "open", (at(17, 10, 10), "sophie"), resolved=True, nps=9),
    Seeded(1, at(17, 12), 5, "spam", nps=10),
    # Saturday, 7,200 s, solved, NPS 3.
    Seeded(1, at(19, 10), 1, "open", (at(19, 12), "marc"), resolved=True, nps=3),
]
BEFORE = [
    Seeded(1, at(9, 10), 5, "open", (at(9, 10, 20), "sophie")),
    Seeded(0, at(10, 8), 2, "open"),
]

# Worked out by hand from the rows above (the brand, Massy, Orly), as `stats --json` gives them.
EXPECTED: dict[str | None, dict[str, tuple[float | None, int]]] = {
    None: {
        "csat": (0.429, 7),  # 4-5 stars: 5, 4, 5 of 2, 1, 5, 3, 4, 5, 1
        "resolution_rate": (0.667, 3),  # no, yes, yes
        "response_rate": (0.8, 5),  # 4 answered of 5 (no_answer and spam left out)
        "first_response_median": (6300.0, 4),  # 600, 5400, 7200, 18000
        "first_response_p90": (18000.0, 4),  # nearest rank: the 4th of 4
        "within_deadline": (0.6, 5),  # 5400, 600, 7200 in time; 18000 and the unanswered one late
        "nps": (33.3, 3),  # 9 and 10 promoters, 3 a detractor: (2 - 1) / 3
    },
    "massy": {
        "csat": (0.25, 4),
        "resolution_rate": (0.0, 1),
        "response_rate": (0.667, 3),
        "first_response_median": (11700.0, 2),
        "first_response_p90": (18000.0, 2),
        "within_deadline": (0.333, 3),
        "nps": (None, 0),
    },
    "orly": {
        "csat": (0.667, 3),
        "resolution_rate": (1.0, 2),
        "response_rate": (1.0, 2),
        "first_response_median": (3900.0, 2),
        "first_response_p90": (7200.0, 2),
        "within_deadline": (1.0, 2),
        "nps": (33.3, 3),
    },
}
# The week before: Orly 5 stars answered in 1,200 s; Massy 2 stars never answered.
PREVIOUS = {"csat": 0.5, "response_rate": 0.5, "first_response_median": 1200.0, "within_deadline": 0.5, "nps": None}
# Per staff member, over the tickets they answered first: sophie Massy's Friday (2 stars, 5,400 s) and Orly's
# (4 stars, 600 s, solved); the staff room Massy's Tuesday; marc Orly's Saturday.
STAFF = {
    "sophie": {"csat": 0.5, "first_response_median": 3000.0, "first_response_p90": 5400.0, "within_deadline": 1.0,
               "resolution_rate": 1.0},
    "marc": {"csat": 0.0, "first_response_median": 7200.0, "within_deadline": 1.0, "resolution_rate": 1.0},
    "": {"csat": 0.0, "first_response_median": 18000.0, "within_deadline": 0.0, "resolution_rate": 0.0},
}  # fmt: skip


async def seed(redis: Redis) -> dict[str, str]:
    """The brand quick with Massy (hours) and Orly (none), a 4-hour deadline, and the rows above."""
    store, tickets = Store(redis), TicketStore(redis)
    if not await redis.exists(keys.brand("quick")):  # the web admin's fixture made it, with Massy
        await store.add_brand("quick", "Quick")
    known = {v.name: v for v in await store.list_venues("quick")}
    massy = known.get("Quick Massy") or await store.add_venue("quick", "Quick Massy")
    orly = await store.add_venue("quick", "Quick Orly")
    await store.set_deadline("quick", 4)
    weekdays = {day: (("09:00", "18:00"),) for day in ("mon", "tue", "wed", "thu", "fri")}
    await HoursStore(redis).set("quick", massy.code, OpeningHours(weekly=weekdays))
    venues = (massy, orly)
    for index, row in enumerate([*WEEK, *BEFORE]):
        venue = venues[row.venue]
        customer = CustomerId.telegram(5000 + index)
        record = FeedbackRecord(
            id=f"fb{index:03d}", venue=VenueRef("quick", venue.code, venue.name, "Quick"), language="fr",
            rating=row.rating, reason="Un avis", suggestion=None, status=FeedbackStatus.COMPLETE,
            created_at=row.created, updated_at=row.created, flow="default", nps=row.nps,
        )  # fmt: skip
        await store.save_turn(customer, Conversation(), [record], duplicate_window=1, conversation_timeout=60)
        new = NewTicket("quick", record.id, venue.code, venue.name, "fr", row.created, "", customer,
                        needs_answer=row.ticket != "no_answer")  # fmt: skip
        [ticket] = await tickets.open_many([new], now=row.created)
        assert ticket is not None
        if row.ticket == "spam":
            await tickets.close(ticket, TicketStatus.SPAM, row.created + 60)
        if row.answer is not None:
            when, by = row.answer
            await tickets.staff_replied(ticket, "Merci", customer=customer, room=None if by else -100,
                                        message_ids=(), now=when, by=by)  # fmt: skip
        if row.resolved is not None:
            answered = await tickets.get("quick", ticket.number)
            assert answered is not None and row.answer is not None
            await tickets.close(answered, TicketStatus.CLOSED, row.answer[0] + 60)
            await tickets.resolution(
                answered, row.resolved, customer, row.answer[0] + 120, due=row.answer[0] + 120 + 86400
            )
    return {"massy": massy.code, "orly": orly.code}


def _figures_by_hand(figures: dict[str, Any]) -> dict[str, tuple[float | None, int]]:
    return {name: (figure["value"], figure["base"]) for name, figure in figures.items()}


async def test_the_field_figures_worked_out_by_hand(redis_client: Redis) -> None:
    codes = await seed(redis_client)
    rows = await venue_stats(Store(redis_client), "quick", since=at(14, 0), until=at(21, 0), now=at(30, 12))
    by_venue = {row.venue: row.to_json() for row in rows}
    for name, code in (("massy", codes["massy"]), ("orly", codes["orly"]), (None, None)):
        figures = by_venue[code]["figures"]
        assert _figures_by_hand(figures) == EXPECTED[name], name
        assert all(f["low_base"] for f in figures.values())  # every base is under 30
    total = by_venue[None]
    assert total["previous_period"] == {"since": "2026-09-07T00:00:00Z", "until": "2026-09-14T00:00:00Z"}
    for name, value in PREVIOUS.items():
        assert total["figures"][name]["previous"] == value, name
    assert total["figures"]["csat"]["change"] == round(0.429 - 0.5, 3)
    assert total["figures"]["response_rate"]["change"] == 0.3
    assert total["figures"]["nps"]["change"] is None  # no NPS answer the week before
    staff = {s["by"]: s["figures"] for s in total["staff"]}
    assert list(staff) == ["marc", "sophie", ""]  # by name, the unnamed staff room last
    for by, figures in STAFF.items():
        assert {name: staff[by][name]["value"] for name in figures} == figures, by
    # Wall-clock, Friday's answer took 64.5 hours; the open-hours figure counts 1.5 of them.
    assert by_venue[codes["massy"]]["median_first_response_seconds"] == pytest.approx((64.5 * HOUR + 5 * HOUR) / 2)


async def test_an_open_period_compares_with_as_long_before(redis_client: Redis) -> None:
    await seed(redis_client)
    rows = await venue_stats(Store(redis_client), "quick", since=at(14, 0), now=at(21, 0))
    total = rows[-1].to_json()
    assert total["previous_period"] == {"since": "2026-09-07T00:00:00Z", "until": "2026-09-14T00:00:00Z"}
    assert total["figures"]["csat"]["previous"] == 0.5
    # Without a start there is nothing to compare with: the whole history is the period.
    total = (await venue_stats(Store(redis_client), "quick"))[-1].to_json()
    assert total["previous_period"] is None and total["figures"]["csat"]["previous"] is None
    assert total["figures"]["csat"]["base"] == len(WEEK) + len(BEFORE)


async def test_a_figure_on_fewer_than_30_feedbacks_is_flagged(redis_client: Redis) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    massy, orly = await store.add_venue("quick", "Quick Massy"), await store.add_venue("quick", "Quick Orly")
    await seed_feedback(redis_client, [massy], 30, start=at(1, 8), spacing=HOUR, rng=random.Random(3))
    await seed_feedback(redis_client, [orly], 29, start=at(10, 8), spacing=HOUR, rng=random.Random(3))
    rows = {row.venue: row.to_json()["figures"] for row in await venue_stats(store, "quick")}
    assert (rows[massy.code]["csat"]["base"], rows[massy.code]["csat"]["low_base"]) == (30, False)
    assert (rows[orly.code]["csat"]["base"], rows[orly.code]["csat"]["low_base"]) == (29, True)
    assert rows[None]["csat"]["low_base"] is False and rows[None]["nps"]["low_base"] is True


def test_stats_json_text_and_export_agree(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seeded() -> dict[str, str]:
        async with Redis.from_url(redis_url, decode_responses=True) as redis:
            return await seed(redis)

    codes = asyncio.run(seeded())
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))
    period = ("--since", "2026-09-14", "--until", "2026-09-21")
    code, out, err = _run(capsys, "stats", "--brand", "quick", *period, "--json")
    assert code == 0, err
    rows = {row["venue"]: row for row in map(json.loads, out.splitlines())}
    for name, venue in (("massy", codes["massy"]), ("orly", codes["orly"]), (None, None)):
        assert _figures_by_hand(rows[venue]["figures"]) == EXPECTED[name], name
    # The export carries what each figure is computed from: worked out again from its records alone.
    code, out, err = _run(capsys, "export", "--brand", "quick", *period)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == len(WEEK)
    assert _from_export(records) == {k: v for k, (v, _) in EXPECTED[None].items()}
    assert {r["first_response_by"] for r in records} == {"sophie", "marc", "", None}
    # The French tables: names, rules, the warning, the previous period, Babel's numbers and dates.
    code, out, err = _run(capsys, "stats", "--brand", "quick", *period)
    assert code == 0, err
    assert "Satisfaction (CSAT)" in out and "42,9\u00a0%" in out and "33,3 pts" in out and "1,8 h" in out
    assert "part des retours notés 4 ou 5 étoiles" in out and "⚠ moins de 30" in out
    assert "du 07/09/2026 au 14/09/2026 (exclu)" in out and "-7,1 pts" in out
    assert "salle du personnel (sans nom)" in out and "sophie" in out and "(tous les lieux)" in out
    for code_word in ("praise", "complaint", "telegram", "None", "feedback(s)"):
        assert code_word not in out, code_word


def _from_export(records: list[dict[str, Any]]) -> dict[str, float | None]:
    """The brand's figures from export records alone (their fields, not parole's code)."""
    rated = [r["rating"] for r in records]
    needing = [r for r in records if r["ticket_status"] not in (None, "spam", "no_answer")]
    delays = sorted(r["first_response_open_seconds"] for r in needing if r["first_response_open_seconds"] is not None)
    due = [r for r in needing if r["within_deadline"] is not None]
    answers = [r["resolved"] for r in records if r["resolved"] is not None]
    nps = [r["nps"] for r in records if r["nps"] is not None]
    return {
        "csat": round(sum(1 for x in rated if x >= 4) / len(rated), 3),
        "resolution_rate": round(answers.count("yes") / len(answers), 3),
        "response_rate": round(len(delays) / len(needing), 3),
        "first_response_median": (delays[1] + delays[2]) / 2,
        "first_response_p90": delays[-1],
        "within_deadline": round(sum(r["within_deadline"] for r in due) / len(due), 3),
        "nps": round(100 * (sum(n >= 9 for n in nps) - sum(n <= 6 for n in nps)) / len(nps), 1),
    }


def test_stats_json_into_head_ends_quietly(redis_url: str, tmp_path: Path) -> None:
    async def seeded() -> None:
        async with Redis.from_url(redis_url, decode_responses=True) as redis:
            store = Store(redis)
            await store.add_brand("quick", "Quick")
            venues = [await store.add_venue("quick", f"Quick {n}") for n in range(40)]
            await seed_feedback(redis, venues, 80, start=at(1, 8), spacing=HOUR, rng=random.Random(5))

    asyncio.run(seeded())
    env = {"PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        f"{sys.executable} -m bot stats --json | head -n 1", shell=True, env={**env, "PYTHONPATH": str(Path.cwd())},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["brand"] == "quick"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_the_csv_in_french_opens_in_a_french_spreadsheet(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seeded() -> dict[str, str]:
        async with Redis.from_url(redis_url, decode_responses=True) as redis:
            return await seed(redis)

    asyncio.run(seeded())
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    target = tmp_path / "retours.csv"
    code, out, err = _run(capsys, "export", "--brand", "quick", "--format", "csv", "-o", str(target))
    assert code == 0 and out == "" and "9 retours exportés" in err
    text = target.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].count(";") > 10  # the separator a French spreadsheet expects
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    friday = next(r for r in rows if r["Note"] == "2" and r["Répondu par"] == "sophie")
    # Paris time, as a French spreadsheet reads a date; the figures' columns in French words and numbers.
    assert friday["Reçu le"] == "18/09/2026 17:00" and friday["Dans le délai"] == "oui"
    assert friday["1re réponse (heures d'ouverture, min)"] == "90"
    assert friday["État du ticket"] == "répondu" and friday["Canal"] == "Telegram"
    spam = next(r for r in rows if r["État du ticket"] == "spam")
    assert spam["NPS (0-10)"] == "10" and spam["Dans le délai"] == ""
    # The comma dialect, for a spreadsheet set to English.
    code, out, err = _run(capsys, "export", "--brand", "quick", "--format", "csv", "--separator", ",")
    assert code == 0 and out.lstrip("\ufeff").splitlines()[0].count(",") > 10
    assert "1 retour exporté" not in err and "9 retours exportés" in err
    code, out, err = _run(capsys, "export", "--brand", "nobody", "--format", "csv")
    assert code == 1 and out == "" and "nobody" in err

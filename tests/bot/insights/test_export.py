"""Exports: every field of the contract, a CSV a spreadsheet opens, a progress bar, and figures computed from
the export that agree with `parole stats --json` on seeded feedback."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import random
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cli.main import main
from bot.cli.progress import Progress
from bot.customers.contact import ContactRequests
from bot.insights.export import BOM, CSV_COLUMNS, write_export
from bot.insights.stats import week_of
from bot.labels import labels_for
from bot.staff.policy import PolicyStore
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from tests.seeding import seed_feedback

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC).timestamp()
FRENCH = labels_for("fr")
CONTRACT = {"id", "brand", "venue", "language", "rating", "reason", "suggestion", "created_at", "status", "kind",
            "aspects", "entities", "replies"}  # fmt: skip


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def _seed(redis_url: str, count: int) -> list[str]:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick")
        venues = [await store.add_venue("quick", name) for name in ("Quick Massy", "Quick Orly")]
        await seed_feedback(redis, venues, count, start=START, spacing=3 * 3600, rng=random.Random(11))
        # A customer who typed a formula, quotes and a line break: text in every spreadsheet cell.
        ref = VenueRef("quick", venues[0].code, venues[0].name, "Quick")
        record = FeedbackRecord(
            id="formula", venue=ref, language="fr", rating=1, reason='=HYPERLINK("x";"clic")\n"trop" cher 😡',
            suggestion="-1", status=FeedbackStatus.ABANDONED, created_at=START - 10, updated_at=START - 10,
            flow="default",
        )  # fmt: skip
        await store.save_turn(
            CustomerId.telegram(1), Conversation(), [record], duplicate_window=1, conversation_timeout=60
        )
    return [v.code for v in venues]


def _iso(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The stats' figures of a group of export records, computed from the export alone."""
    ratings = [int(r["rating"]) for r in records]
    analysed = [r for r in records if r["kind"]]
    thanked: Counter[str] = Counter()
    criticised: Counter[str] = Counter()
    for r in analysed:
        for e in {(e["text"], e["label"]) for e in r["entities"]}:
            if e[1] == "PER" and r["kind"] == "praise":
                thanked[e[0]] += 1
            if e[1] == "PRODUCT" and r["kind"] in ("complaint", "critique"):
                criticised[e[0]] += 1
    tickets = [r for r in records if r["ticket"] and r["ticket_status"] != "spam"]
    delays = [_iso(r["first_response_at"]) - _iso(r["ticket_opened_at"]) for r in tickets if r["first_response_at"]]
    weeks = Counter(week_of(_iso(r["created_at"])) for r in records)
    return {
        "feedbacks": len(records),
        "average_rating": round(statistics.fmean(ratings), 2) if ratings else None,
        "distribution": {str(n): ratings.count(n) for n in range(1, 6)},
        "kinds": {k: sum(r["kind"] == k for r in analysed) for k in ("complaint", "critique", "suggestion", "praise")},
        "staff_thanked": dict(thanked),
        "products_criticised": dict(criticised),
        "tickets": len(tickets),
        "answered": len(delays),
        "unanswered": sum(1 for r in tickets if not r["first_response_at"] and r["ticket_status"] != "closed"),
        "response_rate": round(len(delays) / len(tickets), 3) if tickets else None,
        "median_first_response_seconds": statistics.median(delays) if delays else None,
        "weekly": {w: n for w, n in weeks.items()},
    }


def _from_stats(row: dict[str, Any]) -> dict[str, Any]:
    figures = {k: row[k] for k in ("feedbacks", "average_rating", "distribution", "kinds", "tickets", "answered",
                                   "unanswered", "response_rate", "median_first_response_seconds")}  # fmt: skip
    figures["staff_thanked"] = {r["text"]: r["count"] for r in row["staff_thanked"]}
    figures["products_criticised"] = {r["text"]: r["count"] for r in row["products_criticised"]}
    figures["weekly"] = {w["week"]: w["feedbacks"] for w in row["weekly"] if w["feedbacks"]}
    return figures


def test_figures_from_the_export_agree_with_parole_stats(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    venues = asyncio.run(_seed(redis_url, 400))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))
    code, out, err = _run(capsys, "export", "--brand", "quick")
    assert code == 0 and "401 retours exportés" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert all(set(r) >= CONTRACT and "chat_id" not in r for r in records)
    assert all(set(e) >= {"text", "label", "start", "end", "field"} for r in records for e in r["entities"])
    assert all(set(m) == {"author", "text", "at"} for r in records for m in r["replies"])
    assert sum(bool(r["replies"]) for r in records) > 100 and sum(bool(r["kind"]) for r in records) > 300
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--json")
    rows = {row["venue"]: row for row in map(json.loads, out.splitlines())}
    for venue in (*venues, None):
        mine = [r for r in records if venue is None or r["venue"] == venue]
        expected, computed = _from_stats(rows[venue]), _figures(mine)
        median = computed.pop("median_first_response_seconds")
        assert expected.pop("median_first_response_seconds") == pytest.approx(median, abs=1.0)
        assert computed == expected, venue
    # The CSV holds the same feedback, one row each, and a period selects the same as in stats.
    code, _, err = _run(capsys, "export", "--format", "csv", "-o", str(tmp_path / "all.csv"), "--since", "2026-09-08",
                        "--until", "2026-09-15")  # fmt: skip
    text = (tmp_path / "all.csv").read_text(encoding="utf-8")
    assert code == 0 and text.startswith(BOM)
    table = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    code, out, _ = _run(capsys, "stats", "--brand", "quick", "--since", "2026-09-08", "--until", "2026-09-15", "--json")
    week = json.loads(out.splitlines()[-1])
    assert len(table) == week["feedbacks"] == 56 and list(table[0]) == [heading for _, heading in CSV_COLUMNS]
    assert Counter(row["Note"] for row in table) == {k: v for k, v in week["distribution"].items() if v}
    kinds = {FRENCH.name("kinds", k): v for k, v in week["kinds"].items() if v}
    assert Counter(row["Type"] for row in table if row["Type"]) == kinds


def test_the_csv_opens_in_a_spreadsheet(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed(redis_url, 20))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    code, out, _ = _run(capsys, "export", "--format", "csv")
    assert code == 0 and out.startswith(BOM) and "\r\n" in out
    rows = list(csv.DictReader(io.StringIO(out[1:], newline=""), delimiter=";"))
    assert len(rows) == 21
    formula = rows[0]
    assert formula["Identifiant"] == "formula" and formula["Raison"] == '\'=HYPERLINK("x";"clic")\n"trop" cher 😡'
    assert formula["Suggestion"] == "'-1" and formula["Ticket"] == "" and formula["Type"] == ""
    assert formula["État du retour"] == "interrompu" and formula["Langue"] == "français"
    answered = next(r for r in rows if r["Échanges"])
    assert re.match(r"\[\d\d/09/2026 \d\d:\d\d\] Équipe : Merci ; réponse n°1", answered["Échanges"])
    assert (
        re.fullmatch(r"\d\d/09/2026 \d\d:\d\d", answered["1re réponse le"]) and answered["État du ticket"] == "répondu"
    )
    named = next(r for r in rows if "personne" in r["Entités"])
    assert "Julien (personne, raison)" in named["Entités"] or "Sarah (personne, raison)" in named["Entités"]
    suggestion = next(r for r in rows if r["Suggestion"].startswith("Ouvrir"))
    assert suggestion["Suggestion"] == "Ouvrir à 7h, avec des croissants; et le Wi-Fi\nsvp"
    # Words, not codes, in every cell a person reads.
    cells = {cell for row in rows for cell in row.values()}
    assert not cells & {"praise", "complaint", "answered", "complete", "telegram", "True", "False"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_progress_bar_follows_the_export(redis_client: Redis) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    await seed_feedback(redis_client, [venue], 30, start=START, spacing=60, rng=random.Random(2), batch=7)
    screen = _Terminal()
    progress = Progress(await store.count_feedback(["quick"]), "feedback", out=screen)
    count = await write_export(store, io.StringIO(), fmt="jsonl", brand="quick", on_feedback=progress.advance)
    progress.close()
    shown = screen.getvalue()
    assert count == progress.done == 30 and shown.startswith("\r[#") and shown.endswith("/s)\n")
    assert "\r[" + "#" * 30 + "] 30/30 feedback" in shown


def test_bad_export_requests_change_nothing(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed(redis_url, 3))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    target = tmp_path / "out.csv"
    for args, message in [
        (("export", "--since", "lundi"), "--since « lundi » n'est pas une date"),
        (("export", "--brand", "quick", "--venue", "nowhere"), "le lieu « quick/nowhere » n'existe pas"),
        (("export", "--brand", "nobody"), "la marque « nobody » n'existe pas"),
        (("export", "--since", "2026-09-02", "--until", "2026-09-01"), "--until doit venir après --since"),
    ]:
        code, out, err = _run(capsys, *args, "-o", str(target))
        assert code == 1 and message in err and out == "" and not target.exists(), (args, err)


async def _two_customers_one_asking(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick")
        venue = await store.add_venue("quick", "Quick Massy")
        ref = VenueRef("quick", venue.code, venue.name, "Quick")
        for n, feedback_id in enumerate(("asked", "silent"), start=1):
            record = FeedbackRecord(
                id=feedback_id, venue=ref, language="fr", rating=5, reason="Parfait", suggestion=None,
                status=FeedbackStatus.COMPLETE, created_at=START + n, updated_at=START + n, flow="default",
            )  # fmt: skip
            await store.save_turn(
                CustomerId.telegram(n), Conversation(), [record], duplicate_window=1, conversation_timeout=60
            )
        contact = ContactRequests(redis, PolicyStore(redis))
        assert await contact.ask(CustomerId.telegram(1), "asked") == "Quick Massy"  # the button's press


def test_the_export_says_whether_the_customer_asked_to_be_contacted(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_two_customers_one_asking(redis_url))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    code, out, _ = _run(capsys, "export", "--brand", "quick")
    assert code == 0
    assert {r["id"]: r["contact_asked"] for r in map(json.loads, out.splitlines())} == {"asked": True, "silent": False}
    code, out, _ = _run(capsys, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out[1:], newline=""), delimiter=";"))
    assert code == 0 and {r["Identifiant"]: r["Recontact demandé"] for r in rows} == {"asked": "oui", "silent": "non"}

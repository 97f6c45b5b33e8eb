"""Counts agree with their words ("1 ticket ouvert", "2 tickets ouverts"), never "ticket(s)"."""

from __future__ import annotations

import pytest

from dialogs.catalog import TemplateCatalog
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart


def _tickets(count: int, hours: int) -> dict[str, object]:
    tickets = [
        {"number": 1040 + n, "venue_name": "Quick Massy", "status": "open", "hours": hours, "undeliverable": False}
        for n in range(count)
    ]
    return {"count": count, "more": 0, "tickets": tickets}


@pytest.mark.parametrize(
    ("language", "count", "hours", "heading", "age"),
    [
        ("fr", 1, 0, "1 ticket ouvert", "il y a moins d'une heure"),
        ("fr", 2, 3, "2 tickets ouverts", "il y a 3 h"),
        ("en", 1, 0, "1 open ticket", "less than an hour ago"),
        ("en", 2, 3, "2 open tickets", "3 h ago"),
    ],
)
def test_open_tickets_agree_with_their_count(
    renderer: MessageRenderer, language: str, count: int, hours: int, heading: str, age: str
) -> None:
    text = renderer.render(MessagePart("staff_tickets", _tickets(count, hours)), language)
    assert text.startswith(f"<b>{heading}</b>") and age in text
    assert "il y a 0 h" not in text and "0 h ago" not in text


@pytest.mark.parametrize(
    ("language", "figures", "expected"),
    [
        ("fr", {"sent": 1, "blocked": 1, "failed": 1, "skipped": 1},
         "1 envoyée sur 40, un client a bloqué le bot (désinscrit), 1 désinscrit entre-temps, 1 échec."),
        ("fr", {"sent": 12, "blocked": 2, "failed": 3, "skipped": 2},
         "12 envoyées sur 40, 2 clients ont bloqué le bot (désinscrits), 2 désinscrits entre-temps, 3 échecs."),
        ("en", {"sent": 1, "blocked": 1, "failed": 0, "skipped": 0}, "1 sent of 40, 1 customer blocked the bot"),
    ],
)  # fmt: skip
def test_news_progress_agrees_with_its_counts(
    renderer: MessageRenderer, language: str, figures: dict[str, int], expected: str
) -> None:
    variables = {"venue_name": "Quick Massy", "total": 40, "done": False, "unsure": 0, **figures}
    assert expected in renderer.render(MessagePart("staff_news_progress", variables), language)


@pytest.mark.parametrize(
    ("language", "replies", "words"),
    [("fr", 1, "1 message échangé"), ("fr", 3, "3 messages échangés"), ("en", 1, "1 message exchanged")],
)
def test_my_data_agrees_with_its_counts(renderer: MessageRenderer, language: str, replies: int, words: str) -> None:
    feedback = {
        "venue_name": "Quick Massy",
        "date": "14/03/2025",
        "rating": 2,
        "reason": "",
        "suggestion": "",
        "ticket": 1042,
        "replies": replies,
    }
    text = renderer.render(MessagePart("my_data", {"count": 1, "more": 0, "feedbacks": [feedback]}), language)
    assert words in text
    assert "(s)" not in text


def test_no_shipped_template_writes_a_plural_as_word_s(catalog: TemplateCatalog) -> None:
    faults = [
        f"{language}/{name}"
        for name in catalog.names
        for language in ("fr", "en")
        if catalog.has(name, language) and "(s)" in catalog.source(name, language)
    ]
    assert faults == []

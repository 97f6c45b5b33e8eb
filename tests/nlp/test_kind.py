"""The kind of feedback, aspects and language, as transparent rules (no model)."""

from __future__ import annotations

import pytest

from nlp.aspects import ASPECTS, find_aspects
from nlp.kind import classify_kind, read_cues
from nlp.language import detect_language
from nlp.lexicon import words
from nlp.normalize import fold
from nlp.types import Kind


def kind(reason: str | None, suggestion: str | None = None, rating: int | None = None, language: str = "fr") -> Kind:
    cues = [
        None if text is None else read_cues(words(fold(text)), language, field=field)
        for text, field in ((reason, "reason"), (suggestion, "suggestion"))
    ]
    return classify_kind(cues[0], cues[1], rating)


@pytest.mark.parametrize(
    ("text", "rating", "expected"),
    [
        ("Je veux être remboursé, commande fausse", 2, Kind.COMPLAINT),
        ("Inadmissible, 45 minutes d'attente", 2, Kind.COMPLAINT),
        ("Personnel odieux, je ne reviendrai pas", 1, Kind.COMPLAINT),
        ("Attente un peu longue ce midi", 3, Kind.CRITIQUE),
        ("Accueil peu aimable", 2, Kind.CRITIQUE),
        ("Il faudrait ouvrir une deuxième caisse", 3, Kind.SUGGESTION),
        ("Ouvrir plus tôt le samedi", 4, Kind.SUGGESTION),
        ("Merci à toute l'équipe, parfait !", 5, Kind.PRAISE),
        ("Très bon accueil mais un peu d'attente", 4, Kind.PRAISE),
        ("Pas cher et rapide", 4, Kind.PRAISE),
        ("Sale, lent, froid et cher", 4, Kind.CRITIQUE),
    ],
)
def test_the_kind_of_a_reason(text: str, rating: int, expected: Kind) -> None:
    assert kind(text, rating=rating) is expected


@pytest.mark.parametrize(
    ("text", "rating", "expected"),
    [
        ("Des bancs sur le quai", 3, Kind.SUGGESTION),
        ("Ce serait bien d'avoir des prises USB", 5, Kind.SUGGESTION),
        ("Rien à changer, continuez comme ça !", 5, Kind.PRAISE),
        ("non merci", 4, Kind.PRAISE),
        ("Aucune, de toute façon rien ne change", 2, Kind.CRITIQUE),
        ("Remboursez-moi", 1, Kind.COMPLAINT),
    ],
)
def test_an_answer_to_the_suggestion_question_is_a_strong_signal(text: str, rating: int, expected: Kind) -> None:
    assert kind(None, text, rating=rating) is expected


def test_the_reason_leads_when_both_fields_speak() -> None:
    assert kind("Super accueil", "Plus de sauces", rating=5) is Kind.PRAISE
    assert kind("Correct", "Plus de sauces", rating=3) is Kind.SUGGESTION  # the reason says nothing
    assert kind(None, None, rating=1) is Kind.CRITIQUE
    assert kind(None, None, rating=5) is Kind.PRAISE


def test_without_a_rating_the_words_decide() -> None:
    assert kind("Merci beaucoup, très bien", rating=None) is Kind.PRAISE
    assert kind("Trop d'attente et sale", rating=None) is Kind.CRITIQUE


@pytest.mark.parametrize(
    ("text", "rating", "expected"),
    [
        ("I want a refund, this is unacceptable", 1, Kind.COMPLAINT),
        ("Great staff, thanks a lot!", 5, Kind.PRAISE),
        ("The queue was slow and the room was dirty", 2, Kind.CRITIQUE),
        ("You should open earlier on Sundays", 4, Kind.SUGGESTION),
    ],
)
def test_english_rules(text: str, rating: int, expected: Kind) -> None:
    assert kind(text, rating=rating, language="en") is expected


def test_negation_turns_a_cue_around_within_its_clause() -> None:
    cues = read_cues(words(fold("Personnel pas très aimable")), "fr")
    assert (cues.positive, cues.negative) == (0, 1)
    cues = read_cues(words(fold("Horaires pas adaptés, fermé le lundi")), "fr")
    assert cues.negative >= 1 and cues.positive == 0


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Accueil très froid, 20 minutes d'attente pour un menu à 12 €",
            "fr",
            {"welcome_staff", "waiting_time", "price", "product_quality"},
        ),
        ("Toilettes sales, pas accessible en fauteuil", "fr", {"cleanliness", "accessibility"}),
        ("RER encore en retard, annonces inaudibles", "fr", {"punctuality", "information"}),
        ("Fermé le dimanche, bruit de la musique", "fr", {"opening_hours", "noise"}),
        ("The waiter was rude and we waited 30 minutes", "en", {"welcome_staff", "waiting_time"}),
        ("Dirty tables, too expensive", "en", {"cleanliness", "price"}),
    ],
)
def test_aspects(text: str, language: str, expected: set[str]) -> None:
    found = find_aspects(words(fold(text)), language)
    assert expected <= set(found)
    assert list(found) == [aspect for aspect in ASPECTS if aspect in found]


def test_no_aspect_in_an_empty_or_emoji_text() -> None:
    assert find_aspects([], "fr") == ()
    assert find_aspects(words(fold("😡👍🎉")), "fr") == ()


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("Le personnel était très aimable", None, "fr"),
        ("The staff was very friendly", None, "en"),
        ("The staff was very friendly", "fr", "en"),
        ("Très bien", "en", "fr"),
        ("👍", "en-GB", "en"),
        ("👍", None, "fr"),
        ("Sehr gut", "de", "de"),
        ("", "", "fr"),
        ("ok", "not a language tag!", "fr"),
    ],
)
def test_language(text: str, hint: str | None, expected: str) -> None:
    assert detect_language(text, hint) == expected

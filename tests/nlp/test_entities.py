"""Entities: the bare model's known misses on French feedback, and what the vocabulary adds."""

from __future__ import annotations

import pytest

from nlp.analyzer import Analyzer
from nlp.types import FeedbackText, Label
from tests.nlp.support import model_spans, spans, vocabulary

QUICK = vocabulary(
    "quick",
    ("ORG", "Quick", "quick"),
    ("PER", "Julien", "julien"),
    ("PRODUCT", "Cheeseburger", "cheeseburger"),
    ("PRODUCT", "Long Bacon", "long-bacon"),
    ("ORG", "McDonald's", "mcdonalds"),
)


def test_a_job_title_glued_to_a_name_leaves_the_name(analyzer: Analyzer) -> None:
    # The bare model: "serveur Julien" as one MISC.
    assert model_spans(analyzer.nlp("Le serveur Julien était adorable").ents) == [("serveur Julien", "MISC")]
    for text in ("Le serveur Julien était adorable", "le serveur julien était adorable"):
        assert spans(analyzer.analyze_text(text).entities) == [(text[11:17], "PER")]


@pytest.mark.parametrize("text", ["Julien était adorable", "merci à julien", "Le serveur Julien", "JULIEN au top"])
def test_every_way_of_writing_a_staff_name_gives_one_id(analyzer: Analyzer, text: str) -> None:
    [entity] = analyzer.analyze_text(text, QUICK).entities
    assert (entity.label, entity.id) == (Label.PER, "julien")
    assert text[entity.start : entity.end].lower() == "julien"


def test_the_town_after_a_brand_is_not_lost(analyzer: Analyzer) -> None:
    text = "Bravo à toute l'équipe du Quick de Massy, service rapide"
    assert ("Quick de Massy", "LOC") in model_spans(analyzer.nlp(text).ents)  # the bare model's miss
    analysis = analyzer.analyze_text(text, QUICK)  # Massy is not in the vocabulary
    assert spans(analysis.entities) == [("Quick", "ORG"), ("Massy", "LOC")]
    assert [entity.id for entity in analysis.entities] == ["quick", None]
    assert spans(analyzer.analyze_text("Très bien servi au Quick d'Évry", QUICK).entities) == [
        ("Quick", "ORG"),
        ("Évry", "LOC"),
    ]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Bravo à toute l'équipe, service rapide", "Bravo"),
        ("Accueil très froid, attente de 20 minutes", "Accueil"),
        ("Super séjour, chambre calme", "Super"),
        ("Merci pour tout", "Merci"),
        ("Nettoyer plus souvent les tables en salle", "Nettoyer"),
        ("Bloqué 2h dans le train sans clim", "Bloqué"),
        ("Meilleur que McDonald's", "Meilleur"),
    ],
)
def test_a_capitalised_first_word_is_not_an_entity(analyzer: Analyzer, text: str, word: str) -> None:
    assert word not in [entity.text for entity in analyzer.analyze_text(text).entities]


def test_a_product_is_found_in_the_plural_and_whatever_its_case(analyzer: Analyzer) -> None:
    assert analyzer.nlp("Les cheeseburgers étaient froids").ents == ()  # the bare model's miss
    for text, found in [
        ("Les cheeseburgers étaient froids", "cheeseburgers"),
        ("Un CHEESEBURGER tiède", "CHEESEBURGER"),
        ("deux long bacons svp", "long bacons"),
    ]:
        [entity] = analyzer.analyze_text(text, QUICK).entities
        assert (entity.text, entity.label, entity.id) == (
            found,
            Label.PRODUCT,
            "cheeseburger" if "ch" in found.lower() else "long-bacon",
        )


def test_typographic_apostrophes_match_the_vocabulary(analyzer: Analyzer) -> None:
    [entity] = analyzer.analyze_text("Meilleur que McDonald\u2019s", QUICK).entities  # as phones type it
    assert (entity.text, entity.id) == ("McDonald\u2019s", "mcdonalds")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Merci à Sofiane pour sa gentillesse", "Sofiane"),  # the bare model: LOC
        ("Kevin nous a servi rapidement", "Kevin"),  # LOC
        ("Nathalie de l'agence m'a bien conseillé", "Nathalie"),  # MISC
        ("Léa à la réception très pro et souriante", "Léa"),  # "Léa à la réception très pro" MISC
    ],
)
def test_a_known_first_name_is_a_person(analyzer: Analyzer, text: str, name: str) -> None:
    assert (name, "PER") in spans(analyzer.analyze_text(text).entities)


def test_a_civility_marks_a_surname(analyzer: Analyzer) -> None:
    assert spans(analyzer.analyze_text("Merci à Mme Garnier et à m. Dupont").entities) == [
        ("Garnier", "PER"),
        ("Dupont", "PER"),
    ]


def test_large_towns_are_places(analyzer: Analyzer) -> None:
    assert spans(analyzer.analyze_text("Trajet Meaux - Paris sans souci").entities) == [
        ("Meaux", "LOC"),
        ("Paris", "LOC"),
    ]
    assert ("Nice", "LOC") not in spans(analyzer.analyze_text("Nice staff, thanks", language_hint="en").entities)


def test_entities_carry_offsets_and_field_of_their_own_text(analyzer: Analyzer) -> None:
    item = FeedbackText(reason="Julien au top", suggestion="Gardez le Long Bacon à la carte", rating=5)
    [analysis] = analyzer.analyze([item], QUICK)
    by_field = {entity.field: entity for entity in analysis.entities}
    assert set(by_field) == {"reason", "suggestion"}
    for field, text in (("reason", item.reason), ("suggestion", item.suggestion)):
        entity = by_field[field]
        assert text is not None and text[entity.start : entity.end] == entity.text
    assert by_field["suggestion"].id == "long-bacon"


def test_the_analysis_round_trips_through_json(analyzer: Analyzer) -> None:
    analysis = analyzer.analyze_text("Le serveur Julien du Quick de Massy", QUICK, rating=5)
    assert type(analysis).from_json(analysis.to_json()) == analysis

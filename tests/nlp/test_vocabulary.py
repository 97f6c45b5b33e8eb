"""The brand vocabulary: variants of a term, canonical ids, one ruler per brand and version, isolation."""

from __future__ import annotations

import pytest

from nlp import types
from nlp.analyzer import Analyzer
from nlp.normalize import vocabulary_id
from nlp.types import FeedbackText, Label, VocabularyEntry
from nlp.vocabulary import VocabularyRulers, term_variants
from tests.nlp.support import vocabulary

# A staff name no first-name list and no model knows, so only brand A's vocabulary can tag it.
BRAND_A = vocabulary("brand-a", ("PER", "Zorglub", "zorglub"), ("PRODUCT", "Mégamenu", "megamenu"))
BRAND_B = vocabulary("brand-b", ("PER", "Julien", "julien-b"), ("ORG", "Zorglub Group", "zorglub-group"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le Serveur  Julien", "le-serveur-julien"),
        ("Julien", "julien"),
        ("McDonald's", "mcdonalds"),
        ("McDonald\u2019s", "mcdonalds"),
        ("Élodie", "elodie"),
        ("Saint-Cyr-l'École", "saint-cyr-lecole"),
        ("Œufs & Cœur", "oeufs-coeur"),
        ("  RER B ", "rer-b"),
    ],
)
def test_vocabulary_id_is_a_lower_case_ascii_slug(text: str, expected: str) -> None:
    assert vocabulary_id(text) == expected


def test_a_term_without_letters_has_the_empty_id() -> None:
    assert vocabulary_id("😡 !") == ""
    assert vocabulary_id("北京") == ""


def test_the_value_types_give_the_same_ids() -> None:
    assert types.vocabulary_id is vocabulary_id


def test_term_variants_cover_case_accents_apostrophes_and_plurals() -> None:
    product = term_variants(VocabularyEntry(Label.PRODUCT, "Sécur'Pass", "securpass"))
    assert {"Sécur'Pass", "Sécur\u2019Pass", "secur'pass", "secur\u2019pass"} <= set(product)
    assert "Sécur'Passs" not in product  # already ends in s
    assert "Long Bacons" in term_variants(VocabularyEntry(Label.PRODUCT, "Long Bacon", "long-bacon"))
    assert "gateaux" in term_variants(VocabularyEntry(Label.PRODUCT, "Gâteau", "gateau"))
    assert "Juliens" not in term_variants(VocabularyEntry(Label.PER, "Julien", "julien"))


def test_a_brand_never_sees_another_brand_vocabulary(analyzer: Analyzer) -> None:
    text = "Zorglub m'a servi un Mégamenu"
    a = analyzer.analyze_text(text, BRAND_A)
    assert [(e.text, e.id) for e in a.entities] == [("Zorglub", "zorglub"), ("Mégamenu", "megamenu")]
    # The same text in brand B's batch, right after brand A's: nothing of A's vocabulary.
    [b] = analyzer.analyze([FeedbackText(text, None, 4)], BRAND_B)
    assert all(entity.id in {None, "julien-b", "zorglub-group"} for entity in b.entities)
    assert "megamenu" not in {entity.id for entity in b.entities}
    assert "zorglub" not in {entity.id for entity in b.entities}
    none = analyzer.analyze_text(text)
    assert all(entity.id is None for entity in none.entities)
    # Brand B's own terms, in the same process.
    c = analyzer.analyze_text("Julien de Zorglub Group", BRAND_B)
    assert [(e.text, e.id) for e in c.entities] == [("Julien", "julien-b"), ("Zorglub Group", "zorglub-group")]


def test_one_ruler_per_brand_and_version(analyzer: Analyzer) -> None:
    rulers = VocabularyRulers(maxsize=2)
    first = rulers.get(BRAND_A, analyzer.nlp, "fr")
    assert rulers.get(BRAND_A, analyzer.nlp, "fr") is first
    changed = vocabulary("brand-a", ("PER", "Zorglub", "zorglub"), ("PER", "Bidule", "bidule"), version="2")
    assert rulers.get(changed, analyzer.nlp, "fr") is not first
    rulers.get(BRAND_B, analyzer.nlp, "fr")
    assert len(rulers) == 2  # the least recently used one went


def test_a_vocabulary_change_is_picked_up_at_the_next_call(analyzer: Analyzer) -> None:
    before = vocabulary("brand-c", ("PER", "Zorglub", "zorglub"), version="1")
    after = vocabulary("brand-c", ("PER", "Zorglub", "zorglub"), ("PRODUCT", "Mégamenu", "megamenu"), version="2")
    assert "megamenu" not in [e.id for e in analyzer.analyze_text("un Mégamenu", before).entities]
    assert [e.id for e in analyzer.analyze_text("un Mégamenu", after).entities] == ["megamenu"]


def test_the_longest_term_wins(analyzer: Analyzer) -> None:
    brand = vocabulary(
        "carrefour",
        ("ORG", "Carrefour", "carrefour"),
        ("ORG", "Carrefour Market", "carrefour-market"),
        ("PRODUCT", "carte Carrefour", "carte-carrefour"),
    )
    analysis = analyzer.analyze_text("Au Carrefour Market, ma carte Carrefour a refusé", brand)
    assert [(e.text, e.id) for e in analysis.entities] == [
        ("Carrefour Market", "carrefour-market"),
        ("carte Carrefour", "carte-carrefour"),
    ]

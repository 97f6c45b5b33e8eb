"""Entities on feedback nobody entered vocabulary for (issue 19): the open sets, and the cues behind them.

`feedback_fr_open.jsonl` was written before the open-set rules and never used to tune them;
`feedback_fr_open_dev.jsonl` is the half they were tuned on. Both are scored with vocabularies that hold only
each brand's own name and a few products (`vocabularies_open.json`). The floors of the sets that existed
before are the figures measured before this work (`bench/nlp_quality.py`), so that nothing got worse.
"""

from __future__ import annotations

import json

import pytest

from nlp.analyzer import Analyzer
from nlp.evaluation import LabelledFeedback, kind_accuracy, score_entities, score_entities_by_label
from nlp.names import first_names, organisations, word_names
from nlp.normalize import fold, vocabulary_id
from nlp.types import Label, Vocabulary, VocabularyEntry
from tests.nlp.conftest import DATA
from tests.nlp.support import analyse_labelled, spans, vocabulary


def test_the_open_sets_are_written_as_new_customers_write(
    open_test: list[LabelledFeedback], open_dev: list[LabelledFeedback]
) -> None:
    for items in (open_test, open_dev):
        assert len(items) >= 75
        assert sum(item.text == item.text.lower() for item in items) >= 5  # no capitals at all
        assert sum(item.text.isupper() for item in items) >= 4  # all capitals
        assert sum(any(ord(ch) > 0x2000 for ch in item.text) for item in items) >= 5  # emoji
        assert sum(any(w in item.text.lower().split() for w in ("the", "thanks", "was")) for item in items) >= 4
    assert not {item.text for item in open_test} & {item.text for item in open_dev}
    for name in ("feedback_fr_open.jsonl", "feedback_fr_open_dev.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for entity in record["entities"]:
                assert record["text"][entity["start"] : entity["end"]] == entity["text"], record["id"]


def test_the_open_vocabularies_hold_only_the_brand_and_a_few_products(
    open_vocabularies: dict[str, Vocabulary], open_test: list[LabelledFeedback]
) -> None:
    assert {item.brand for item in open_test} <= set(open_vocabularies)
    for vocab in open_vocabularies.values():
        assert {entry.label for entry in vocab.entries} <= {Label.ORG, Label.PRODUCT}
        assert len(vocab.entries) <= 3
    # Every person of the test set is unknown to every vocabulary of the project.
    known = {fold(e.text) for name in ("vocabularies.json", "vocabularies_open.json") for e in _entries(name)}
    people = [e for item in open_test for e in item.entities if e.label is Label.PER]
    assert len(people) >= 30
    assert not {fold(e.text) for e in people} & known


def _entries(name: str) -> list[VocabularyEntry]:
    from nlp.evaluation import load_vocabularies

    return [entry for vocab in load_vocabularies(DATA / name).values() for entry in vocab.entries]


def test_the_held_out_open_set_reaches_the_target(
    analyzer: Analyzer, open_test: list[LabelledFeedback], open_vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, open_test, open_vocabularies)
    gold = [item.entities for item in open_test]
    score = score_entities(gold, [a.entities for a in analyses])
    assert score.f1 >= 0.90  # the target; measured 0.987 (0.640 before the open-set rules)
    assert score.precision >= 0.90 and score.recall >= 0.90
    by_label = score_entities_by_label(gold, [a.entities for a in analyses])
    for label in (Label.PER, Label.ORG, Label.LOC):
        assert by_label[label].precision >= 0.85 and by_label[label].recall >= 0.85, label
    assert kind_accuracy([item.kind for item in open_test], [a.kind for a in analyses]) >= 0.95


def test_the_open_development_set_stays_above_its_floor(
    analyzer: Analyzer, open_dev: list[LabelledFeedback], open_vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, open_dev, open_vocabularies)
    score = score_entities([item.entities for item in open_dev], [a.entities for a in analyses])
    assert score.f1 >= 0.95  # measured 0.980 (0.598 before)


@pytest.mark.parametrize(
    ("name", "floor"),
    [("feedback_fr.jsonl", 1.0), ("feedback_fr_holdout.jsonl", 0.958)],  # measured before issue 19
)
def test_the_sets_that_existed_before_are_no_worse(
    analyzer: Analyzer, vocabularies: dict[str, Vocabulary], name: str, floor: float
) -> None:
    from nlp.evaluation import load_labelled

    items = load_labelled(DATA / name)
    analyses = analyse_labelled(analyzer, items, vocabularies)
    score = score_entities([item.entities for item in items], [a.entities for a in analyses])
    assert score.f1 >= floor - 1e-9
    assert score.precision >= floor - 1e-9 and score.recall >= floor - 1e-9


def test_the_packaged_lists_are_large_and_canonical() -> None:
    assert len(first_names()) >= 1200
    assert {"maelys", "inaya", "anouk", "lucille"} <= first_names()
    assert word_names() <= first_names()
    assert "pierre" in word_names() and "bastien" not in word_names()
    orgs = organisations()
    assert len({org.id for org in orgs}) >= 250
    for org in orgs:
        assert vocabulary_id(org.id) == org.id, org
    assert {"burger-king", "lidl", "sncf", "bnp-paribas", "la-poste", "caf"} <= {org.id for org in orgs}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Merci à Maëlys pour l'accueil", "Maëlys"),  # the bare model: LOC
        ("merci a bastien", "bastien"),
        ("Servie par Zélinda, très pro", "Zélinda"),  # no list knows her: the cue does
        ("Grâce à Oumou tout s'est bien passé", "Oumou"),
        ("la vendeuse anouk est adorable", "anouk"),
        ("MERCI À KARINE POUR SON ACCUEIL", "KARINE"),
        ("Thanks to Emily at the front desk", "Emily"),
        ("Gwenaëlle était aux petits soins", "Gwenaëlle"),
    ],
)
def test_a_person_is_found_where_the_context_says_so(analyzer: Analyzer, text: str, name: str) -> None:
    entities = spans(analyzer.analyze_text(text).entities)
    assert (name, "PER") in entities
    assert all(label != "LOC" for found, label in entities if found == name)


@pytest.mark.parametrize(
    "text",
    [
        "Le colis est arrivé à Paris",
        "une pierre dans la salade",  # a name that is also a word, in lower case
        "Merci à tous pour votre accueil",
        "Le Big Mac était froid",  # a determiner before: not a person
    ],
)
def test_the_context_does_not_invent_people(analyzer: Analyzer, text: str) -> None:
    assert "PER" not in [label for _, label in spans(analyzer.analyze_text(text).entities)]


@pytest.mark.parametrize(
    ("text", "org", "org_id"),
    [
        ("Burger King était meilleur", "Burger King", "burger-king"),  # the bare model: PER
        ("Moins cher chez Lidl", "Lidl", "lidl"),
        ("Plus cher qu'à l'Ibis d'en face", "Ibis", "ibis"),
        ("mieux que le mcdo", "mcdo", "mcdonalds"),
        ("SERVICE NUL AU BURGER KING", "BURGER KING", "burger-king"),
        ("On s'est garés au Carrefour à côté", "Carrefour", "carrefour"),
    ],
)
def test_companies_are_kept_whole_with_their_id(analyzer: Analyzer, text: str, org: str, org_id: str) -> None:
    entities = analyzer.analyze_text(text).entities
    assert [(e.text, e.id) for e in entities if e.label is Label.ORG] == [(org, org_id)]
    assert not [e for e in entities if e.label is Label.PER]


def test_a_company_that_is_also_a_word_needs_its_capital(analyzer: Analyzer) -> None:
    assert not analyzer.analyze_text("un jus d'orange et un croissant").entities
    assert not analyzer.analyze_text("au carrefour tournez à droite").entities
    [entity] = analyzer.analyze_text("Mon forfait chez Orange a doublé").entities
    assert (entity.label, entity.id) == (Label.ORG, "orange")


def test_towns_in_lower_case_unless_they_are_words(analyzer: Analyzer) -> None:
    assert ("la rochelle", "LOC") in spans(analyzer.analyze_text("accueil en gare de la rochelle").entities)
    assert ("nanterre", "LOC") in spans(analyzer.analyze_text("deja la 2e fois a nanterre").entities)
    assert not analyzer.analyze_text("on a fait trois tours du parking").entities


BANK = vocabulary(
    "bank",
    ("PRODUCT", "Livret A", "livret-a"),
    ("ORG", "Ibis", "ibis"),
    ("LOC", "Châtelet-Les Halles", "chatelet"),
    ("PRODUCT", "passe Navigo", "navigo"),
    ("PRODUCT", "Sécur'Pass", "securpass"),
)


@pytest.mark.parametrize(
    ("text", "found", "term_id"),
    [
        ("J'ai ouvert un livret A.", "livret A", "livret-a"),  # the full stop stuck to "A."
        ("LIVRET A. MERCI", "LIVRET A", "livret-a"),
        ("Séjour à l'ibis.", "ibis", "ibis"),  # elision, lower case, full stop
        ("annonces a chatelet les halles", "chatelet les halles", "chatelet"),  # no accents, no hyphen
        ("remboursez nos passes Navigo !", "passes Navigo", "navigo"),  # plural of the first word
        ("securpass plante", "securpass", "securpass"),  # no apostrophe
    ],
)
def test_vocabulary_matching_survives_how_people_type(analyzer: Analyzer, text: str, found: str, term_id: str) -> None:
    entities = analyzer.analyze_text(text, BANK).entities
    assert [(e.text, e.id) for e in entities if e.id == term_id] == [(found, term_id)]
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text

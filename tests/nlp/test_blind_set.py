"""The blind open set (issue 19): feedback as new customers write it, written and committed before the larger
name and company lists and the place cues, and never used to tune them (`feedback_fr_dev.jsonl` was).

Both are scored with `vocabularies_open.json`: each brand's own name and a few products, nothing else. The
floors of the other sets are their figures measured just before this work (`bench/nlp_quality.py`).
"""

from __future__ import annotations

import json

import pytest

from nlp.analyzer import Analyzer
from nlp.evaluation import LabelledFeedback, load_labelled, score_entities, score_entities_by_label
from nlp.names import first_names, rare_first_names
from nlp.types import FeedbackText, Label, Vocabulary
from tests.nlp.conftest import DATA
from tests.nlp.support import analyse_labelled, spans, vocabulary

OTHER_SETS = ("feedback_fr.jsonl", "feedback_fr_holdout.jsonl", "feedback_fr_open.jsonl", "feedback_fr_open_dev.jsonl")


@pytest.fixture(scope="module")
def blind() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr_blind.jsonl")


@pytest.fixture(scope="module")
def dev() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr_dev.jsonl")


def test_the_blind_set_is_written_as_new_customers_write(blind: list[LabelledFeedback]) -> None:
    assert len(blind) >= 150
    assert sum(item.text == item.text.lower() for item in blind) >= 10  # no capitals at all
    assert sum(item.text.isupper() for item in blind) >= 8  # all capitals
    assert sum(any(ord(ch) > 0x2000 for ch in item.text) for item in blind) >= 10  # emoji
    assert sum(any(w in item.text.lower().split() for w in ("the", "thanks", "thank")) for item in blind) >= 8
    assert sum(e.label is Label.PER for item in blind for e in item.entities) >= 50
    for name in ("feedback_fr_blind.jsonl", "feedback_fr_dev.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for entity in record["entities"]:
                assert record["text"][entity["start"] : entity["end"]] == entity["text"], record["id"]
    others = {item.text for name in (*OTHER_SETS, "feedback_fr_dev.jsonl") for item in load_labelled(DATA / name)}
    assert not {item.text for item in blind} & others


def test_the_blind_set_reaches_the_target(
    analyzer: Analyzer, blind: list[LabelledFeedback], open_vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, blind, open_vocabularies)
    gold = [item.entities for item in blind]
    score = score_entities(gold, [a.entities for a in analyses])
    assert score.f1 >= 0.90  # the target; 0.942 before this work
    assert score.precision >= 0.90 and score.recall >= 0.90
    by_label = score_entities_by_label(gold, [a.entities for a in analyses])
    for label in (Label.PER, Label.ORG, Label.LOC, Label.PRODUCT):
        assert by_label[label].recall >= 0.85, label


def test_the_second_development_set_stays_above_its_floor(
    analyzer: Analyzer, dev: list[LabelledFeedback], open_vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, dev, open_vocabularies)
    score = score_entities([item.entities for item in dev], [a.entities for a in analyses])
    assert score.f1 >= 0.95  # 0.899 on its first 62 feedbacks before this work


@pytest.mark.parametrize(
    ("name", "vocabularies_file", "floor"),
    [  # entity F1 with the vocabulary, measured before the INSEE names and the place cues
        ("feedback_fr.jsonl", "vocabularies.json", 1.0),
        ("feedback_fr_holdout.jsonl", "vocabularies.json", 0.986),
        ("feedback_fr_open_dev.jsonl", "vocabularies_open.json", 0.980),
        ("feedback_fr_open.jsonl", "vocabularies_open.json", 0.987),
    ],
)
def test_the_other_sets_are_no_worse_than_before(
    analyzer: Analyzer, name: str, vocabularies_file: str, floor: float
) -> None:
    from nlp.evaluation import load_vocabularies

    items = load_labelled(DATA / name)
    analyses = analyse_labelled(analyzer, items, load_vocabularies(DATA / vocabularies_file))
    score = score_entities([item.entities for item in items], [a.entities for a in analyses])
    assert score.f1 >= floor - 5e-4


def test_the_insee_names_are_many_and_apart_from_words() -> None:
    header = (DATA.parents[1] / "nlp" / "data" / "prenoms_insee.txt").read_text(encoding="utf-8")
    assert "INSEE" in header and "MIT" in header and "prenoms 0.5.1" in header
    rare = rare_first_names()
    assert len(rare) >= 10_000
    assert not rare & first_names()
    assert {"ombeline", "isaure"} <= rare
    assert {"sixtine", "guillemette"} <= rare | first_names()
    assert not {"rose", "ambre", "aube", "dune", "hope", "rock", "nice", "tours", "orange"} & rare


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grand merci à ombeline pour mon prêt", [("ombeline", "PER")]),
        ("MERCI À SIXTINE POUR SON AIDE", [("SIXTINE", "PER")]),
        ("Nous avons été reçus avec Isaure ce matin", [("Isaure", "PER")]),
        ("Axelle et Rayan au top hier soir", [("Axelle", "PER"), ("Rayan", "PER")]),
        ("une ombeline de plus", []),  # a rare name in lower case with no cue: nothing
        ("Agence de Lamballe fermée sans prévenir", [("Lamballe", "LOC")]),
        ("AGENCE DE PÉRIGUEUX FERMÉE SANS PRÉVENIR", [("PÉRIGUEUX", "LOC")]),
        ("Merci à toute l'équipe de Bègles", [("Bègles", "LOC")]),
        ("Mon conseiller Aurélien a été très réactif", [("Aurélien", "PER")]),
        ("Qonto fait mieux pour les pros", [("Qonto", "ORG")]),
        ("Moins bien que le Pullman de la gare", [("Pullman", "ORG")]),
        ("Retard à Bordeaux Saint-Jean encore", [("Bordeaux Saint-Jean", "LOC")]),
        ("Rdv avec Mr Ouattara, très clair", [("Ouattara", "PER")]),
        ("5 GUYS C'EST MIEUX", [("5 GUYS", "ORG")]),
    ],
)
def test_rare_names_and_places_after_a_venue(analyzer: Analyzer, text: str, expected: list[tuple[str, str]]) -> None:
    (analysis,) = analyzer.analyze([_reason(text)], vocabulary("any", ("ORG", "Any", "any")))
    assert spans(analysis.entities) == expected


def _reason(text: str) -> FeedbackText:
    return FeedbackText(reason=text, suggestion=None, rating=3)

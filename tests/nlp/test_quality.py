"""Quality floors on the hand-labelled French sets: these fail when the analysis gets worse.

`feedback_fr.jsonl` is the set the rules were written against; `feedback_fr_holdout.jsonl` was written
afterwards and never used for tuning, so its floors say how the rules do on texts they never saw.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from nlp.analyzer import Analyzer
from nlp.evaluation import LabelledFeedback, kind_accuracy, score_entities
from nlp.normalize import vocabulary_id
from nlp.types import Entity, Kind, Label, Vocabulary
from tests.nlp.conftest import DATA
from tests.nlp.support import analyse_labelled

# The field reference: 8% complaints, 36% critiques, 12% suggestions, 44% praise.
REFERENCE = {Kind.COMPLAINT: 0.08, Kind.CRITIQUE: 0.36, Kind.SUGGESTION: 0.12, Kind.PRAISE: 0.44}
VENUE_KINDS = {"fast_food", "bank_branch", "commuter_train", "supermarket", "town_hall", "hotel"}


def bare_model(analyzer: Analyzer, items: list[LabelledFeedback]) -> list[list[Entity]]:
    docs = analyzer.nlp.pipe([item.text for item in items])
    return [
        [Entity(e.text, Label(e.label_), e.start_char, e.end_char, field=item.field) for e in doc.ents]
        for item, doc in zip(items, docs, strict=True)
    ]


def test_the_labelled_set_is_as_the_issue_asks(labelled: list[LabelledFeedback]) -> None:
    assert len(labelled) >= 150
    assert len({item.id for item in labelled}) == len(labelled)
    records = [json.loads(line) for line in (DATA / "feedback_fr.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {record["venue_kind"] for record in records} == VENUE_KINDS
    shares = Counter(item.kind for item in labelled)
    for kind, share in REFERENCE.items():
        assert abs(shares[kind] / len(labelled) - share) < 0.03, kind
    assert {item.field for item in labelled} == {"reason", "suggestion"}
    assert sum(item.text == item.text.lower() for item in labelled) >= 10  # no capitals at all
    assert sum(any(ord(ch) > 0x2000 for ch in item.text) for item in labelled) >= 10  # emoji


@pytest.mark.parametrize("name", ["feedback_fr.jsonl", "feedback_fr_holdout.jsonl"])
def test_every_expected_entity_is_where_it_says(name: str) -> None:
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert 1 <= record["rating"] <= 5
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"], record["id"]
            assert Label(entity["label"])


def test_vocabulary_ids_are_canonical(vocabularies: dict[str, Vocabulary]) -> None:
    labelled_brands = {json.loads(line)["brand"] for line in (DATA / "feedback_fr.jsonl").read_text().splitlines()}
    assert labelled_brands <= set(vocabularies)
    for vocabulary in vocabularies.values():
        assert vocabulary.entries
        for entry in vocabulary.entries:
            assert vocabulary_id(entry.id) == entry.id


def test_entities_with_the_vocabulary_reach_the_target(
    analyzer: Analyzer, labelled: list[LabelledFeedback], vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, labelled, vocabularies)
    score = score_entities([item.entities for item in labelled], [a.entities for a in analyses])
    assert score.f1 >= 0.85
    assert score.precision >= 0.85 and score.recall >= 0.85


def test_kind_reaches_the_target(
    analyzer: Analyzer, labelled: list[LabelledFeedback], vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, labelled, vocabularies)
    assert kind_accuracy([item.kind for item in labelled], [a.kind for a in analyses]) >= 0.80
    without = analyse_labelled(analyzer, labelled, None)
    assert kind_accuracy([item.kind for item in labelled], [a.kind for a in without]) >= 0.80


def test_the_vocabulary_and_the_rules_improve_on_the_bare_model(
    analyzer: Analyzer, labelled: list[LabelledFeedback], vocabularies: dict[str, Vocabulary]
) -> None:
    gold = [item.entities for item in labelled]
    bare = score_entities(gold, bare_model(analyzer, labelled))
    rules_only = score_entities(gold, [a.entities for a in analyse_labelled(analyzer, labelled, None)])
    with_vocabulary = score_entities(gold, [a.entities for a in analyse_labelled(analyzer, labelled, vocabularies)])
    assert rules_only.f1 > bare.f1 + 0.10
    assert with_vocabulary.f1 > rules_only.f1 + 0.20
    assert with_vocabulary.f1 > bare.f1 + 0.40


def test_texts_never_seen_while_tuning_stay_above_the_targets(
    analyzer: Analyzer, held_out: list[LabelledFeedback], vocabularies: dict[str, Vocabulary]
) -> None:
    analyses = analyse_labelled(analyzer, held_out, vocabularies)
    score = score_entities([item.entities for item in held_out], [a.entities for a in analyses])
    assert score.f1 >= 0.85
    assert kind_accuracy([item.kind for item in held_out], [a.kind for a in analyses]) >= 0.80
    bare = score_entities([item.entities for item in held_out], bare_model(analyzer, held_out))
    assert score.f1 > bare.f1 + 0.40

"""Scoring the analysis against labelled feedback: entity precision/recall/F1 (exact span and label) and
kind accuracy. Pure functions over value types, shared by `bench/nlp_quality.py` and the quality tests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.types import Entity, Kind, Label, Vocabulary, VocabularyEntry

__all__ = [
    "EntityScore",
    "LabelledFeedback",
    "kind_accuracy",
    "kind_confusion",
    "load_labelled",
    "load_vocabularies",
    "score_entities",
    "score_entities_by_label",
]


@dataclass(frozen=True, slots=True)
class LabelledFeedback:
    """One hand-labelled text: what the analysis should find in it."""

    id: str
    brand: str
    rating: int | None
    field: str
    text: str
    kind: Kind
    entities: tuple[Entity, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelledFeedback:
        field = str(data.get("field", "reason"))
        entities = tuple(Entity.from_json({**entity, "field": field}) for entity in data.get("entities", ()))
        return cls(
            id=str(data["id"]),
            brand=str(data["brand"]),
            rating=None if data.get("rating") is None else int(data["rating"]),
            field=field,
            text=str(data["text"]),
            kind=Kind(data["kind"]),
            entities=entities,
        )


@dataclass(frozen=True, slots=True)
class EntityScore:
    """Counts of exact matches (same span, same label) and the figures computed from them."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _keys(entities: Iterable[Entity]) -> Counter[tuple[str, int, int, Label]]:
    return Counter((entity.field, entity.start, entity.end, entity.label) for entity in entities)


def score_entities(expected: Sequence[Iterable[Entity]], predicted: Sequence[Iterable[Entity]]) -> EntityScore:
    """Score predicted entities against expected ones, text by text (exact span and label)."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected lists but {len(predicted)} predicted ones")
    tp = fp = fn = 0
    for gold, guess in zip(expected, predicted, strict=True):
        gold_keys, guess_keys = _keys(gold), _keys(guess)
        matched = sum((gold_keys & guess_keys).values())
        tp += matched
        fp += sum(guess_keys.values()) - matched
        fn += sum(gold_keys.values()) - matched
    return EntityScore(tp, fp, fn)


def score_entities_by_label(
    expected: Sequence[Iterable[Entity]], predicted: Sequence[Iterable[Entity]]
) -> dict[Label, EntityScore]:
    """`score_entities` for each label alone: a predicted entity counts against the label it was given, an
    expected one against the label it should have had."""
    return {
        label: score_entities(
            [[e for e in gold if e.label is label] for gold in expected],
            [[e for e in guess if e.label is label] for guess in predicted],
        )
        for label in Label
    }


def kind_confusion(expected: Sequence[Kind], predicted: Sequence[Kind]) -> dict[tuple[Kind, Kind], int]:
    """How many texts of each expected kind got each predicted kind: {(expected, predicted): count}."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected kinds but {len(predicted)} predicted ones")
    counts = Counter(zip(expected, predicted, strict=True))
    return {(e, p): counts[(e, p)] for e in Kind for p in Kind}


def kind_accuracy(expected: Sequence[Kind], predicted: Sequence[Kind]) -> float:
    """The share of kinds predicted right."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected kinds but {len(predicted)} predicted ones")
    if not expected:
        return 1.0
    return sum(e == p for e, p in zip(expected, predicted, strict=True)) / len(expected)


def load_labelled(path: Path) -> list[LabelledFeedback]:
    """Read a labelled set: JSON lines with id, brand, rating, field, text, kind and entities."""
    with path.open(encoding="utf-8") as lines:
        return [LabelledFeedback.from_json(json.loads(line)) for line in lines if line.strip()]


def load_vocabularies(path: Path) -> dict[str, Vocabulary]:
    """Read vocabularies stored as {brand: [{label, text, id}, …]}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        brand: Vocabulary(brand=brand, entries=tuple(VocabularyEntry.from_json(e) for e in entries), version="1")
        for brand, entries in data.items()
    }

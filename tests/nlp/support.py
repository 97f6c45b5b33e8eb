"""Helpers of the analysis tests: vocabularies written inline, analyses of labelled sets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nlp.analyzer import Analyzer
from nlp.evaluation import LabelledFeedback
from nlp.types import Analysis, Entity, FeedbackText, Label, Vocabulary, VocabularyEntry


def vocabulary(brand: str, *entries: tuple[str, str, str], version: str = "1") -> Vocabulary:
    """A vocabulary from (label, text, id) triples."""
    return Vocabulary(
        brand=brand,
        entries=tuple(VocabularyEntry(Label(label), text, term_id) for label, text, term_id in entries),
        version=version,
    )


def as_feedback(item: LabelledFeedback) -> FeedbackText:
    reason, suggestion = (item.text, None) if item.field == "reason" else (None, item.text)
    return FeedbackText(reason=reason, suggestion=suggestion, rating=item.rating)


def analyse_labelled(
    analyzer: Analyzer, items: Sequence[LabelledFeedback], vocabularies: dict[str, Vocabulary] | None
) -> list[Analysis]:
    """Analyse a labelled set one brand per call, as the worker does, in the set's order."""
    results: dict[str, Analysis] = {}
    for brand in sorted({item.brand for item in items}):
        of_brand = [item for item in items if item.brand == brand]
        vocabulary = None if vocabularies is None else vocabularies[brand]
        for item, analysis in zip(
            of_brand, analyzer.analyze([as_feedback(i) for i in of_brand], vocabulary), strict=True
        ):
            results[item.id] = analysis
    return [results[item.id] for item in items]


def spans(entities: Sequence[Entity]) -> list[tuple[str, str]]:
    """(text, label) of each entity, in order: what most assertions compare."""
    return [(entity.text, entity.label.value) for entity in entities]


def model_spans(ents: Sequence[Any]) -> list[tuple[str, str]]:
    """(text, label) of the spaCy spans the bare model found (`doc.ents`)."""
    return [(str(span.text), str(span.label_)) for span in ents]

"""Quality of the analysis on the labelled sets: entity precision, recall and F1 (exact span and label) and
kind accuracy, for the bare model, the analysis without vocabulary, and the analysis with it; then, with the
vocabulary, precision and recall of each label and the confusion of kinds.

The sets (tests/data), each with the vocabularies it is scored with:
- `feedback_fr.jsonl` (vocabularies.json): the brands' full vocabularies; the rules were written against it;
- `feedback_fr_holdout.jsonl` (vocabularies.json): written afterwards, never used to tune anything;
- `feedback_fr_open_dev.jsonl` (vocabularies_open.json): open set, development half: brands whose vocabulary
  holds only their own name and a few products, texts naming staff, companies and places no vocabulary has;
  the open-set rules were tuned on it;
- `feedback_fr_open.jsonl` (vocabularies_open.json): open set, test half, written before those rules and
  never used to tune them;
- `feedback_fr_dev.jsonl` (vocabularies_open.json): second open development set, written for the larger name
  and company lists; tuned on;
- `feedback_fr_blind.jsonl` (vocabularies_open.json): blind open set, written and committed before that
  work and never used to tune it (only its scores were read).

    .venv/bin/python bench/nlp_quality.py [--errors] [--set NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from nlp.analyzer import Analyzer  # noqa: E402
from nlp.evaluation import (  # noqa: E402
    EntityScore,
    LabelledFeedback,
    kind_accuracy,
    kind_confusion,
    load_labelled,
    load_vocabularies,
    score_entities,
    score_entities_by_label,
)
from nlp.types import Analysis, Entity, FeedbackText, Kind, Label, Vocabulary  # noqa: E402

DATA = REPOSITORY / "tests" / "data"
# (set, vocabularies it is scored with, what it is)
SETS = (
    ("feedback_fr.jsonl", "vocabularies.json", "tuning set"),
    ("feedback_fr_holdout.jsonl", "vocabularies.json", "held out"),
    ("feedback_fr_open_dev.jsonl", "vocabularies_open.json", "open set, development: tuned on"),
    ("feedback_fr_open.jsonl", "vocabularies_open.json", "open set, test: held out"),
    ("feedback_fr_dev.jsonl", "vocabularies_open.json", "open set, second development set: tuned on"),
    ("feedback_fr_blind.jsonl", "vocabularies_open.json", "blind open set: never tuned on"),
)


def bare_model_entities(analyzer: Analyzer, items: Sequence[LabelledFeedback]) -> list[list[Entity]]:
    """The model's own entities, straight from `nlp.pipe`, with no ruler and no fix."""
    docs = analyzer.nlp.pipe([item.text for item in items])
    return [
        [Entity(e.text, Label(e.label_), e.start_char, e.end_char, field=item.field) for e in doc.ents]
        for item, doc in zip(items, docs, strict=True)
    ]


def as_feedback(item: LabelledFeedback) -> FeedbackText:
    """The labelled text as the field it was written in."""
    reason, suggestion = (item.text, None) if item.field == "reason" else (None, item.text)
    return FeedbackText(reason=reason, suggestion=suggestion, rating=item.rating)


def analyse(
    analyzer: Analyzer, items: Sequence[LabelledFeedback], vocabularies: dict[str, Vocabulary] | None
) -> list[Analysis]:
    """Analyse each labelled text as its field, one brand per call as the worker does."""
    results: dict[str, Analysis] = {}
    for brand in sorted({item.brand for item in items}):
        of_brand = [item for item in items if item.brand == brand]
        vocabulary = vocabularies.get(brand) if vocabularies is not None else None
        batch = [as_feedback(item) for item in of_brand]
        for item, analysis in zip(of_brand, analyzer.analyze(batch, vocabulary), strict=True):
            results[item.id] = analysis
    return [results[item.id] for item in items]


def row(name: str, score: EntityScore, accuracy: float | None) -> str:
    kind = "" if accuracy is None else f"{accuracy:8.3f}"
    return f"{name:<28}{score.precision:7.3f}{score.recall:7.3f}{score.f1:7.3f}{kind}"


def print_errors(items: Sequence[LabelledFeedback], analyses: Sequence[Analysis]) -> None:
    for item, analysis in zip(items, analyses, strict=True):
        gold = {(e.start, e.end, e.label) for e in item.entities}
        guess = {(e.start, e.end, e.label) for e in analysis.entities}
        missed = [f"{item.text[s:e]}/{label.value}" for s, e, label in sorted(gold - guess)]
        extra = [f"{item.text[s:e]}/{label.value}" for s, e, label in sorted(guess - gold)]
        wrong_kind = analysis.kind is not item.kind
        if missed or extra or wrong_kind:
            kind = f" kind {analysis.kind.value}≠{item.kind.value}" if wrong_kind else ""
            print(f"{item.id} ({item.rating}★ {item.field}) {item.text!r}{kind}")
            if missed:
                print(f"    missed: {missed}")
            if extra:
                print(f"    extra:  {extra}")


def report(
    analyzer: Analyzer, name: str, items: Sequence[LabelledFeedback], vocabularies: dict[str, Vocabulary], errors: bool
) -> None:
    gold = [item.entities for item in items]
    kinds = [item.kind for item in items]
    bare = score_entities(gold, bare_model_entities(analyzer, items))
    without = analyse(analyzer, items, None)
    with_vocabulary = analyse(analyzer, items, vocabularies)
    print(f"{name}: {len(items)} feedbacks, {sum(len(g) for g in gold)} entities")
    print(f"  {'':<28}{'P':>7}{'R':>7}{'F1':>7}{'kind acc':>9}")
    print("  " + row("bare model (ner alone)", bare, None))
    print(
        "  "
        + row(
            "analysis, no vocabulary",
            score_entities(gold, [a.entities for a in without]),
            kind_accuracy(kinds, [a.kind for a in without]),
        )
    )
    print(
        "  "
        + row(
            "analysis with vocabulary",
            score_entities(gold, [a.entities for a in with_vocabulary]),
            kind_accuracy(kinds, [a.kind for a in with_vocabulary]),
        )
    )
    print_per_label(gold, [a.entities for a in with_vocabulary])
    print_confusion(kinds, [a.kind for a in with_vocabulary])
    if errors:
        print_errors(items, with_vocabulary)
    print()


def print_per_label(gold: Sequence[Sequence[Entity]], predicted: Sequence[Sequence[Entity]]) -> None:
    """Precision and recall of each label, with the vocabulary."""
    print(f"  {'per label, with vocabulary':<28}{'P':>7}{'R':>7}{'F1':>7}{'gold':>6}{'found':>6}")
    for label, score in score_entities_by_label(gold, predicted).items():
        expected = score.true_positives + score.false_negatives
        found = score.true_positives + score.false_positives
        if expected or found:
            print(f"  {label.value:<28}{score.precision:7.3f}{score.recall:7.3f}{score.f1:7.3f}{expected:6d}{found:6d}")


def print_confusion(expected: Sequence[Kind], predicted: Sequence[Kind]) -> None:
    """The confusion of kinds, with the vocabulary: a row per expected kind, a column per predicted one."""
    counts = kind_confusion(expected, predicted)
    print(f"  {'kinds (row: expected)':<28}" + "".join(f"{kind.value:>11}" for kind in Kind))
    for row_kind in Kind:
        print(f"  {row_kind.value:<28}" + "".join(f"{counts[(row_kind, kind)]:11d}" for kind in Kind))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="print each text the analysis gets wrong")
    parser.add_argument("--set", action="append", choices=[name for name, _, _ in SETS], help="only this set")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    analyzer = Analyzer()
    loaded = time.perf_counter() - started
    print(f"model loaded in {loaded:.1f} s; pipeline {analyzer.pipeline_names}\n")
    for name, vocabularies, what in SETS:
        if args.set and name not in args.set:
            continue
        items = load_labelled(DATA / name)
        report(analyzer, f"{name} ({what}; {vocabularies})", items, load_vocabularies(DATA / vocabularies), args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

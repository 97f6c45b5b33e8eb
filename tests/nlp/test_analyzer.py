"""The Analyzer: its pipeline, its errors, and any text at all (empty, emoji, huge, English, no model)."""

from __future__ import annotations

import gc

import pytest

from nlp import analyzer as analyzer_module
from nlp.analyzer import Analyzer, load_analyzer, model_may_add
from nlp.errors import AnalysisError, ModelMissing
from nlp.evaluation import load_labelled
from nlp.types import Analysis, FeedbackText, Kind, Vocabulary
from tests.nlp.conftest import DATA
from tests.nlp.support import vocabulary

BRAND = vocabulary(
    "hotel", ("PER", "Zorglub", "zorglub"), ("ORG", "Ibis", "ibis"), ("PRODUCT", "Sweet Bed", "sweet-bed")
)


def test_only_ner_is_loaded_and_the_rulers_run_before_it(analyzer: Analyzer) -> None:
    assert analyzer.nlp.pipe_names == ["ner"]
    names = analyzer.pipeline_names
    assert names.index("vocabulary_ruler") < names.index("ner") < names.index("entity_fixes")


def test_the_model_is_loaded_once_per_process(analyzer: Analyzer) -> None:
    assert load_analyzer().nlp is analyzer.nlp
    assert Analyzer(batch_size=8).nlp is analyzer.nlp


def test_the_loaded_model_is_out_of_the_collectors_full_passes(analyzer: Analyzer) -> None:
    # The model's objects are frozen once loaded: a full collection no longer walks them (~200 ms each).
    assert gc.is_tracked(analyzer.nlp) and gc.get_freeze_count() > 50_000
    assert not any(o is analyzer.nlp for o in gc.get_objects())  # only the collected generations are listed


def test_a_missing_model_names_the_package_to_install() -> None:
    with pytest.raises(ModelMissing, match=r"pip install fr-core-news-xx") as caught:
        Analyzer(model="fr_core_news_xx")
    assert isinstance(caught.value, AnalysisError)
    assert (caught.value.model, caught.value.package) == ("fr_core_news_xx", "fr-core-news-xx")


def test_bad_arguments_are_refused(analyzer: Analyzer) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Analyzer(batch_size=0)
    with pytest.raises(ValueError, match="field"):
        analyzer.analyze_text("ok", field="title")


def test_english_without_a_model_still_matches_the_vocabulary(analyzer: Analyzer) -> None:
    analysis = analyzer.analyze_text("Zorglub at the Ibis desk was great, the Sweet Bed too. Thanks!", BRAND, rating=5)
    assert analysis.language == "en"
    assert [(e.text, e.id) for e in analysis.entities] == [
        ("Zorglub", "zorglub"),
        ("Ibis", "ibis"),
        ("Sweet Bed", "sweet-bed"),
    ]
    assert analysis.kind is Kind.PRAISE
    assert "welcome_staff" in analysis.aspects or "comfort" in analysis.aspects


def test_english_gets_no_model_entities(analyzer: Analyzer) -> None:
    text = "We stayed in London with Microsoft colleagues and the Paris office"
    assert analyzer.nlp(text).ents  # the French model would find some
    analysis = analyzer.analyze_text(text)
    assert analysis.language == "en"
    assert [e.text for e in analysis.entities] == ["Paris"]  # the town list, a rule, not the model


@pytest.mark.parametrize("hint", ["de", "zz", "tlh"])
def test_a_language_without_a_model_never_crashes(analyzer: Analyzer, hint: str) -> None:
    analysis = analyzer.analyze_text("Zorglub 👍", BRAND, rating=5, language_hint=hint)
    assert analysis.language == hint
    assert [(e.text, e.id) for e in analysis.entities] == [("Zorglub", "zorglub")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t",
        "😡",
        "👍👍👍🎉",
        "…!!!???",
        "\x00\x07\x1b[31m",
        "ok",
        "a" * 10_000,
        "Julien " * 1_500,
        "Très bon accueil. " * 600,
    ],
)
def test_any_text_gives_an_analysis(analyzer: Analyzer, text: str) -> None:
    analysis = analyzer.analyze_text(text, BRAND, rating=3)
    assert isinstance(analysis, Analysis)
    for entity in analysis.entities:
        assert text[entity.start : entity.end] == entity.text


def test_a_long_text_is_analysed_whole_up_to_the_limit(analyzer: Analyzer) -> None:
    text = ("Attente trop longue. " * 500)[:9_990] + " Zorglub"
    assert len(text) == 9_998
    analysis = analyzer.analyze_text(text, BRAND, rating=2)
    assert [(e.text, e.start) for e in analysis.entities] == [("Zorglub", 9_991)]
    assert "waiting_time" in analysis.aspects


def test_a_batch_keeps_its_order_and_skips_missing_fields(analyzer: Analyzer) -> None:
    items = [
        FeedbackText(None, None, 5),
        FeedbackText("Zorglub au top", None, 5),
        FeedbackText("", "Ajouter des prises USB", 4),
        FeedbackText("Chambre sale, je veux être remboursé", "", 1),
        FeedbackText("Great stay, thanks", None, 5, language_hint="en"),
    ]
    analyses = analyzer.analyze(items, BRAND)
    assert [a.kind for a in analyses] == [Kind.PRAISE, Kind.PRAISE, Kind.SUGGESTION, Kind.COMPLAINT, Kind.PRAISE]
    assert [a.language for a in analyses] == ["fr", "fr", "fr", "fr", "en"]
    assert analyses[0].entities == () and analyses[2].entities == ()
    assert [e.id for e in analyses[1].entities] == ["zorglub"]
    assert analyzer.analyze([], BRAND) == []


def test_texts_that_skip_the_model_end_as_if_it_had_run(
    analyzer: Analyzer, vocabularies: dict[str, Vocabulary], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `ner` is skipped where the fixes would throw its labels away (no capital letter, or only capitals):
    # every labelled text, lower-cased and in capitals, must come out the same with the model run on all.
    items = [
        FeedbackText(reason=text, suggestion=None, rating=item.rating)
        for path in sorted(DATA.glob("feedback_fr*.jsonl"))
        for item in load_labelled(path)
        for text in (item.text.lower(), item.text.upper())
    ]
    # A street word opens a span the fixes keep in lower case ("boulevard" LOC): such a text reads the model.
    items.append(FeedbackText(reason="le magasin du boulevard haussmann est sale", suggestion=None, rating=2))
    skipped = sum(not model_may_add(item.reason or "", (item.reason or "").isupper()) for item in items)
    assert skipped > len(items) * 0.8  # most of them skip it, so the comparison says something
    brand = vocabularies["ibis"]
    fast = analyzer.analyze(items, brand)
    monkeypatch.setattr(analyzer_module, "model_may_add", lambda text, shouted: True)
    assert analyzer.analyze(items, brand) == fast
    assert sum(len(analysis.entities) for analysis in fast) > 100


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("merci a bastien pour son accueil", False),
        ("MERCI À KARINE", False),
        ("garé rue garibaldi, pas de place", True),  # a street word: "rue Garibaldi" may be kept
        ("on s'est garés avenue foch", True),
        ("Merci à Bastien", True),
        ("👍👍", True),  # no letter: the model decides
    ],
)
def test_which_texts_the_model_reads(text: str, reads: bool) -> None:
    assert model_may_add(text, text.isupper()) is reads

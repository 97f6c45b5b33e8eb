"""The analysis of feedback: entities, kind, aspects and language, for one brand's batch at a time.

The stages, for a French text: tokenizer → the brand's vocabulary ruler and the name ruler (they preset
entities) → the model's `ner` (which keeps preset entities and labels the rest) → the entity fixes
(`nlp.fixes`). Texts of other languages skip `ner`, and so do French texts whose model labels the fixes
would throw away (no capital letter, or only capitals: `model_may_add`). The other texts of a batch go
through `ner.pipe` in one stream, as `nlp.pipe` would run them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol, cast

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.aspects import aspects_from
from nlp.fixes import fix_entities
from nlp.kind import classify_kind
from nlp.language import detect_language
from nlp.lexicon import words
from nlp.name_ruler import NameRuler
from nlp.names import STREET_WORDS
from nlp.normalize import fold
from nlp.pipeline import FRENCH_MODEL, blank_pipeline, load_french
from nlp.reading import read_field
from nlp.types import Analysis, Entity, FeedbackText, Label, Vocabulary
from nlp.vocabulary import VocabularyRuler, VocabularyRulers

__all__ = ["FIELDS", "MAX_TEXT_CHARS", "Analyzer", "load_analyzer", "model_may_add"]

FIELDS = ("reason", "suggestion")
# Telegram caps a message at 4,096 characters; longer texts (pasted, imported) are analysed on this prefix.
MAX_TEXT_CHARS = 20_000
_STAGES_BEFORE_NER = ("vocabulary_ruler", "name_ruler")
_STAGES_AFTER_NER = ("entity_fixes",)


class _TextStream(Protocol):
    """The tokenizer, as the analysis uses it."""

    def pipe(self, texts: Iterable[str], *, batch_size: int) -> Iterator[Doc]: ...


class _DocStream(Protocol):
    """The `ner` component, as the analysis uses it."""

    def pipe(self, docs: Iterable[Doc], *, batch_size: int) -> Iterator[Doc]: ...


class _Text(NamedTuple):
    """One field of one feedback, as it goes through the pipeline."""

    item: int
    field: str
    text: str
    language: str


class Analyzer:
    """Analyses feedback with the French model loaded once, and the brand's vocabulary."""

    def __init__(self, *, model: str = FRENCH_MODEL, batch_size: int = 64) -> None:
        """Load the model (once per process: a second Analyzer shares it).

        Raises:
            nlp.errors.ModelMissing: the model is not installed; the message names the pip package.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._french = load_french(model).nlp
        self._tokenizer = cast(_TextStream, self._french.tokenizer)
        self._ner = cast(_DocStream, self._french.get_pipe("ner"))
        self._batch_size = batch_size
        self._rulers = VocabularyRulers()
        self._name_rulers: dict[str, NameRuler] = {"fr": NameRuler(self._french)}

    @property
    def pipeline_names(self) -> list[str]:
        """The stages a French text goes through, in order; the spaCy components among them are the model's."""
        return [*_STAGES_BEFORE_NER, *self._french.pipe_names, *_STAGES_AFTER_NER]

    @property
    def nlp(self) -> Language:
        """The loaded French spaCy pipeline (its components only), for benchmarks against raw `nlp.pipe`."""
        return self._french

    def analyze(self, items: Sequence[FeedbackText], vocabulary: Vocabulary | None = None) -> list[Analysis]:
        """Analyse one brand's feedbacks, in order; `vocabulary` is that brand's.

        Each field is analysed on its first `MAX_TEXT_CHARS` characters; entity offsets are in the field's
        own text, whatever its length.
        """
        return self.analyze_groups([(items, vocabulary)])[0]

    def analyze_groups(
        self, groups: Sequence[tuple[Sequence[FeedbackText], Vocabulary | None]]
    ) -> list[list[Analysis]]:
        """Analyse several brands' feedbacks, each group with its own vocabulary, in one stream through `ner`.

        A worker's batch mixes brands: one stream keeps `ner`'s batches full, as `nlp.pipe` would.
        """
        items = [item for group, _ in groups for item in group]
        vocabularies = [vocabulary for group, vocabulary in groups for _ in group]
        read = [_Read.of(item) for item in items]
        languages = [
            detect_language(_joined(item), item.language_hint, text_words=r.reason + r.suggestion)
            for item, r in zip(items, read, strict=True)
        ]
        texts = [
            _Text(index, field, text[:MAX_TEXT_CHARS], languages[index])
            for index, item in enumerate(items)
            for field, text in ((FIELDS[0], item.reason), (FIELDS[1], item.suggestion))
            if text
        ]
        entities = self._entities(texts, [vocabularies[text.item] for text in texts])
        found: list[list[Entity]] = [[] for _ in items]
        for text, spans in zip(texts, entities, strict=True):
            if spans:
                found[text.item].extend(_entity(span, text.text, text.field) for span in spans)
        analyses = [
            _analysis(item, r, language, tuple(item_entities))
            for item, r, language, item_entities in zip(items, read, languages, found, strict=True)
        ]
        result: list[list[Analysis]] = []
        start = 0
        for group, _ in groups:
            result.append(analyses[start : start + len(group)])
            start += len(group)
        return result

    def analyze_text(
        self,
        text: str,
        vocabulary: Vocabulary | None = None,
        *,
        rating: int | None = None,
        field: str = "reason",
        language_hint: str | None = None,
    ) -> Analysis:
        """Analyse one text as the given field of a feedback (`parole nlp analyze`)."""
        if field not in FIELDS:
            raise ValueError(f"field must be one of {FIELDS}, not {field!r}")
        item = FeedbackText(
            reason=text if field == "reason" else None,
            suggestion=text if field == "suggestion" else None,
            rating=rating,
            language_hint=language_hint,
        )
        return self.analyze([item], vocabulary)[0]

    def _entities(self, texts: Sequence[_Text], vocabularies: Sequence[Vocabulary | None]) -> list[list[Span]]:
        """The entities of each text (with its brand's vocabulary), in order: the French ones through `ner` in
        one stream."""
        result: list[list[Span]] = [[] for _ in texts]
        french = [i for i, text in enumerate(texts) if text.language == "fr"]
        found = self._french_entities([texts[i].text for i in french], [vocabularies[i] for i in french])
        for i, spans in zip(french, found, strict=True):
            result[i] = spans
        for i, text in enumerate(texts):
            if text.language != "fr":
                result[i] = self._blank_entities(text.text, text.language, vocabularies[i])
        return result

    def _french_entities(self, texts: Sequence[str], vocabularies: Sequence[Vocabulary | None]) -> list[list[Span]]:
        compiled: dict[int, VocabularyRuler] = {}  # one lookup per distinct vocabulary of the stream
        for vocabulary in vocabularies:
            if vocabulary and vocabulary.entries and id(vocabulary) not in compiled:
                compiled[id(vocabulary)] = self._rulers.get(vocabulary, self._french, "fr")
        names = self._name_rulers["fr"]
        docs = list(self._tokenizer.pipe(texts, batch_size=self._batch_size))
        shouted = [text.isupper() for text in texts]
        preset = []
        for doc, vocabulary, loud in zip(docs, vocabularies, shouted, strict=True):
            ruler = compiled.get(id(vocabulary))
            preset.append(_preset(doc, ruler.spans(doc) if ruler else [], names, loud))
        # `ner` labels, in place, only the texts whose labels the fixes could keep (see `model_may_add`).
        modelled = (doc for doc, text, loud in zip(docs, texts, shouted, strict=True) if model_may_add(text, loud))
        for _ in self._ner.pipe(modelled, batch_size=self._batch_size):
            pass
        return [
            fix_entities(doc, spans, names.is_place, shouted=loud)
            for doc, spans, loud in zip(docs, preset, shouted, strict=True)
        ]

    def _blank_entities(self, text: str, language: str, vocabulary: Vocabulary | None) -> list[Span]:
        nlp = blank_pipeline(language)
        pipeline = str(nlp.lang)  # languages spaCy lacks all share the multi-language pipeline, "xx"
        doc = nlp.make_doc(text)
        ruler = self._rulers.get(vocabulary, nlp, pipeline) if vocabulary and vocabulary.entries else None
        names = self._name_rulers.get(pipeline)
        if names is None:
            names = self._name_rulers[pipeline] = NameRuler(nlp)
        shouted = text.isupper()
        spans = _preset(doc, ruler.spans(doc) if ruler else [], names, shouted)
        return fix_entities(doc, spans, names.is_place, shouted=shouted)


def load_analyzer(model: str = FRENCH_MODEL, *, batch_size: int = 64) -> Analyzer:
    """An `Analyzer` for `model` (the model itself is loaded once per process)."""
    return Analyzer(model=model, batch_size=batch_size)


def _preset(doc: Doc, vocabulary_spans: list[Span], names: NameRuler, shouted: bool) -> list[Span]:
    """Mark the vocabulary's and the name ruler's spans as the doc's entities, leaving the rest to `ner`."""
    spans = vocabulary_spans + names.spans(doc, vocabulary_spans, shouted=shouted)
    if spans:
        doc.set_ents(spans, default="unmodified")  # a fresh doc: the other tokens stay unset, for `ner`
    return spans


_LABELS = {label.value: label for label in Label}


def model_may_add(text: str, shouted: bool) -> bool:
    """Whether `ner` could add an entity that `fix_entities` keeps to `text`'s preset ones.

    The fixes keep none of the model's spans in a text written all in capitals, nor any whose first word is
    neither capitalised nor a street word ("rue Garibaldi"): a text with no capital letter and no street
    word in its folded form (as a substring: the check may only err towards running the model) ends as its
    preset spans whatever the model says, so it skips the model.
    """
    if shouted:
        return False
    if not text.islower():
        return True  # a capital letter somewhere, or no letter at all (then the model decides, as before)
    folded = fold(text)
    return any(word in folded for word in STREET_WORDS)


def _entity(span: Span, text: str, field: str) -> Entity:
    """The entity of `span` in its doc made from `text` (its words are that text's characters: a slice, not a
    walk over the span's tokens)."""
    start, end = span.start_char, span.end_char
    return Entity(
        text=text[start:end],
        label=_LABELS[span.label_],
        start=start,
        end=end,
        field=field,
        id=span.id_ or None,
    )


def _joined(item: FeedbackText) -> str:
    return " ".join(text for text in (item.reason, item.suggestion) if text)


class _Read(NamedTuple):
    """The words of a feedback's fields, folded once and shared by the language, kind and aspect rules."""

    reason: list[str]
    suggestion: list[str]

    @classmethod
    def of(cls, item: FeedbackText) -> _Read:
        return cls(_words_of(item.reason), _words_of(item.suggestion))


def _words_of(text: str | None) -> list[str]:
    return words(fold(text[:MAX_TEXT_CHARS])) if text else []


def _analysis(item: FeedbackText, read: _Read, language: str, entities: tuple[Entity, ...]) -> Analysis:
    reason = suggestion = None
    aspects: set[str] = set()
    if item.reason:
        reason, found = read_field(read.reason, language, field="reason")
        aspects |= found
    if item.suggestion:
        suggestion, found = read_field(read.suggestion, language, field="suggestion")
        aspects |= found
    return Analysis(
        language=language,
        kind=classify_kind(reason, suggestion, item.rating),
        aspects=aspects_from(aspects),
        entities=entities,
    )

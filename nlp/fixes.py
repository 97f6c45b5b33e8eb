"""Corrections of the model's entities after `ner`: the bare model's known misses on French feedback.

- a span that runs past the name ("Léa à la réception très pro", "serveur Julien") is trimmed;
- a capitalised common word taken for a name ("Bravo" LOC, "Accueil" PER, "Super" MISC), or a verb or a
  feedback word at the start of a sentence ("Bloqué" LOC, "Nettoyer" PER, "Poulet" LOC), is dropped;
- a known first name labelled LOC, MISC or ORG becomes PER, and so does a word the context marks as a
  person ("merci à X", "servie par X", "X était") unless it is a known town;
- a text written all in capitals keeps only the rulers' spans: the model labels such text almost at random;
- the town after a brand ("Quick de Massy", "Ibis Lyon Part-Dieu") is a LOC of its own;
- a street word before a place joins it ("rue Garibaldi").
Spans the vocabulary or the name ruler set are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from nlp.name_ruler import is_shouted, person_context
from nlp.names import STREET_WORDS, is_common_word, is_first_name, is_title
from nlp.normalize import fold_word
from nlp.reading import is_feedback_word
from nlp.shapes import at_sentence_start, capitalised, is_joining_hyphen, is_particle, looks_like_verb, wordlike

__all__ = ["fix_entities"]

# The words between a brand and its town: "Quick de Massy", "Quick d'Évry", "Quick à Orsay".
_PLACE_LINKS = frozenset({"de", "d'", "du", "des", "a", "à", "au", "aux"})
_MODEL_LABELS = frozenset({"PER", "ORG", "LOC", "MISC"})


def fix_entities(
    doc: Doc,
    kept: Iterable[Span] = (),
    is_place: Callable[[str], bool] | None = None,
    *,
    shouted: bool | None = None,
) -> list[Span]:
    """The doc's final entities, in order: the spans in `kept` as they are, the model's spans corrected.
    `is_place` tells a known town, which the context never turns into a person; `shouted`, whether the text
    is written all in capitals, when the caller knows."""
    kept = list(kept)
    ents = doc.ents
    if not ents or (is_shouted(doc) if shouted is None else shouted):
        return kept  # nothing from the model, and kept spans never overlap: the usual case, at no cost
    kept_bounds = {(span.start, span.end) for span in kept}
    fixed: list[Span] = list(kept)
    for ent in ents:
        if (ent.start, ent.end) in kept_bounds or ent.label_ not in _MODEL_LABELS:
            continue
        span = _fix_model_span(doc, ent, is_place)
        if span is not None:
            fixed.append(span)
    fixed = _places_after_brands(doc, fixed, kept_bounds)
    if len(fixed) < 2:
        return fixed
    return sorted(filter_spans(fixed), key=lambda span: span.start)


def _fix_model_span(doc: Doc, ent: Span, is_place: Callable[[str], bool] | None) -> Span | None:
    start, end = ent.start, ent.end
    label = ent.label_
    # Leading job titles, civilities, common words, punctuation: "serveur Julien", "Super séjour".
    while start < end and (_not_a_name(doc[start]) or not wordlike(doc[start])):
        start += 1
    # Cut at the first lower-case word that cannot sit inside a name: "Léa à la réception très pro".
    cut = start + 1
    while cut < end and (capitalised(doc[cut]) or is_particle(doc[cut]) or is_joining_hyphen(doc[cut])):
        cut += 1
    end = min(end, cut)
    while end > start and (is_particle(doc[end - 1]) or not wordlike(doc[end - 1])):
        end -= 1
    if start >= end:
        return None
    first = doc[start]
    if not (capitalised(first) or fold_word(first.text) in STREET_WORDS):
        return None
    words = [token for token in doc[start:end] if wordlike(token) and not is_particle(token)]
    if not words or all(is_common_word(token.text) for token in words):
        return None
    if end - start == 1 and at_sentence_start(first) and _common_at_sentence_start(first):
        return None
    if _a_person(doc, start, end, label, words, is_place):
        label = "PER"
    elif start > 0 and fold_word(doc[start - 1].text) in STREET_WORDS:
        start -= 1  # "rue Garibaldi": the model often leaves the street word out, or takes the name for a person
        label = "LOC"
    elif fold_word(first.text) in STREET_WORDS:
        label = "LOC"
    return Span(doc, start, end, label=label)


def _a_person(
    doc: Doc, start: int, end: int, label: str, words: list[Token], is_place: Callable[[str], bool] | None
) -> bool:
    """A known first name the model labelled otherwise, or a word the context says is a person ("merci à X",
    "X était") that is not a known town."""
    first = doc[start]
    if is_first_name(first.text) and label in {"LOC", "MISC", "ORG"} and all(capitalised(t) for t in words):
        return True
    return label in {"LOC", "MISC"} and person_context(doc, start, end) and not (is_place and is_place(first.text))


def _not_a_name(token: Token) -> bool:
    return is_title(token.text) or is_common_word(token.text)


def _common_at_sentence_start(token: Token) -> bool:
    """A word capitalised only because it starts a sentence: a verb form, or a word the kind and aspect
    lists know."""
    if is_first_name(token.text):
        return False
    return looks_like_verb(token) or is_feedback_word(token.text)


def _places_after_brands(doc: Doc, spans: list[Span], kept_bounds: set[tuple[int, int]]) -> list[Span]:
    """A LOC for the capitalised words right after an ORG ("Quick de Massy", "Ibis Lyon Part-Dieu")."""
    result = list(spans)
    for org in spans:
        if org.label_ != "ORG":
            continue
        i = org.end
        if i < len(doc) and fold_word(doc[i].text) in _PLACE_LINKS:
            i += 1
        end = i
        while end < len(doc) and (capitalised(doc[end]) or (end > i and is_joining_hyphen(doc[end]))):
            end += 1
        while end > i and is_joining_hyphen(doc[end - 1]):
            end -= 1
        if end == i or any(is_common_word(doc[k].text) for k in range(i, end)):
            continue
        blocking = [s for s in result if s.start < end and s.end > i]
        if any((s.start, s.end) in kept_bounds for s in blocking):
            continue  # the vocabulary or the name ruler said what these words are
        result = [s for s in result if s not in blocking]
        result.append(Span(doc, i, end, label="LOC"))
    return result

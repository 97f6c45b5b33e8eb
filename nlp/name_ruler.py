"""The brand-independent ruler that runs before `ner`: names of people and of the largest French towns.

It marks PER a name after a job title or civility ("le serveur Julien", "mme Diallo") and a capitalised
known first name, and LOC a large French town, so that the model neither swallows them into a longer
MISC span nor gives them the wrong label ("Kevin" LOC, "Nathalie" MISC).
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token

from nlp.names import (
    AMBIGUOUS_PLACES,
    TITLES,
    first_names,
    french_places,
    is_common_word,
    is_first_name,
    is_title,
    name_triggers,
)
from nlp.normalize import fold_word
from nlp.shapes import at_sentence_start, capitalised, is_particle

__all__ = ["NameRuler"]


class NameRuler:
    """People's names and French towns, for the pipeline `nlp` (its vocab)."""

    def __init__(self, nlp: Language) -> None:
        # One matcher pass finds the words that may start a name and the towns; towns are then checked
        # case-sensitively ("Nice" the town, not "nice"; "Tours", not "tours").
        self._matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._matcher.add("PLACE", [nlp.make_doc(place) for place in french_places()])
        self._matcher.add("NAME", [nlp.make_doc(word) for word in sorted(name_triggers())])
        self._place_key = nlp.vocab.strings["PLACE"]
        self._places = frozenset(french_places())
        self._first_names = first_names()

    def spans(self, doc: Doc, taken: Iterable[Span] = ()) -> list[Span]:
        """PER and LOC spans for `doc`; tokens inside `taken` (the vocabulary's spans) are left alone."""
        matches = self._matcher(doc)
        if not matches:
            return []
        busy = {i for span in taken for i in range(span.start, span.end)}
        spans = self._people(doc, busy, [start for key, start, end in matches if key != self._place_key])
        busy |= {i for span in spans for i in range(span.start, span.end)}
        for key, start, end in matches:
            if key != self._place_key or any(i in busy for i in range(start, end)):
                continue
            if doc[start:end].text not in self._places:
                continue  # not written as the town is
            if end - start == 1 and doc[start].text in AMBIGUOUS_PLACES and at_sentence_start(doc[start]):
                continue
            spans.append(Span(doc, start, end, label="LOC"))
            busy.update(range(start, end))
        return spans

    def _people(self, doc: Doc, busy: set[int], triggers: list[int]) -> list[Span]:
        spans: list[Span] = []
        n = len(doc)
        resume = 0
        # Only the tokens the matcher found are looked at: this runs on every text.
        for i in sorted(set(triggers)):
            if i < resume or i in busy:
                continue
            token = doc[i]
            key = fold_word(token.text)
            if key in TITLES:
                if i + 1 >= n or i + 1 in busy or not _name_after_title(doc[i + 1]):
                    continue
                start = i + 1
            elif key in self._first_names and capitalised(token):
                start = i
            else:
                continue
            end = start + 1
            # A capitalised surname right after the first name: "Sophie Martin", "Mme Garnier Dupont".
            while end < n and end not in busy and capitalised(doc[end]) and _could_be_surname(doc[end]):
                end += 1
            spans.append(Span(doc, start, end, label="PER"))
            resume = end
        return spans


def _name_after_title(token: Token) -> bool:
    """After a title, a capitalised word or a known first name in any case ("la caissière nadia")."""
    if not token.is_alpha or is_title(token.text) or is_common_word(token.text) or is_particle(token):
        return False
    return capitalised(token) or is_first_name(token.text)


def _could_be_surname(token: Token) -> bool:
    return token.is_alpha and len(token.text) > 1 and not is_common_word(token.text) and not is_title(token.text)

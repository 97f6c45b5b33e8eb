"""The brand-independent ruler that runs before `ner`: companies, people's names and French towns.

It marks, in this order (a token goes to the first that claims it):
- ORG a company or public body of the packaged list (`nlp/data/organisations.txt`), whole and with its
  canonical id ("Burger King", not "King" as a person; "l'Ibis", "mcdo", "BNP");
- PER a name after a job title or civility ("le serveur Julien", "mme Diallo", "la vendeuse anouk"), a known
  first name ("Maëlys", "bastien", "KARINE"; a name that is also a word, "pierre", "jade", only capitalised),
  a rare first name of INSEE's list capitalised inside a sentence ("avec Isaure"), or in any case where the
  words around it say person ("merci à ombeline", "MERCI À SIXTINE"), and an unknown capitalised word where
  the words around it say person ("merci à Soazig", "servie par Inaya", "Gwenaëlle était", "thanks to Emily");
- LOC a French town or station of the packaged list, as written or in lower case ("la rochelle") unless
  its name is also a word ("Tours", "Nice").
Presetting them keeps the model from swallowing them into a longer MISC span or giving them the wrong label
("Kevin" LOC, "Nathalie" MISC, "Burger King" PER). A text written all in capitals gets only these and the
vocabulary's: the model labels such text almost at random.
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token

from nlp.names import (
    AMBIGUOUS_PLACES,
    PERSON_AFTER,
    PERSON_BEFORE,
    PERSON_PARTICIPLE_BEFORE,
    PLACE_NOUNS,
    TITLES,
    first_names,
    french_places,
    is_common_word,
    is_first_name,
    is_title,
    name_triggers,
    organisations,
    rare_first_names,
    rare_name_forms,
    word_names,
)
from nlp.normalize import fold, fold_word
from nlp.reading import is_feedback_word
from nlp.shapes import at_sentence_start, capitalised, is_joining_hyphen, is_particle, looks_like_verb

__all__ = ["NameRuler", "is_shouted", "person_context"]

_ORG = "ORG\t"
_ORG_AS_WRITTEN = "ORG=\t"
_PERSON_BEFORE = frozenset(PERSON_BEFORE)
_PERSON_AFTER = frozenset(PERSON_AFTER)
_BEFORE_LENGTHS = sorted({len(phrase) for phrase in PERSON_BEFORE}, reverse=True)
_AFTER_LENGTHS = sorted({len(phrase) for phrase in PERSON_AFTER}, reverse=True)
# The words a cue is found by, in one matcher pass with the rest, and where the name stands from them: the
# last word of a cue before the name ("merci à" → the word after "à"), "par" (after a participle), the
# words of a cue after it ("était": the word before; "a été": two before).
_CUE_ANCHORS = {
    **{phrase[-1]: (1,) for phrase in PERSON_BEFORE if phrase[-1] not in {"a", "to", "you", "de"}},
    **{"a": (1,), "to": (1,), "you": (1,), "de": (1,), "par": (1,)},
}
for _phrase in PERSON_AFTER:
    _position = 1 if _phrase[0] == "a" else 0  # "a été": "été", two words after the name
    _word = _phrase[_position]
    _CUE_ANCHORS[_word] = tuple(sorted({*_CUE_ANCHORS.get(_word, ()), -1 - _position}))
_CUE = "CUE\t"
_PLACE_NOUN = "PLACE_NOUN"
_PLACE_LINKS = frozenset({"de", "d'", "d\u2019", "du"})
# What may stand right before a name that a following verb marks ("Anouk était", "et Kylian nous a aidés"),
# unlike a determiner ("le Big Mac était froid").
_BEFORE_NAME_SUBJECT = frozenset({"et", "and", ",", "&", "avec", "merci", "bravo", "mais"})


def is_shouted(doc: Doc) -> bool:
    """Written all in capitals ("MERCI À KARINE"): capitals say nothing about names there."""
    return doc.text.isupper()


def person_context(doc: Doc, start: int, end: int) -> bool:
    """Whether the words around `doc[start:end]` say it is a person: "merci à X", "servie par X", a title
    before it, or "X était", "X nous a" after it (then only at the start of a clause)."""
    if start > 0 and is_title(doc[start - 1].text):
        return True
    before = [fold_word(doc[i].text) for i in range(max(0, start - 4), start)]
    for length in _BEFORE_LENGTHS:
        if len(before) >= length and tuple(before[-length:]) in _PERSON_BEFORE:
            return True
    if len(before) >= 2 and before[-1] == "par" and before[-2] in PERSON_PARTICIPLE_BEFORE:
        return True
    if start > 0 and not (before[-1] in _BEFORE_NAME_SUBJECT or at_sentence_start(doc[start])):
        return False
    after = [fold_word(doc[i].text) for i in range(end, min(len(doc), end + 3))]
    return any(len(after) >= length and tuple(after[:length]) in _PERSON_AFTER for length in _AFTER_LENGTHS)


class NameRuler:
    """Companies, people's names and French towns, for the pipeline `nlp` (its vocab)."""

    def __init__(self, nlp: Language) -> None:
        # One matcher pass finds the companies, the words that may start a name, and the towns; each match
        # is then checked against how it is written ("Nice" the town, not "nice"; "Orange", not "orange").
        self._matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._org_keys: dict[int, tuple[str, bool]] = {}  # match key → (canonical id, only as written)
        by_key: dict[str, set[str]] = {}
        for org in organisations():
            key = (_ORG_AS_WRITTEN if org.as_written else _ORG) + org.id
            by_key.setdefault(key, set()).update(_written_forms(org.text))
        for key, forms in by_key.items():
            self._matcher.add(key, [nlp.make_doc(form) for form in sorted(forms)])
            kind, org_id = key.split("\t", 1)
            self._org_keys[nlp.vocab.strings[key]] = (org_id, kind == _ORG_AS_WRITTEN.rstrip("\t"))
        self._org_key_set = frozenset(self._org_keys)  # `set.isdisjoint(dict)` walks the whole dict
        places = french_places()
        self._matcher.add("PLACE", [nlp.make_doc(form) for place in places for form in _written_forms(place)])
        self._matcher.add("NAME", [nlp.make_doc(word) for word in sorted(name_triggers())])
        self._name_key = nlp.vocab.strings["NAME"]
        # The rare names are looked up by the hash of their lower-case form (the tokens' LOWER attribute), not
        # matched: 20,000 more patterns would add as many lexemes to the shared vocab (about 50 MB). Hashing a
        # string does not store it.
        self._rare_forms = frozenset(nlp.vocab.strings[form] for form in rare_name_forms() - name_triggers())
        nouns = {form for noun in PLACE_NOUNS for form in (noun, *_ACCENTED.get(noun, ()))}
        self._matcher.add(_PLACE_NOUN, [nlp.make_doc(noun) for noun in sorted(nouns)])
        self._place_noun_key = nlp.vocab.strings[_PLACE_NOUN]
        # A key per cue word, so a match says where its name stands without reading the token again.
        self._cue_offsets: dict[int, tuple[int, ...]] = {}
        for word, offsets in _CUE_ANCHORS.items():
            forms = {word, *_ACCENTED.get(word, ())}
            self._matcher.add(_CUE + word, [nlp.make_doc(form) for form in sorted(forms)])
            self._cue_offsets[nlp.vocab.strings[_CUE + word]] = offsets
        self._people_keys = frozenset({self._name_key, *self._cue_offsets})
        self._place_key = nlp.vocab.strings["PLACE"]
        self._place_keys = frozenset({self._place_key, self._place_noun_key})
        self._places = frozenset(places)
        # Towns that may be written in lower case or without accents: not the ones that are also words.
        self._folded_places = frozenset(_unhyphened(fold(place)) for place in places if place not in AMBIGUOUS_PLACES)
        self._all_folded_places = frozenset(fold(place) for place in places)
        self._first_names = first_names()
        self._word_names = word_names()
        self._rare_names = rare_first_names()
        self._any_names = self._first_names | self._rare_names

    def spans(self, doc: Doc, taken: Iterable[Span] = (), *, shouted: bool | None = None) -> list[Span]:
        """ORG, PER and LOC spans for `doc`; tokens inside `taken` (the vocabulary's spans) are left alone.
        `shouted`: whether the text is written all in capitals, when the caller knows (`doc.text` costs)."""
        matches = self._matcher(doc)
        lowers = doc.to_array(LOWER).tolist()
        rare = [] if self._rare_forms.isdisjoint(lowers) else [i for i, h in enumerate(lowers) if h in self._rare_forms]
        if not matches and not rare:
            return []
        busy = {i for span in taken for i in range(span.start, span.end)}
        shouted = is_shouted(doc) if shouted is None else shouted
        # Each finder runs only when the matcher found its words: most texts match only cue words ("à", "de").
        keys = {key for key, _, _ in matches}
        spans = [] if keys.isdisjoint(self._org_key_set) else self._organisations(doc, busy, matches)
        busy |= {i for span in spans for i in range(span.start, span.end)}
        places = self._towns(doc, busy, matches, shouted) if self._place_keys & keys else []
        place_tokens = {i for span in places for i in range(span.start, span.end)}
        people = []
        if rare or self._people_keys & keys:
            people = self._people(doc, busy, place_tokens, matches, rare, shouted)
        busy |= {i for span in people for i in range(span.start, span.end)}
        spans += people
        spans += [span for span in places if not any(i in busy for i in range(span.start, span.end))]
        return spans

    def is_place(self, text: str) -> bool:
        """Whether `text` is a town or station of the list, in any case."""
        return fold(text) in self._all_folded_places

    def _organisations(self, doc: Doc, busy: set[int], matches: list[tuple[int, int, int]]) -> list[Span]:
        found: list[Span] = []
        for key, start, end in matches:
            org = self._org_keys.get(key)
            if org is None or any(i in busy for i in range(start, end)):
                continue
            org_id, as_written = org
            if as_written and (not capitalised(doc[start]) or at_sentence_start(doc[start])):
                continue  # "orange", "Free wifi": the word, not the company
            found.append(Span(doc, start, end, label="ORG", span_id=org_id))
        return _longest(found)

    def _towns(self, doc: Doc, busy: set[int], matches: list[tuple[int, int, int]], shouted: bool) -> list[Span]:
        found: list[Span] = []
        for key, start, end in matches:
            if key != self._place_key or any(i in busy for i in range(start, end)):
                continue
            text = doc[start].text if end - start == 1 else doc[start:end].text  # a slice costs a Span
            if text not in self._places and _unhyphened(fold(text)) not in self._folded_places:
                continue  # "tours", "nice": not written as the town is
            if end - start == 1 and text in AMBIGUOUS_PLACES and at_sentence_start(doc[start]):
                continue
            found.append(Span(doc, start, end, label="LOC"))
        found += self._places_after_nouns(doc, busy, matches, shouted)
        return _longest(found)

    def _places_after_nouns(
        self, doc: Doc, busy: set[int], matches: list[tuple[int, int, int]], shouted: bool
    ) -> list[Span]:
        """The capitalised words after a venue noun and "de": "l'agence de Lamballe", "l'équipe de Bègles",
        "AGENCE DE LANDERNEAU"; towns no list holds."""
        found: list[Span] = []
        n = len(doc)
        for key, _, noun_end in matches:
            if key != self._place_noun_key or noun_end + 1 >= n or doc[noun_end].lower_ not in _PLACE_LINKS:
                continue
            start = end = noun_end + 1
            while end < n and end not in busy and (capitalised(doc[end]) or (end > start and _inside_name(doc, end))):
                end += 1
            while end > start and not capitalised(doc[end - 1]):
                end -= 1
            if shouted:
                end = min(end, start + 1)  # in capitals, capitals do not tell where the name ends
            words = doc[start:end]
            if not words or any(is_common_word(t.text) or is_title(t.text) or not t.is_alpha for t in words):
                continue
            if fold_word(doc[start].text) in self._first_names:
                continue  # "le bureau de Nadia"
            found.append(Span(doc, start, end, label="LOC"))
        return found

    def _people(
        self,
        doc: Doc,
        busy: set[int],
        places: set[int],
        matches: list[tuple[int, int, int]],
        rare: list[int],
        shouted: bool,
    ) -> list[Span]:
        spans: list[Span] = []
        n = len(doc)
        resume = 0
        starts = sorted({start for key, start, _ in matches if key == self._name_key})
        starts += [i for i in rare if self._is_rare_name(doc, i, shouted)]
        cues = [(start, self._cue_offsets[key]) for key, start, _ in matches if key in self._cue_offsets]
        # The words that may start a name (from the matcher), then the unknown words a cue points at.
        candidates = [(i, True) for i in starts] + [
            (i, False) for i in self._cued_words(doc, cues, busy, places, shouted)
        ]
        for i, listed in sorted(candidates):
            if i < resume or i in busy or (listed and i in places):
                continue
            token = doc[i]
            key = fold_word(token.text)
            if listed and key in TITLES:
                if i + 1 >= n or i + 1 in busy or not _name_after_title(doc[i + 1], shouted):
                    continue
                start = i + 1
            elif listed and key in self._first_names:
                if not self._is_name(token, key, shouted):
                    continue
                start = i
            elif not listed or key in self._rare_names:
                start = i
            else:
                continue
            end = start + 1
            # A capitalised surname right after the first name: "Sophie Martin", "Mme Garnier Dupont".
            while (
                not shouted
                and end < n
                and end not in busy
                and end not in places
                and capitalised(doc[end])
                and _could_be_surname(doc[end])
            ):
                end += 1
            spans.append(Span(doc, start, end, label="PER"))
            resume = end
        return spans

    def _is_name(self, token: Token, key: str, shouted: bool) -> bool:
        """A known first name: capitalised, or in lower case unless it is also a word ("jade", "pierre")."""
        if key in self._word_names:
            return capitalised(token) and not shouted
        return True

    def _is_rare_name(self, doc: Doc, i: int, shouted: bool) -> bool:
        """A rare first name: capitalised inside a sentence of a text not all in capitals, or next to a
        person cue in any case ("merci à ombeline"); never a town of the list nor a common word."""
        token = doc[i]
        if self.is_place(token.text) or is_common_word(token.text) or is_title(token.text):
            return False
        if capitalised(token) and not shouted and not at_sentence_start(token):
            return True
        if capitalised(token) and i + 2 < len(doc) and doc[i + 1].lower_ in {"et", "and", "&"}:
            return fold_word(doc[i + 2].text) in self._any_names  # "Axelle et Rayan"
        return person_context(doc, i, i + 1)

    def _cued_words(
        self, doc: Doc, cues: list[tuple[int, tuple[int, ...]]], busy: set[int], places: set[int], shouted: bool
    ) -> list[int]:
        """Unknown capitalised words that the words around them mark as a person ("merci à Soazig"); only the
        words next to a cue word (its position, and where a name stands from it) are looked at."""
        if shouted or not cues:
            return []
        found = []
        n = len(doc)
        near = {k + offset for k, offsets in cues for offset in offsets}
        for i in sorted(near):
            if i < 0 or i >= n or i in busy or i in places:
                continue
            token = doc[i]
            if not capitalised(token) or not _could_be_unknown_name(token):
                continue
            if fold_word(token.text) in self._first_names or self.is_place(token.text):
                continue
            if person_context(doc, i, i + 1):
                found.append(i)
        return found


# The written forms of folded cue words ("etait" → "était"): the matcher compares lower-case text.
_ACCENTED = {
    "a": ("à",),
    "hotel": ("hôtel",),
    "equipe": ("équipe",),
    "aeroport": ("aéroport",),
    "supermarche": ("supermarché",),
    "hypermarche": ("hypermarché",),
    "etait": ("était",),
    "ete": ("été",),
    "trouve": ("trouvé",),
    "regle": ("réglé",),
    "grace": ("grâce",),
    "felicitations": ("félicitations",),
    "speciale": ("spéciale",),
    "genial": ("génial",),
    "geniale": ("géniale",),
    "tres": ("très",),
}


def _written_forms(text: str) -> set[str]:
    """A term as written, without accents, with either apostrophe, and with spaces for its hyphens
    ("Bordeaux Saint-Jean", "aix en provence")."""
    forms = set()
    for base in (text, fold(text)):
        forms |= {base, base.replace("'", "\u2019"), *_hyphen_variants(base)}
    return forms


def _hyphen_variants(text: str) -> set[str]:
    """`text` with each of its first three hyphens kept or written as a space."""
    parts = text.split("-")
    if len(parts) == 1 or len(parts) > 4:
        return {text}
    variants = {parts[0]}
    for part in parts[1:]:
        variants = {f"{v}-{part}" for v in variants} | {f"{v} {part}" for v in variants}
    return variants


def _unhyphened(text: str) -> str:
    return text.replace("-", " ")


def _inside_name(doc: Doc, i: int) -> bool:
    """A particle or hyphen between two capitalised words of one place: "Saint-Pierre-des-Corps"."""
    return (is_particle(doc[i]) or is_joining_hyphen(doc[i])) and i + 1 < len(doc) and capitalised(doc[i + 1])


def _longest(spans: list[Span]) -> list[Span]:
    """The longest of overlapping spans, in order."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def _name_after_title(token: Token, shouted: bool) -> bool:
    """After a title, a capitalised word or a known first name in any case ("la caissière nadia")."""
    if not token.is_alpha or is_title(token.text) or is_common_word(token.text) or is_particle(token):
        return False
    return (capitalised(token) and not shouted) or is_first_name(token.text)


def _could_be_surname(token: Token) -> bool:
    return token.is_alpha and len(token.text) > 1 and not is_common_word(token.text) and not is_title(token.text)


def _could_be_unknown_name(token: Token) -> bool:
    """A word that may be a name nobody listed: letters (and a hyphen), not a common, feedback or stop word,
    not a verb form, not a title."""
    text = token.text
    if len(text) < 3 or not text.replace("-", "").isalpha() or token.is_stop:
        return False
    if is_common_word(text) or is_title(text) or is_particle(token) or is_feedback_word(text):
        return False
    return not looks_like_verb(token)

"""One pass of the word lists over a feedback's field: the kind cues and the aspects at once.

`nlp.kind.read_cues` and `nlp.aspects.find_aspects` each run their own lists; the analysis, which needs
both for every text, runs one lexicon holding the two, so each word is looked up once.
"""

from __future__ import annotations

from functools import lru_cache

from nlp.aspects import ASPECT_TERMS
from nlp.kind import KIND_TERMS, Cues, cues_from
from nlp.lexicon import Lexicon, words
from nlp.normalize import fold

__all__ = ["is_feedback_word", "read_field"]

_ASPECT = "aspect:"
_ASPECT_TAGS = {_ASPECT + aspect: aspect for terms in ASPECT_TERMS.values() for aspect in terms}  # tag → aspect
_LEXICONS = {
    language: Lexicon(
        {**KIND_TERMS[language], **{_ASPECT + aspect: terms for aspect, terms in ASPECT_TERMS[language].items()}}
    )
    for language in KIND_TERMS
}


def read_field(text_words: list[str], language: str, *, field: str) -> tuple[Cues, set[str]]:
    """The kind cues and the aspects of one field, from its words (`nlp.lexicon.words` of the folded text);
    English lists for languages without their own."""
    lang = language if language in _LEXICONS else "en"
    matches = _LEXICONS[lang].find(text_words)
    aspects = {_ASPECT_TAGS[tag] for tag, _ in matches if tag in _ASPECT_TAGS}
    return cues_from(matches, text_words, lang, field=field), aspects


@lru_cache(maxsize=16_384)
def is_feedback_word(word: str, language: str = "fr") -> bool:
    """Whether one word is in the kind or aspect lists ("Meilleur", "Poulet", "Accueil"): a common word of
    feedback, not a name, even when capitalised."""
    lang = language if language in _LEXICONS else "en"
    return bool(_LEXICONS[lang].find(words(fold(word))))

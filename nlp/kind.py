"""The kind of a feedback: complaint, critique, suggestion or praise, from its words, rating and field.

Transparent rules, in this order (the first that applies decides):
1. complaint: a text demands a remedy (refund, compensation, "j'exige"…), whatever the rating; or shows
   strong dissatisfaction: a strong word ("scandaleux", "inadmissible") with 2 stars or less, or a
   1-star reason that neither proposes nor says more good than bad;
2. an answer to the suggestion question alone (or after a reason that says nothing): a suggestion,
   unless it only thanks ("rien à changer, continuez", 3 stars or more) → praise, or answers "nothing"
   or grumbles with 2 stars or less → critique;
3. a reason that proposes ("il faudrait", "vous devriez", "ce serait bien", an opening infinitive such
   as "Ouvrir plus de caisses") → suggestion;
4. otherwise the rating, weighed against the words: 4 or 5 stars are praise unless the negative words
   outnumber the positive ones by two, 3 stars are a critique unless only positive words appear, 1 or 2
   stars a critique; without a rating, the words decide. A critique whose reason has no negative word
   but whose suggestion proposes something is a suggestion.
Negated cues count the other way ("pas aimable", "pas cher"; see `nlp.lexicon.is_negated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nlp.lexicon import Lexicon, Match, is_negated
from nlp.types import Kind

__all__ = ["KIND_TERMS", "Cues", "classify_kind", "cues_from", "read_cues"]

# The word lists read best packed, a dozen to a line: the formatter leaves them as they are.
# fmt: off
KIND_TERMS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "fr": {
        "remedy": (
            "rembours*", "dedommag*", "indemni*", "exige*", "plainte*", "mediateur", "avocat*", "des excuses",
            "clotur*", "je veux etre", "je veux un", "je veux une", "je demande le", "je demande un", "je demande une",
            "je conteste", "qu'un responsable", "une explication", "service client", "service clients",
            "service clientele", "geste commercial",
        ),
        "strong": (
            "inadmissible*", "inacceptable*", "scandal*", "honte*", "honteu*", "intoxi*", "arnaque*", "n'importe quoi",
            "degueulasse*", "lamentable*", "horrible*", "catastroph*", "insupportable*", "plus jamais", "jamais vu",
            "pire", "ecoeur*", "inadmissible", "dangereu*",
        ),
        "proposal": (
            "il faudrait", "faudrait", "il faut", "ce serait", "ca serait", "serait utile", "serait bien", "serait top",
            "serait pratique", "serait mieux", "pourquoi pas", "pourquoi ne pas", "pourriez", "pourrait", "devriez",
            "devrait", "je suggere", "suggestion*", "je propose", "il manque", "penser a", "merci de prevoir",
            "ajoutez", "mettez", "proposez", "installez", "remettez",
        ),
        # An infinitive opening a suggestion: "Ouvrir une caisse…", "Proposer du lait végétal…".
        "proposal_start": (
            "ajouter", "mettre", "installer", "ouvrir", "proposer", "remettre", "afficher", "nettoyer", "prevoir",
            "augmenter", "embaucher", "former", "ameliorer", "creer", "rajouter", "baisser", "eviter", "laisser",
            "changer", "renforcer", "offrir", "permettre", "accepter", "avoir", "faire", "garder", "plus de",
            "un peu plus de", "moins de", "des", "un", "une",
        ),
        "positive": (
            "merci*", "bravo*", "felicit*", "super", "top", "genial*", "parfait*", "excellent*", "nickel",
            "impeccable*", "adorable*", "formidable*", "recommande*", "continuez", "rien a redire", "rien a dire",
            "rien a changer", "au top", "satisfait*", "ravi*", "content*", "agreable*", "efficace*", "sympa*",
            "gentil*", "souriant*", "souriante*", "sourire", "aimable*", "serviable*", "chaleureu*", "patient",
            "patiente", "patients", "patience", "tres bien", "bien recu", "bien place", "bien placee", "bien places",
            "bien dormi", "bon accueil", "tres bon", "meilleur*", "enfin", "plaisir", "reussi*", "confortable*",
            "pratique", "propre", "propres", "rapide*", "rapidement", "attention", "simple*", "claire*", "clair", "top",
            "pro", "a l'heure", "calme", "copieu*", "croustillant*", "chaud*", "conseille", "aide", "aidee", "solution",
            "bon", "bonne", "vaut le coup", "accessible*", "plus simple", "bien", "reguli*", "regulier*", "utile",
            "mieux",
        ),
        "negative": (
            "retard*", "panne*", "sale", "sales", "froid*", "tiede*", "lent", "lente*", "lents", "cher", "chers",
            "chere", "cheres", "impossible*", "dommage", "desagreable*", "impoli*", "bruyant*", "perime*", "avarie*",
            "oubli*", "manqu*", "incomplet*", "interminable*", "galere*", "bonde*", "plante", "ne marche pas",
            "ne fonctionne", "insecurite", "toujours pareil", "rien ne change", "trop", "personne ne", "personne n'a",
            "attente", "attendu", "attendre", "attend", "supprime*", "annule*", "ferme", "fermee*", "fermes", "ecrase*",
            "vide", "collant*", "bizarre*", "odeur*", "soupire*", "refuse*", "bloque*", "perdu*", "erreur*", "injuste*",
            "encore", "aucune", "aucun", "degrade*", "augment*", "incomprehensible*", "mal", "mauvais*", "nul", "nulle",
            "bof", "moyen*", "decu*", "desorganis*", "lenteur*",
        ),
        "nothing": ("rien", "aucune", "aucun", "non", "pas d'idee", "je ne sais pas", "ras"),
    },
    "en": {
        "remedy": (
            "refund*", "compensat*", "i demand", "i want my", "i want a", "complain*", "lawyer", "apolog*",
            "money back", "close my account",
        ),
        "strong": (
            "unacceptable", "disgrac*", "scandal*", "outrage*", "disgusting", "appalling", "horrible", "terrible",
            "worst", "never again", "ridiculous", "shameful", "food poisoning",
        ),
        "proposal": (
            "should", "could you", "would be", "it'd be", "why not", "suggest*", "please add", "please open", "i wish",
            "needs", "need more", "more", "add", "maybe",
        ),
        "proposal_start": ("add", "open", "offer", "put", "install", "provide", "more", "less", "have"),
        "positive": (
            "thank*", "great", "excellent", "perfect", "amazing", "awesome", "lovely", "friendly", "helpful", "kind",
            "nice", "good", "well done", "congrat*", "recommend*", "love*", "quick", "fast", "clean", "keep it up",
            "nothing to change", "best", "happy", "pleasant", "polite", "smil*",
        ),
        "negative": (
            "late", "delay*", "dirty", "cold", "slow*", "rude", "expensive", "overpriced", "broken", "wait", "waited",
            "waiting", "closed", "missing", "forgot*", "bad", "poor", "noisy", "too", "never", "unfriendly", "not",
            "no", "crowded", "cancel*", "again", "wrong",
        ),
        "nothing": ("nothing", "none", "no", "nope", "n/a"),
    },
}
# fmt: on


@dataclass(frozen=True, slots=True)
class Cues:
    """What the kind rules read in one text."""

    remedy: bool = False
    strong: bool = False
    proposal: bool = False
    positive: int = 0
    negative: int = 0
    nothing: bool = False


_NO_CUES = Cues()
_LEXICONS = {language: Lexicon(terms) for language, terms in KIND_TERMS.items()}
# Words that end like an infinitive but open a sentence as something else.
_NOT_INFINITIVES = frozenset({"premier", "dernier", "hier", "super", "cher", "leger", "plusieurs"})


def read_cues(text_words: list[str], language: str, *, field: str = "reason") -> Cues:
    """The cues of a text, from its words (`nlp.lexicon.words` of the folded text), in `language` (English
    rules for languages without their own)."""
    if not text_words:
        return _NO_CUES
    lang = language if language in _LEXICONS else "en"
    return cues_from(_LEXICONS[lang].find(text_words), text_words, lang, field=field)


def cues_from(matches: Iterable[Match], text_words: list[str], language: str, *, field: str = "reason") -> Cues:
    """The cues of a text from the matches of a lexicon that holds `KIND_TERMS[language]` (and maybe more
    lists, whose matches are ignored)."""
    if not text_words or (isinstance(matches, list) and not matches):
        return _NO_CUES  # no term found: no cue (and no new Cues to build)
    lang = language
    counts = {"remedy": 0, "strong": 0, "proposal": 0, "positive": 0, "negative": 0}
    openings: set[str] = set()
    for tag, position in matches:
        if position == 0:
            openings.add(tag)
        if tag in ("positive", "negative") and is_negated(text_words, position, lang):
            tag = "negative" if tag == "positive" else "positive"  # "pas aimable", "pas cher"
        if tag in counts:
            counts[tag] += 1
    opening = "proposal_start" in openings
    proposal = counts["proposal"] > 0 or (
        opening and (field == "suggestion" or (lang == "fr" and _infinitive(text_words[0])))
    )
    return Cues(
        remedy=counts["remedy"] > 0,
        strong=counts["strong"] > 0,
        proposal=proposal,
        positive=counts["positive"],
        negative=counts["negative"],
        nothing="nothing" in openings,
    )


def _infinitive(word: str) -> bool:
    """A reason that opens with an infinitive ("Ouvrir plus de caisses") proposes something."""
    return len(word) > 4 and word.endswith(("er", "ir", "re")) and word not in _NOT_INFINITIVES


def classify_kind(reason: Cues | None, suggestion: Cues | None, rating: int | None) -> Kind:
    """The kind of a feedback from the cues of its reason and its suggestion (None when absent) and its rating."""
    if (reason is not None and reason.remedy) or (suggestion is not None and suggestion.remedy):
        return Kind.COMPLAINT
    strong = (reason is not None and reason.strong) or (suggestion is not None and suggestion.strong)
    if strong and (rating is None or rating <= 2):
        return Kind.COMPLAINT
    if reason is not None and reason == _NO_CUES and suggestion is not None:
        reason = None
    if reason is None:
        if suggestion is None:
            return _from_rating(_NO_CUES, rating)
        return _answer_to_suggestion(suggestion, rating)
    if rating == 1 and not reason.proposal and reason.positive <= reason.negative:
        return Kind.COMPLAINT
    if reason.proposal:
        return Kind.SUGGESTION
    kind = _from_rating(reason, rating)
    if kind is Kind.CRITIQUE and suggestion is not None and suggestion.proposal and reason.negative == 0:
        return Kind.SUGGESTION
    return kind


def _answer_to_suggestion(cues: Cues, rating: int | None) -> Kind:
    if cues.proposal:
        return Kind.SUGGESTION
    if cues.positive > cues.negative and (rating is None or rating >= 3):
        return Kind.PRAISE
    if cues.nothing:
        return Kind.PRAISE if rating is None or rating >= 3 else Kind.CRITIQUE
    if cues.negative > cues.positive and rating is not None and rating <= 2:
        return Kind.CRITIQUE
    return Kind.SUGGESTION


def _from_rating(cues: Cues, rating: int | None) -> Kind:
    if rating is None:
        return Kind.CRITIQUE if cues.negative > cues.positive else Kind.PRAISE
    if rating >= 4:
        return Kind.CRITIQUE if cues.negative > cues.positive + 1 else Kind.PRAISE
    if rating == 3:
        return Kind.PRAISE if cues.positive > 0 and cues.negative == 0 else Kind.CRITIQUE
    return Kind.CRITIQUE

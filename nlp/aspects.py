"""Aspects of the visit a feedback talks about (welcome and staff, waiting time, price…), per language.

Matched on the words of the folded text, with stems for inflections (see `nlp.lexicon`); the order of
`ASPECTS` is the order of the result.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from nlp.lexicon import Lexicon

__all__ = ["ASPECTS", "ASPECT_TERMS", "aspects_from", "find_aspects"]

ASPECTS = (
    "welcome_staff",
    "waiting_time",
    "price",
    "cleanliness",
    "product_quality",
    "opening_hours",
    "accessibility",
    "punctuality",
    "noise",
    "safety",
    "payment",
    "information",
    "digital",
    "comfort",
    "choice",
    "order_accuracy",
)

# The word lists read best packed, a dozen to a line: the formatter leaves them as they are.
# fmt: off
ASPECT_TERMS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "fr": {
        "welcome_staff": (
            "accueil*", "aimable*", "amabilite", "souri*", "sympa*", "gentil*", "poli", "polie", "polis", "impoli*",
            "politesse", "serveur*", "serveuse*", "personnel", "equipe*", "agent", "agents", "agente*", "conseiller*",
            "conseillere*", "caissier*", "caissiere*", "vendeu*", "reception*", "desagreable*", "patien*", "serviable*",
            "chaleureu*", "a l'ecoute", "disponible*", "professionnel*", "pro", "bonjour", "mepris*", "aide", "aidee",
            "aider", "aidait", "conseil", "conseils", "directrice", "directeur", "vigile", "controleur*", "conducteur*",
            "dame", "staff",
        ),
        "waiting_time": (
            "attente*", "attend*", "queue", "file", "rapide*", "rapidite", "lent", "lente*", "lents", "lenteur*",
            "/\\d+(?:min|mins|mn)/", "minutes", "interminable*", "vite", "longtemps", "delai*", "tout de suite", "rush",
            "efficace*", "temps fou",
        ),
        "price": (
            "prix", "cher", "chere", "chers", "cheres", "tarif*", "euro*", "€", "promo*", "frais", "payant*", "cout*",
            "couteu*", "rapport qualite", "reduction*", "remise*", "economi*", "abordable*", "gratuit*", "augment*",
        ),
        "cleanliness": (
            "propre", "propres", "proprete", "sale", "sales", "salete*", "nettoy*", "poubelle*", "crasse*", "hygien*",
            "odeur*", "collant*", "cheveux", "tache*", "insalubre*", "degoutant*", "sent le", "puant*", "punaise*",
            "cafard*", "impeccable*",
        ),
        "product_quality": (
            "gout*", "savoureu*", "delicieu*", "qualite", "perime*", "avarie*", "cuit*", "crousti*", "garni*",
            "ecrase*", "salee*", "tiede*", "fraich*", "copieu*", "produit*", "burger*", "frites", "repas", "plat",
            "plats", "menu", "boisson*", "cafe*", "croissant*", "petit-dejeuner", "cocktail*", "mauvais*", "intoxi*",
            "viande", "boeuf", "poulet", "pain",
        ),
        "opening_hours": (
            "horaire*", "ouvert", "ouverte", "ouverture*", "ferme", "fermee", "fermes", "fermees", "fermeture*",
            "dimanche*", "samedi*", "minuit", "creneau*", "entre midi", "midi et deux", "/\\d{1,2}h\\d{0,2}/",
            "trop tot", "trop tard",
        ),
        "accessibility": (
            "accessib*", "fauteuil*", "handicap*", "pmr", "ascenseur*", "escalator*", "escalier*", "rampe*",
            "poussette*", "marches", "valise*",
        ),
        "punctuality": (
            "retard*", "a l'heure", "ponctu*", "annul*", "supprim*", "en avance", "reguli*",
        ),
        "noise": ("bruit*", "bruyant*", "musique", "insonoris*", "calme", "sonore*", "entend*"),
        "safety": (
            "securite", "insecurite", "dangereu*", "danger", "vol", "vols", "vigile*", "agress*", "peur",
        ),
        "payment": (
            "paiement*", "payer", "paie", "paye*", "carte bancaire", "liquide", "especes", "cb", "prelev*", "factur*",
            "sans contact", "caisses automatiques", "carte bloquee",
        ),
        "information": (
            "info", "infos", "information*", "annonce*", "renseign*", "expliq*", "panneau*", "affich*", "signaletique",
            "indique*",
        ),
        "digital": (
            "appli*", "application*", "site", "en ligne", "internet", "wifi", "wi-fi", "borne*", "ecran*", "sms",
            "mail", "e-mail", "telephone", "usb",
        ),
        "comfort": (
            "lit", "lits", "literie", "confort*", "clim*", "climatis*", "douche*", "matelas", "oreiller*", "chaises",
            "bancs", "debout", "dormi*", "bonde*", "respire*",
        ),
        "choice": (
            "choix", "rayon*", "gamme*", "stock*", "rupture*", "vide", "sans gluten", "vegetal*", "produits locaux",
        ),
        "order_accuracy": ("oubli*", "manqu*", "incomplet*", "erreur*", "commande fausse", "pas ce que"),
    },
    "en": {
        "welcome_staff": (
            "welcom*", "friendly", "unfriendly", "rude*", "polite*", "impolite", "smil*", "kind*", "staff", "waiter*",
            "waitress*", "cashier*", "clerk*", "receptionist*", "helpful", "unhelpful", "service", "attitude", "nice",
            "courteous", "team",
        ),
        "waiting_time": (
            "wait", "waits", "waited", "waiting", "queue*", "line", "quick*", "fast", "slow*", "/\\d+(?:min|mins)/",
            "minutes", "delay*", "forever", "ages",
        ),
        "price": ("price*", "expensive", "cheap*", "cost*", "overpriced", "fee*", "€", "euro*", "value", "discount*"),
        "cleanliness": ("clean*", "dirty", "filthy", "mess*", "smell*", "stink*", "hygien*", "trash", "bin*"),
        "product_quality": (
            "tast*", "delicious", "food", "meal*", "fresh", "stale", "cold", "burger*", "fries", "coffee", "breakfast",
            "quality", "product*", "undercooked", "overcooked",
        ),
        "opening_hours": ("open*", "closed", "closing", "hours", "sunday*", "saturday*", "midnight"),
        "accessibility": ("accessib*", "wheelchair*", "disab*", "lift", "elevator*", "stairs", "ramp*", "stroller*"),
        "punctuality": ("late", "on time", "punctual*", "cancel*", "delayed"),
        "noise": ("nois*", "loud*", "music", "quiet"),
        "safety": ("safe*", "unsafe", "danger*", "theft", "stolen", "security"),
        "payment": ("pay*", "card", "cash", "contactless", "refund*", "charged", "bill*"),
        "information": ("info*", "announcement*", "sign*", "explain*"),
        "digital": ("app", "website", "online", "wifi", "wi-fi", "kiosk*", "screen*"),
        "comfort": ("bed*", "comfort*", "air con", "air conditioning", "shower*", "pillow*", "seat*", "crowded"),
        "choice": ("choice*", "selection", "range", "stock*", "shelves", "vegan", "vegetarian"),
        "order_accuracy": ("forgot*", "missing", "wrong order", "mistake*", "incomplete"),
    },
}
# fmt: on

_LEXICONS = {language: Lexicon(terms) for language, terms in ASPECT_TERMS.items()}


def find_aspects(text_words: list[str], language: str) -> tuple[str, ...]:
    """The aspects a text talks about, in `ASPECTS` order, from its words (`nlp.lexicon.words` of the
    folded text). Languages without their own word lists use the English ones."""
    return aspects_from(_LEXICONS.get(language, _LEXICONS["en"]).tags(text_words))


def aspects_from(found: Collection[str]) -> tuple[str, ...]:
    """The aspects among `found`, in `ASPECTS` order."""
    if not found:
        return ()
    return tuple(aspect for aspect in ASPECTS if aspect in found)

"""Word lists the entity rules rely on: first names, job titles and civilities, the words around a person's
name ("merci à", "était"), companies and public bodies with their canonical ids, towns, and common feedback
words that the bare model takes for names when they start a sentence ("Bravo", "Accueil", "Super")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from nlp.normalize import fold, fold_word, word_set

__all__ = [
    "AMBIGUOUS_PLACES",
    "COMMON_WORDS",
    "NAME_PARTICLES",
    "PERSON_AFTER",
    "PERSON_BEFORE",
    "PERSON_PARTICIPLE_BEFORE",
    "PLACE_NOUNS",
    "STREET_WORDS",
    "TITLES",
    "Organisation",
    "first_names",
    "french_places",
    "is_common_word",
    "is_first_name",
    "is_title",
    "name_triggers",
    "organisations",
    "rare_first_names",
    "rare_name_forms",
    "word_names",
]


# Job titles and civilities that precede a person's name ("le serveur Julien", "Mme Garnier"), as written.
_TITLES_WRITTEN = word_set(
    """
    serveur serveuse caissier caissière conseiller conseillère agent agente réceptionniste manager manageuse
    directeur directrice responsable vendeur vendeuse hôte hôtesse contrôleur contrôleuse chauffeur conducteur
    conductrice livreur livreuse cuisinier cuisinière guichetier guichetière gérant gérante employé employée
    équipier équipière barman barmaid boucher bouchère boulanger boulangère pharmacien pharmacienne docteur
    monsieur madame mademoiselle m m. mr mr. mme mme. mlle mlle. dr dr. waiter waitress cashier clerk
    receptionist driver conductor mrs mrs. ms ms. miss mister
    facteur factrice chef animateur animatrice coiffeur coiffeuse infirmier infirmière technicien technicienne
    commercial commerciale gardien gardienne guide steward barista magasinier magasinière préparateur
    préparatrice opticien opticienne accompagnateur accompagnatrice médiateur médiatrice stagiaire
    dame collègue mlle. m.me professeur prof maître maîtresse
    """
)
TITLES = frozenset(fold(title) for title in _TITLES_WRITTEN)  # folded, for lookups

# Lower-case words that may sit inside a proper name: "Gare du Nord", "Aulnay-sous-Bois", "Quick de Massy".
NAME_PARTICLES = word_set("de du des d' la le les l' sur sous en les-bains lès et -")

# Words that start a street or place name and belong to the entity: "rue Garibaldi".
STREET_WORDS = word_set("rue avenue boulevard bd place impasse allee chemin route cours square quai")

# Nouns of a venue or a team whose "de X" names a place: "l'agence de Lamballe", "toute l'équipe de Bègles",
# "LE BUREAU DE POSTE DE VANNES". Folded.
PLACE_NOUNS = word_set(
    """
    agence agences bureau bureaux gare magasin boutique hotel restaurant resto equipe mairie aeroport station
    poste succursale supermarche hypermarche centre antenne accueil site
    """
)

# Common words of feedback that the bare model labels when they are capitalised at the start of a sentence.
# Folded. A span made only of these (and particles) is dropped; one starting with them loses them.
COMMON_WORDS = word_set(
    """
    bravo merci super top genial geniale parfait parfaite nickel excellent excellente extra impeccable
    felicitations felicitation cool sympa enfin franchement vraiment honnetement bref bon bonne tres trop bof
    nul nulle dommage helas attention hello bonjour bonsoir salut ok oui non rien aucune aucun accueil attente
    service services personnel equipe equipes ambiance accueillant prix proprete qualite magasin agence
    chambre chambres hotel gare quai train trains rame rames salle rayon rayons caisse caisses borne bornes
    tables toilettes parking literie petit-dejeuner dejeuner diner repas menu burger commande livraison drive
    application appli site wifi clim ascenseur escalators distributeur guichet reception receptionniste
    serveur serveuse caissier caissiere conseiller conseillere agent agents personne dame monsieur madame
    direction vigile controleur controleurs conducteur trajet sejour sejours voyage retard retards horaires
    ouverture frais amende reservation rendez-vous demarches dossier dossiers papiers locaux espace
    inadmissible scandaleux scandaleuse honteux honteuse inacceptable impossible il elle ils elles on nous
    vous je tu ce cette ces le la les un une des mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs
    sms usb wifi wi-fi cb tv pmr rib pdf qr gps wc vip rdv sav svp stp
    """
)


# Towns whose name is also a word ("nice", "tours", "gap"): not taken for a town at the start of a sentence,
# nor written in lower case.
AMBIGUOUS_PLACES = word_set(
    "Nice Tours Cannes Vannes Grasse Gap Laval Valence Bron Pau Clichy Colombes Menton Tulle Cognac Vichy Dole "
    "Saintes Lens Bastille Dax Auch Foix Antony Moulins Sedan Agde Royan Saint-Louis"
)

# The words right before a person's name, folded, as phrases of tokens ("merci à Maëlys", "thanks to Emily").
# A capitalised word after them is a person unless a list says otherwise; a known first name in any case too.
PERSON_BEFORE: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "merci a",
        "merci",
        "mercii",
        "remercier",
        "remercie",
        "remercions",
        "bravo a",
        "bravo",
        "felicitations a",
        "grace a",
        "de la part de",
        "big up a",
        "mention speciale a",
        "un grand merci a",
        "thanks to",
        "thank you",
        "thanks",
        "kudos to",
        "shout out to",
    )
)
# A past participle right before "par" makes the word after it a person: "servie par Inaya", "accueilli par".
PERSON_PARTICIPLE_BEFORE = word_set(
    """
    servi servie servis servies accueilli accueillie accueillis accueillies conseille conseillee conseilles
    conseillees recu recue recus recues aide aidee aides aidees renseigne renseignee renseignes renseignees
    pris prise oriente orientee rappele rappelee appele appelee traite traitee soigne soignee coiffe coiffee
    """
)
# The words right after a person's name, folded, as phrases ("Anouk était", "Kylian nous a aidés").
PERSON_AFTER: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "etait",
        "a ete",
        "est super",
        "est top",
        "est adorable",
        "est tres",
        "est vraiment",
        "est un amour",
        "est genial",
        "est geniale",
        "m' a",
        "nous a",
        "m' ont",
        "nous ont",
        "a su",
        "a pris",
        "a trouve",
        "a regle",
        "a tout",
        "was",
        "helped",
        "is so",
        "is very",
        "is the",
    )
)


def _lines(name: str) -> list[str]:
    text = resources.files("nlp").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def first_names() -> frozenset[str]:
    """The French first names shipped in `nlp/data/prenoms.txt`, folded ("Élodie" → "elodie")."""
    return frozenset(fold(line) for line in _lines("prenoms.txt"))


@cache
def rare_first_names() -> frozenset[str]:
    """The other first names given in France (INSEE, `nlp/data/prenoms_insee.txt`), folded: a person when
    capitalised inside a sentence, or in any case where the words around them say person."""
    return frozenset(fold(line) for line in _lines("prenoms_insee.txt")) - first_names()


@cache
def rare_name_forms() -> frozenset[str]:
    """Lower-case forms, with and without accents, of the rare first names, for the name ruler's matcher."""
    written = {line.lower() for line in _lines("prenoms_insee.txt")}
    return frozenset(written | {fold(word) for word in written})


@cache
def word_names() -> frozenset[str]:
    """The first names that are also common words in lower case ("pierre", "marine", "jade"), folded: names
    in lower case only right after a job title or a civility."""
    return frozenset(fold(line) for line in _lines("prenoms_mots.txt"))


@dataclass(frozen=True, slots=True)
class Organisation:
    """One written form of a company or public body of `nlp/data/organisations.txt`."""

    id: str
    text: str
    as_written: bool  # also a common word: only with its capital, not as a sentence's first word


@cache
def organisations() -> tuple[Organisation, ...]:
    """The companies and public bodies shipped in `nlp/data/organisations.txt`, every written form of each."""
    found: list[Organisation] = []
    for line in _lines("organisations.txt"):
        org_id, _, forms = line.partition("\t")
        for form in forms.split(" | "):
            form = form.strip()
            if form:
                found.append(Organisation(org_id.strip(), form.lstrip("="), form.startswith("=")))
    return tuple(found)


@cache
def name_triggers() -> frozenset[str]:
    """Lower-case forms, with and without accents, of the titles and first names: the words that may start
    a person's name. The name ruler looks them up in one matcher pass instead of testing every token."""
    written = set(_TITLES_WRITTEN) | {line.lower() for line in _lines("prenoms.txt")}
    return frozenset(written | {fold(word) for word in written})


@cache
def french_places() -> tuple[str, ...]:
    """The largest French towns shipped in `nlp/data/communes.txt`, as written ("Aulnay-sous-Bois")."""
    return tuple(dict.fromkeys(_lines("communes.txt")))


def is_first_name(word: str) -> bool:
    """Whether `word` is a known first name, in any case and with or without accents."""
    return fold_word(word) in first_names()


def is_title(word: str) -> bool:
    """Whether `word` is a job title or a civility that may precede a name."""
    return fold_word(word) in TITLES


def is_common_word(word: str) -> bool:
    """Whether `word` is a common word of feedback (never a name by itself)."""
    return fold_word(word) in COMMON_WORDS

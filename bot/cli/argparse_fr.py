"""argparse's own words in French ("usage :", "options", "erreur :"): a gettext catalog built here, installed
where argparse looks its messages up, because the command line's readers are French operators."""

from __future__ import annotations

import argparse
import gettext
from typing import Any, Final

__all__ = ["FRENCH", "FrenchParser", "install"]

#: argparse's messages (Python 3.11 to 3.13), as argparse writes them → in French.
FRENCH: Final[dict[str, str]] = {
    "usage: ": "usage : ",
    "options": "options",
    "positional arguments": "arguments positionnels",
    "subcommands": "sous-commandes",
    "show this help message and exit": "affiche cette aide et quitte",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "the following arguments are required: %s": "ces arguments sont obligatoires : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (au choix : %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "expected one argument": "une valeur attendue",
    "expected at most one argument": "une valeur au plus attendue",
    "expected at least one argument": "une valeur au moins attendue",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut être %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée",
    "one of the arguments %s is required": "l'un de ces arguments est obligatoire : %s",
    "unexpected option string: %s": "option inattendue : %s",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "commande inconnue %(parser_name)r (au choix : %(choices)s)"
    ),
}
_PLURALS: Final[dict[str, tuple[str, str]]] = {
    "expected %s argument": ("%s valeur attendue", "%s valeurs attendues"),
}


class _French(gettext.NullTranslations):
    """A catalog held in a dict: what argparse has no French for stays as argparse wrote it."""

    def gettext(self, message: str) -> str:
        return FRENCH.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        if msgid1 in _PLURALS:
            one, other = _PLURALS[msgid1]
            return one if n <= 1 else other  # French: 0 and 1 are singular
        return super().ngettext(msgid1, msgid2, n)


#: The placeholders of options without a metavar, in French (argparse writes the option's name in capitals).
PLACEHOLDERS: Final[dict[str, str]] = {
    "author": "AUTEUR", "batch": "N", "brand": "MARQUE", "chain": "ÉTAPES", "city": "VILLE", "colour": "COULEUR",
    "dir": "DOSSIER", "email": "ADRESSE", "expected": "N", "file": "FICHIER", "host": "ADRESSE", "hours": "HEURES",
    "kinds": "TYPES", "label": "ÉTIQUETTE", "language": "LANGUE", "logo": "FICHIER", "max_rating": "NOTE",
    "name": "NOM", "old": "VERSION", "out": "DOSSIER", "output": "FICHIER", "qr_dir": "DOSSIER", "rating": "NOTE",
    "reminders": "N", "since": "DÉBUT", "text": "TEXTE", "time_zone": "FUSEAU", "to": "VERSION", "until": "FIN",
    "user": "NOM", "venue": "LIEU", "version": "VERSION", "weekly": "SEMAINE",
}  # fmt: skip


class FrenchHelpFormatter(argparse.HelpFormatter):
    """Help whose placeholders are French words (`--brand MARQUE`), the option names staying as they are."""

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        return PLACEHOLDERS.get(action.dest, action.dest.upper())

    def start_section(self, heading: str | None) -> None:
        super().start_section(f"{heading} " if heading else heading)  # "options :", a space before the colon


class FrenchParser(argparse.ArgumentParser):
    """An `ArgumentParser` (and, through `add_subparsers`, its sub-parsers) with French placeholders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        super().__init__(*args, **kwargs)


def install() -> None:
    """Make argparse speak French in this process (it reads its messages through its module's `_`)."""
    french = _French()
    argparse._ = french.gettext  # type: ignore[attr-defined]
    argparse.ngettext = french.ngettext  # type: ignore[attr-defined]

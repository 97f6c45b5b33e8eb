"""Refusals in the person's language: every problem code raised in `bot/`, `dialogs/` and `nlp/` has a French
wording with the same fields and no English left, and each class of refusal reads in French."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.cli.posters import parse_colour
from bot.editing.editor import Refused
from bot.errors import ChatBusy, InvalidInput, NotAllowed, NotFound, RedisTooOld, problem
from bot.insights.stats import parse_day
from bot.refusals import refusal_text, say, wordings
from bot.staff.escalation import parse_chain
from bot.staff.mail import check_address
from bot.storage.identity import CustomerId
from bot.storage.vocabulary import check_label
from dialogs.catalog import TemplateCatalog
from dialogs.errors import FlowError, Problem, TemplateError
from dialogs.flow import parse_flow

ROOT = Path(__file__).resolve().parents[2]
#: Words that give English away in a French sentence (codes of YAML keys such as ask, say, when are allowed).
ENGLISH = frozenset(
    re.findall(
        r"\S+",
        "the must not is are be has have without which that only may cannot can't of in to an and or "
        "allowed unknown missing declared uses template step branch label line nested "
        "error refused brand venue empty characters file key string integer",
    )
)
#: The words of the flow and template languages, quoted as written (a YAML key, a Jinja2 keyword).
CODE_WORDS = frozenset(
    re.findall(
        r"\S+",
        "ask say input rating text store reason suggestion next when end true false start languages steps goto "
        "with call filter block set endset include extends autoescape self macro",
    )
)
_CODES_IN_TEXT = re.compile(r"«[^»]*»|\{[^}]*\}|\([A-Z]+\)|--[\w-]+|parole [a-z ]+")


def raised_codes() -> dict[str, str]:
    """Every `problem("code", ...)` written in the source, with its English (or '' when not a constant)."""
    found: dict[str, str] = {}
    for package in ("bot", "dialogs", "nlp"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "problem" and node.args:
                    code = node.args[0]
                    if isinstance(code, ast.Constant) and isinstance(code.value, str):
                        text = node.args[1] if len(node.args) > 1 else None
                        found[code.value] = str(text.value) if isinstance(text, ast.Constant) else ""
    return found


def english_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z_']+", _CODES_IN_TEXT.sub(" ", text))
    return [
        word
        for word in words
        if word.lower() in ENGLISH
        and word not in CODE_WORDS
        and "_" not in word
        and not word.isupper()  # ERROR: a value
    ]


def test_every_problem_raised_has_a_french_wording_with_the_same_fields() -> None:
    codes = raised_codes()
    assert len(codes) > 150, "the scan found too few problems"
    french = wordings("fr")
    assert sorted(code for code in codes if code not in french) == []
    for code, english in codes.items():
        if english:
            fields = {field for _, field, _, _ in string.Formatter().parse(english) if field}
            mine = {field for _, field, _, _ in string.Formatter().parse(french[code]) if field}
            assert mine == fields, (code, english, french[code])


def test_no_french_wording_keeps_english_words() -> None:
    offenders = {code: english_words(text) for code, text in wordings("fr").items() if english_words(text)}
    assert offenders == {}


def test_the_english_word_scan_catches_english() -> None:
    assert english_words("uses the variable 'nom_client' that the catalog does not declare")
    assert not english_words("l'étape « rating » n'a ni ask ni say")


def test_an_undeclared_variable_reads_in_french_with_its_line() -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog().with_source("greeting", "fr", "Bonjour\n{{ nom_client }}")
    text = refusal_text(caught.value)
    assert text.startswith("ligne 2 : utilise la variable « nom_client »"), text
    assert "brand_name, venue_name" in text and english_words(text) == []
    assert "nom_client" in refusal_text(caught.value, "en") and "does not declare" in refusal_text(caught.value, "en")


def test_a_vocabulary_label_reads_with_the_cards_words() -> None:
    with pytest.raises(Exception) as caught:
        check_label("PLAT")
    text = refusal_text(caught.value)
    assert text == (
        "l'étiquette « PLAT » n'existe pas ; au choix : personne (PER), organisation (ORG), lieu (LOC), "
        "produit (PRODUCT), autre (MISC)"
    )


def test_who_may_see_what_reads_in_french() -> None:
    refused = NotAllowed(
        Problem("only_brand", "{admin} may see only the brand {mine!r}, not {brand!r}",
                {"admin": "Sophie", "mine": "zinc", "brand": "quick"})
    )  # fmt: skip
    assert refusal_text(refused) == "Sophie ne peut voir que la marque « zinc », pas « quick »"
    assert refusal_text(NotFound("venue", "quick/massy")) == "le lieu « quick/massy » n'existe pas"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("input: rating", "input: stars"),
            "l'input de l'étape « rating » doit valoir rating, text ou nps, pas « stars »",
        ),
        (("start: rating", "start: nowhere"), "étape inconnue « nowhere » dans start"),
        (("name: default", "name: default\nname: again"), "la clé « name » apparaît deux fois dans le parcours"),
        (("steps:", "steps: [\n"), "erreur de syntaxe YAML"),
    ],
)
def test_flow_refusals_read_in_french(change: tuple[str, str], expected: str) -> None:
    catalog = TemplateCatalog()
    text = (ROOT / "dialogs" / "flows" / "default.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(FlowError) as caught:
        parse_flow(text.replace(change[0], change[1], 1), source="flow", catalog=catalog)
    said = refusal_text(caught.value)
    assert expected in said, said
    assert said.startswith("ligne ") and english_words(said.split(" : ")[1]) == []  # ours, not PyYAML's


def test_a_sandbox_refusal_names_the_construct_in_french() -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog().with_source("greeting", "fr", "{% macro m() %}x{% endmacro %}{{ venue_name }}")
    assert say(caught.value.reason) == "les modèles de messages n'acceptent pas : les macros"


def test_an_editor_refusal_keeps_the_code_of_what_it_wraps() -> None:
    refused = Refused(Problem("button_too_long", "a button label of {length} characters: at most {most}",
                              {"length": 70, "most": 64}), line=3)  # fmt: skip
    assert refusal_text(refused) == "ligne 3 : un bouton de 70 caractères : 64 au plus"
    assert str(refused) == "line 3: a button label of 70 characters: at most 64"


def test_the_terminals_and_the_staff_rooms_refusals_read_in_french() -> None:
    too_old = RedisTooOld("/usr/bin/redis-server", "6.2.14", "7.0")
    assert refusal_text(too_old).startswith("/usr/bin/redis-server est en version 6.2.14 ; parole demande Redis")
    assert "is version 6.2.14" in str(too_old)  # the log's English, as written
    unknown = RedisTooOld("valkey", problem("redis_info_unknown", "unknown (INFO tells no redis_version)"), "7.0")
    assert refusal_text(unknown).startswith("valkey est en version inconnue (INFO ne donne pas de redis_version)")
    assert (
        refusal_text(ChatBusy("whatsapp:33612")) == "la conversation whatsapp:33612 est occupée dans un autre processus"
    )
    with pytest.raises(InvalidInput) as caught:
        parse_colour("#ffee00")
    assert "(contraste de 1,2 pour 1, au moins 3 pour 1)" in refusal_text(caught.value)
    with pytest.raises(InvalidInput) as caught:
        parse_day("2026-13-01", problem("period_start", "the period's start"))
    assert refusal_text(caught.value) == "le début de la période « 2026-13-01 » n'est pas une date : écrivez AAAA-MM-JJ"
    for bad in (
        lambda: parse_chain("room,patron", 1),
        lambda: check_address("olga@"),
        lambda: CustomerId.from_key("x"),
    ):
        with pytest.raises(InvalidInput) as caught:
            bad()
        assert english_words(refusal_text(caught.value)) == [], refusal_text(caught.value)

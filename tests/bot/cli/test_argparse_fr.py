"""The command line's help and argparse's own refusals read in French, every command's, option names kept."""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.argparse_fr import FRENCH
from bot.cli.main import _parser

#: Words that give an English sentence away; none is also a French word (not "a", "on", "usage", "argument",
#: "message"), nor an action written as is (list, show).
ENGLISH = frozenset(
    re.findall(
        r"\S+",
        "the and or of to is are be it its with without for from this that these their by at in into "
        "help exit error required following invalid choice expected "
        "default when which who what how each every only not none brand venue feedback file write read",
    )
)
#: What the help shows as written: the command (`parole venue add`), a command listed at the start of a line,
#: option names, choices, «quoted» examples, placeholders, paths.
_AS_WRITTEN = re.compile(
    r"parole( [a-z-]+)*|^ +[a-z-]+(?= {2,}|$)|--?[\w-]+|\{[^}]*\}|«[^»]*»|\b[A-Z][A-Z_]+\b|/\w+|\w+\.\w+", re.MULTILINE
)


def english_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z']+", _AS_WRITTEN.sub(" ", text)) if word.lower() in ENGLISH]


def every_parser(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from every_parser(child)


def test_the_english_word_scan_catches_argparse_english() -> None:
    assert english_words("show this help message and exit")
    assert english_words("the following arguments are required: --brand")
    assert not english_words("affiche cette aide et quitte (par défaut DATA_DIR/qr) --no-analysis {jsonl,csv}")


def test_every_commands_help_reads_in_french() -> None:
    helps = dict((prog, sub.format_help()) for prog, sub in every_parser(_parser()))
    assert len(helps) > 40, "the walk found too few commands"
    offenders = {prog: english_words(text) for prog, text in helps.items() if english_words(text)}
    assert offenders == {}
    assert helps["parole"].startswith("usage : parole") and "options :" in helps["parole"]
    assert "--brand MARQUE" in helps["parole venue add"] and "affiche cette aide et quitte" in helps["parole venue add"]


def test_a_missing_required_argument_is_refused_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["venue", "add", "--city", "Massy"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage : parole venue add"), error
    assert error.endswith("parole venue add : erreur : ces arguments sont obligatoires : --brand, --name\n"), error


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["demo", "--channel", "fax"],
            "argument --channel : choix invalide : 'fax' (au choix : 'telegram', 'whatsapp')",
        ),
        (["serve", "--port", "huit"], "argument --port : valeur invalide (int attendu) : 'huit'"),
        (["stats", "--since"], "argument --since : une valeur attendue"),
        (["stats", "--colour", "red"], "arguments inconnus : --colour red"),
        (["venue"], "ces arguments sont obligatoires : ACTION"),
    ],
)
def test_argparse_refusals_read_in_french(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    error = capsys.readouterr().err
    assert f": erreur : {said}\n" in error, error
    assert english_words(error.split("erreur :", 1)[1]) == []


def test_the_catalog_covers_every_message_argparse_refuses_with() -> None:
    source = ast.parse(Path(argparse.__file__).read_text(encoding="utf-8"))
    written = {
        node.args[0].value
        for node in ast.walk(source)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_"
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    }  # fmt: skip
    refusals = {message for message in written if "%" in message or message in ("options", "usage: ")}
    internal = {  # a programming mistake in parole's own parser, never an operator's
        "conflicting subparser: %s", "conflicting subparser alias: %s",
        "cannot merge actions - two groups are named %r",
        "invalid conflict_resolution value: %r", "dest= is required for options like %r", "%r is not callable",
        "invalid option string %(option)r: must start with a character %(prefix_chars)r",
        'argument "-" with mode %r',  # argparse.FileType, which parole does not use
    }  # fmt: skip
    assert sorted(refusals - internal - FRENCH.keys()) == []


def test_parole_help_as_a_process_reads_in_french() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "venue", "hours", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage : parole venue hours") and english_words(done.stdout) == []

"""Templates that list things put each item on its own line (a block tag at a line's end eats its newline)."""

from __future__ import annotations

import itertools
import re

import pytest

from dialogs.catalog import TemplateCatalog
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

LANGUAGES = ("fr", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_vocab_list_puts_each_entry_on_its_line(renderer: MessageRenderer, language: str) -> None:
    entries = [
        {"label": "PER", "text": "Julien", "id": "julien"},
        {"label": "PRODUCT", "text": "Giant", "id": ""},
        {"label": "LOC", "text": "Massy", "id": "massy"},
    ]
    text = renderer.render(MessagePart("staff_vocab_list", {"count": 3, "entries": entries}), language)
    assert text.splitlines()[1:] == ["PER · Julien (julien)", "PRODUCT · Giant", "LOC · Massy (massy)"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_history_puts_each_version_on_its_line(renderer: MessageRenderer, language: str) -> None:
    """`/template history` and `/flow history` both print admin_history."""
    versions = [
        {"number": 1, "author": "olga", "at": "14/03/2025 10:02", "action": "save", "source": None},
        {"number": 2, "author": "olga", "at": "14/03/2025 11:40", "action": "rollback", "source": 1},
        {"number": 3, "author": "maria", "at": "15/03/2025 09:00", "action": "save", "source": None},
    ]
    variables = {"what": "flow", "scope": "quick", "versions": versions}
    lines = renderer.render(MessagePart("admin_history", variables), language).splitlines()
    assert len(lines) == 4
    assert [line.split(" · ")[0] for line in lines[1:]] == ["v1", "v2", "v3"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_template_list_puts_each_template_on_its_line(renderer: MessageRenderer, language: str) -> None:
    entries = [
        {"name": "greeting", "language": "fr", "origin": "quick", "version": 3},
        {"name": "thanks", "language": "en", "origin": "quick-massy", "version": 0},
    ]
    variables = {"scope": "quick", "entries": entries, "defaults": ["help"]}
    lines = renderer.render(MessagePart("admin_list", variables), language).splitlines()
    assert lines[2:4] == ["greeting · fr · quick v3", "thanks · en · quick-massy"]
    assert len(lines) == 5


_BLOCK_AT_END = re.compile(r"%}\s*$")
_BLOCK = re.compile(r"{%.*?%}")


def test_no_shipped_template_loses_a_newline_after_a_block_tag(catalog: TemplateCatalog) -> None:
    """The class: with trim_blocks, a line that prints something and ends in `{% … %}` loses its newline.

    Such a line must be the template's last, or be followed by an empty line that gives the newline back.
    """
    faults = []
    for name in catalog.names:
        for language in LANGUAGES:
            if not catalog.has(name, language):
                continue
            lines = catalog.source(name, language).rstrip("\n").split("\n")
            for number, (line, following) in enumerate(itertools.pairwise(lines), start=1):
                prints = _BLOCK.sub("", line).strip()
                if prints and _BLOCK_AT_END.search(line) and following.strip():
                    faults.append(f"{language}/{name}.j2:{number}")
    assert faults == []

"""Refusals and the terminal's notices in a person's words: a `Problem` (an error's, or a notice's), said in
their language.

The French (and any other language's) wording of each problem code lives in `templates/refusals.yaml`;
English is the text written where the problem is raised. A field may name a group of `templates/labels.yaml`
(`{label:entity_labels}`, `{labels:entity_labels}`) so codes read as the cards say them. A language without
its own wording reads French; an uncoded problem is shown as it was written.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import yaml
from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.labels import Group, Labels, labels_for
from dialogs.catalog import FALLBACK_LANGUAGE, default_templates_dir
from dialogs.errors import Problem, reason_of

__all__ = ["refusal_text", "say", "wordings"]

_ENGLISH: Final = "en"


@cache
def _load(path: Path) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(language): {str(k): str(v) for k, v in texts.items()} for language, texts in data.items()}


def wordings(language: str = FALLBACK_LANGUAGE, path: Path | None = None) -> Mapping[str, str]:
    """Every problem code's wording in a language (`refusals.yaml`)."""
    return _load(path or default_templates_dir() / "refusals.yaml").get(language, {})


class _Formatter(string.Formatter):
    """`str.format` with a label group as the format spec, lists joined, quotes in the language's way."""

    def __init__(self, labels: Labels) -> None:
        self.labels = labels

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Problem):  # a part of the sentence, said in the same language
            return say(value, self.labels.language)
        if "|" in format_spec and isinstance(value, int):  # {count:modèle|modèles}: "1 modèle", "3 modèles"
            one, other = format_spec.split("|", 1)
            locale = Locale.parse(self.labels.language)
            return f"{format_decimal(value, locale=locale)} {one if locale.plural_form(value) == 'one' else other}"
        if isinstance(value, float) and re.fullmatch(r"\.\d+f", format_spec):  # {contrast:.1f}: "4,5" in French
            pattern = "#,##0." + "0" * int(format_spec[1:-1])
            return format_decimal(value, format=pattern, locale=Locale.parse(self.labels.language))
        if format_spec in _GROUPS:
            group = cast(Group, format_spec)
            if isinstance(value, str):
                return self.labels.name(group, value)
            return ", ".join(f"{self.labels.name(group, str(code))} ({code})" for code in value)
        if isinstance(value, tuple | list | frozenset | set):
            if format_spec == "or":  # {schemes:or}: "http:// ou https://"
                return format_list([str(item) for item in value], style="or", locale=self.labels.language)
            return ", ".join(str(item) for item in value)
        return str(super().format_field(value, format_spec))


_GROUPS: Final = frozenset({"kinds", "entity_labels", "aspects", "ticket_states", "feedback_states", "channels"})


def say(reason: Problem, language: str = FALLBACK_LANGUAGE) -> str:
    """A problem in a language: its wording in `refusals.yaml`, English as written, else French."""
    if not reason.code:
        return reason.text
    text = reason.text if language == _ENGLISH else wordings(language).get(reason.code)
    if text is None:
        text = wordings(FALLBACK_LANGUAGE).get(reason.code, reason.text)
        language = FALLBACK_LANGUAGE if text is not reason.text else _ENGLISH
    return _Formatter(labels_for(language)).vformat(text, (), dict(reason.values))


_LINE: Final = {"fr": "ligne {line} : {text}", "en": "line {line}: {text}"}


def refusal_text(error: BaseException, language: str = FALLBACK_LANGUAGE) -> str:
    """What an error says to a person, in their language, with the line to blame when it has one."""
    text = say(reason_of(error), language)
    line = getattr(error, "line", None)
    if isinstance(line, int):
        return _LINE.get(language, _LINE[FALLBACK_LANGUAGE]).format(line=line, text=text)
    return text

"""The words a person reads for parole's codes (kinds, aspects, entity labels, states, channels), by language.

They live in `templates/labels.yaml`, the same words as the staff card's; a code the file does not name is
shown as it is, and a language it lacks reads French.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

import yaml

from dialogs.catalog import FALLBACK_LANGUAGE, default_templates_dir

__all__ = ["Group", "Labels", "labels_for"]

Group = Literal[
    "kinds", "entity_labels", "aspects", "ticket_states", "feedback_states", "channels", "figures", "figure_rules"
]
_GROUPS: Final = (
    "kinds",
    "entity_labels",
    "aspects",
    "ticket_states",
    "feedback_states",
    "channels",
    "figures",
    "figure_rules",
)


@dataclass(frozen=True, slots=True)
class Labels:
    """One language's words for the codes of each group."""

    language: str
    words: Mapping[str, Mapping[str, str]]

    def name(self, group: Group, code: str) -> str:
        """The word for `code` in `group`, or the code itself when the file has none."""
        return self.words.get(group, {}).get(code, code)


@cache
def _load(path: Path) -> dict[str, Labels]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    languages: dict[str, Labels] = {}
    for language, groups in data.items():
        words = {group: {str(k): str(v) for k, v in (groups.get(group) or {}).items()} for group in _GROUPS}
        languages[str(language)] = Labels(str(language), words)
    return languages


def labels_for(language: str, path: Path | None = None) -> Labels:
    """The labels of `language` (French for a language the file lacks)."""
    languages = _load(path or default_templates_dir() / "labels.yaml")
    return languages.get(language) or languages[FALLBACK_LANGUAGE]

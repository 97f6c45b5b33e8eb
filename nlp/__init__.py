"""The analysis of feedback with spaCy: entities (with the brand's vocabulary), kind, aspects, language.

Importing `nlp` or `nlp.types` does not import spaCy: `Analyzer` and `load_analyzer` are loaded on first
use, so code that only needs the value types (`dialogs/`, the bot process) never pays for spaCy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nlp.errors import AnalysisError, ModelMissing, ModelUnsuitable
from nlp.normalize import vocabulary_id
from nlp.types import Analysis, Entity, FeedbackText, Kind, Label, Vocabulary, VocabularyEntry

if TYPE_CHECKING:
    from nlp.analyzer import Analyzer, load_analyzer

__all__ = [
    "Analysis",
    "AnalysisError",
    "Analyzer",
    "Entity",
    "FeedbackText",
    "Kind",
    "Label",
    "ModelMissing",
    "ModelUnsuitable",
    "Vocabulary",
    "VocabularyEntry",
    "load_analyzer",
    "vocabulary_id",
]

_LAZY = {"Analyzer", "load_analyzer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from nlp import analyzer

        return getattr(analyzer, name)
    raise AttributeError(f"module 'nlp' has no attribute {name!r}")

"""Fixtures of the analysis tests: the French model loaded once per session, the labelled sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.analyzer import Analyzer
from nlp.evaluation import LabelledFeedback, load_labelled, load_vocabularies
from nlp.types import Vocabulary

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """One Analyzer for the whole session: loading the model takes seconds."""
    return Analyzer()


@pytest.fixture(scope="session")
def vocabularies() -> dict[str, Vocabulary]:
    return load_vocabularies(DATA / "vocabularies.json")


@pytest.fixture(scope="session")
def labelled() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr.jsonl")


@pytest.fixture(scope="session")
def held_out() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr_holdout.jsonl")


@pytest.fixture(scope="session")
def open_vocabularies() -> dict[str, Vocabulary]:
    """The open sets' vocabularies: each brand's own name and a few products, nothing else."""
    return load_vocabularies(DATA / "vocabularies_open.json")


@pytest.fixture(scope="session")
def open_dev() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr_open_dev.jsonl")


@pytest.fixture(scope="session")
def open_test() -> list[LabelledFeedback]:
    return load_labelled(DATA / "feedback_fr_open.jsonl")

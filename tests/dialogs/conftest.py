"""Shared fixtures for the dialog engine's tests: the shipped catalog, flow, engine and renderer."""

from __future__ import annotations

import pytest

from dialogs.catalog import TemplateCatalog
from dialogs.engine import DialogEngine
from dialogs.flow import Flow, default_flow_path, load_flow
from dialogs.render import MessageRenderer


@pytest.fixture(scope="session")
def catalog() -> TemplateCatalog:
    return TemplateCatalog()


@pytest.fixture(scope="session")
def flow(catalog: TemplateCatalog) -> Flow:
    return load_flow(default_flow_path(), catalog)


@pytest.fixture
def engine(flow: Flow) -> DialogEngine:
    return DialogEngine(flow, max_text_length=200, conversation_timeout=1800.0, duplicate_window_hours=24.0)


@pytest.fixture(scope="session")
def renderer(catalog: TemplateCatalog) -> MessageRenderer:
    return MessageRenderer(catalog)

"""`dialogs/` is the pure core: it never imports Telegram, Redis, aiohttp, spaCy, nor `bot/` or `nlp/`.

The checks run in a fresh interpreter started in the repository, so nothing this test process already
imported (pytest plugins, other tests' fixtures) can hide or fake an import.
"""

from __future__ import annotations

from pathlib import Path

from tests.boundaries import REPOSITORY, forbidden_imports, modules_loaded_by, package_modules, run_fresh, top_level

FORBIDDEN = frozenset({"telegram", "redis", "aiohttp", "spacy", "bot", "nlp"})
PACKAGE_DIR = REPOSITORY / "dialogs"


def test_importing_every_module_loads_nothing_forbidden() -> None:
    modules = package_modules("dialogs")
    assert {"dialogs", "dialogs.engine", "dialogs.render", "dialogs.flow", "dialogs.answers"} <= set(modules)
    loaded = modules_loaded_by(modules)
    assert "dialogs.engine" in loaded
    assert top_level(loaded, FORBIDDEN) == []


def test_no_module_imports_anything_forbidden() -> None:
    assert forbidden_imports("dialogs", FORBIDDEN) == []


def test_the_public_api_is_declared() -> None:
    result = run_fresh(
        "import json, dialogs\n"
        "print(json.dumps({'file': dialogs.__file__, 'all': dialogs.__all__,\n"
        "                  'missing': [n for n in dialogs.__all__ if not hasattr(dialogs, n)]}))\n"
    )
    assert Path(result["file"]).resolve() == PACKAGE_DIR / "__init__.py"
    assert result["missing"] == []
    assert len(result["all"]) == len(set(result["all"]))
    assert {"DialogEngine", "MessageRenderer", "TemplateCatalog", "load_flow", "parse_rating"} <= set(result["all"])

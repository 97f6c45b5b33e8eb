"""`nlp/` imports spaCy and nothing of the bot: never telegram, redis, aiohttp, `bot/` or `dialogs/`.

The checks run in a fresh interpreter started in the repository, so nothing this test process already
imported can hide or fake an import.
"""

from __future__ import annotations

from tests.boundaries import REPOSITORY, forbidden_imports, modules_loaded_by, package_modules, run_fresh, top_level

FORBIDDEN = frozenset({"telegram", "redis", "aiohttp", "bot", "dialogs"})
PACKAGE_DIR = REPOSITORY / "nlp"


def test_importing_every_module_loads_nothing_forbidden() -> None:
    modules = package_modules("nlp")
    assert {"nlp", "nlp.analyzer", "nlp.pipeline", "nlp.vocabulary", "nlp.kind", "nlp.aspects"} <= set(modules)
    loaded = modules_loaded_by(modules)
    assert "nlp.analyzer" in loaded and "spacy" in loaded
    assert top_level(loaded, FORBIDDEN) == []


def test_no_module_imports_anything_forbidden() -> None:
    assert forbidden_imports("nlp", FORBIDDEN) == []


def test_the_value_types_do_not_import_spacy() -> None:
    loaded = run_fresh(
        "import json, sys\nimport nlp, nlp.types, nlp.errors, nlp.normalize\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    assert [name for name in loaded if name.split(".")[0] in {"spacy", "thinc"}] == []


def test_the_public_api_is_declared() -> None:
    result = run_fresh(
        "import json, nlp\n"
        "print(json.dumps({'all': nlp.__all__, 'missing': [n for n in nlp.__all__ if not hasattr(nlp, n)],\n"
        "                  'analyzer': nlp.Analyzer.__module__}))\n"
    )
    assert result["missing"] == []
    assert len(result["all"]) == len(set(result["all"]))
    assert {"Analyzer", "load_analyzer", "vocabulary_id", "AnalysisError", "ModelMissing"} <= set(result["all"])
    assert result["analyzer"] == "nlp.analyzer"

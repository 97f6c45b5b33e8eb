"""`nlp/` imports spaCy and nothing of the bot: never telegram, redis, aiohttp, `bot/` or `dialogs/`.

The checks run in a fresh interpreter started in the repository, so nothing this test process already
imported can hide or fake an import.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

FORBIDDEN = frozenset({"telegram", "redis", "aiohttp", "bot", "dialogs"})
REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPOSITORY / "nlp"


def nlp_modules() -> list[str]:
    return sorted("nlp" if path.stem == "__init__" else f"nlp.{path.stem}" for path in PACKAGE_DIR.glob("*.py"))


def run_fresh(script: str) -> Any:
    """Run a script in a new interpreter from the repository; return what it printed, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)


def test_importing_every_module_loads_nothing_forbidden() -> None:
    modules = nlp_modules()
    assert {"nlp", "nlp.analyzer", "nlp.pipeline", "nlp.vocabulary", "nlp.kind", "nlp.aspects"} <= set(modules)
    loaded = run_fresh(
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    assert "nlp.analyzer" in loaded and "spacy" in loaded
    assert [name for name in loaded if name.split(".")[0] in FORBIDDEN] == []


def test_no_module_imports_anything_forbidden() -> None:
    found = []
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{path.name}:{node.lineno}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    assert found == []


def test_the_value_types_do_not_import_spacy() -> None:
    loaded = run_fresh(
        "import json, sys\n"
        "import nlp, nlp.types, nlp.errors, nlp.normalize\n"
        "print(json.dumps(sorted(sys.modules)))\n"
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

"""`dialogs/` is the pure core: it never imports Telegram, Redis, aiohttp, spaCy, nor `bot/` or `nlp/`.

The checks run in a fresh interpreter started in the repository, so nothing this test process already
imported (pytest plugins, other tests' fixtures) can hide or fake an import.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

FORBIDDEN = frozenset({"telegram", "redis", "aiohttp", "spacy", "bot", "nlp"})
REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPOSITORY / "dialogs"


def dialog_modules() -> list[str]:
    return sorted("dialogs" if path.stem == "__init__" else f"dialogs.{path.stem}" for path in PACKAGE_DIR.glob("*.py"))


def run_fresh(script: str) -> Any:
    """Run a script in a new interpreter from the repository; return what it printed, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)


def test_importing_every_module_loads_nothing_forbidden() -> None:
    modules = dialog_modules()
    assert {"dialogs", "dialogs.engine", "dialogs.render", "dialogs.flow", "dialogs.answers"} <= set(modules)
    loaded = run_fresh(
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    assert "dialogs.engine" in loaded
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

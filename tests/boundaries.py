"""Test tools for the architecture's import rules: what a package's modules load, checked in a fresh
interpreter (so nothing this test process imported can hide or fake an import), and what they import,
read from their source."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]


def package_modules(package: str) -> list[str]:
    """Every module of a top-level package, by dotted name (sub-packages included; not `__main__`,
    which runs a program when imported)."""
    root = REPOSITORY / package
    names = []
    for path in sorted(root.rglob("*.py")):
        if path.stem == "__main__":
            continue
        parts = path.relative_to(REPOSITORY).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def run_fresh(script: str) -> Any:
    """Run a script in a new interpreter from the repository; return what it printed, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout)


def modules_loaded_by(modules: Iterable[str]) -> list[str]:
    """Every module in `sys.modules` after importing `modules` in a fresh interpreter."""
    loaded: list[str] = run_fresh(
        "import importlib, json, sys\n"
        f"for name in {sorted(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    return loaded


def top_level(names: Iterable[str], packages: frozenset[str]) -> list[str]:
    """The names that belong to one of `packages`."""
    return [name for name in names if name.split(".")[0] in packages]


def forbidden_imports(package: str, forbidden: frozenset[str]) -> list[str]:
    """`file:line: module` for every absolute import of a forbidden package in the package's source."""
    found = []
    for path in sorted((REPOSITORY / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{path.name}:{node.lineno}: {name}" for name in top_level(names, forbidden)]
    return found


def imports_by_module(package: str) -> dict[str, set[str]]:
    """Each module of a top-level package (by dotted name) and the modules its absolute imports name, the
    ones inside functions too (`from a.b import c` names `a.b`, and `a.b.c` when that is a module)."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPOSITORY / package).rglob("*.py")):
        parts = path.relative_to(REPOSITORY).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                for alias in node.names:
                    candidate = REPOSITORY.joinpath(*node.module.split("."), alias.name)
                    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
                        names.add(f"{node.module}.{alias.name}")
        found[name] = names
    return found

"""A parole installed without the `worker` extra (no spaCy): the commands that analyse say what to install.

The interpreter is the test environment's with spaCy made unimportable (`sys.modules["spacy"] = None`, how
Python itself marks a module as missing); the wheel's metadata is checked in `tests/test_packaging.py`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WITHOUT_SPACY = "import sys; sys.modules['spacy'] = None; from bot.cli.main import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (("worker", "--no-notifier"), ", ou lancez les notifications au personnel seules avec --no-analysis"),
        (("nlp", "analyze", "Julien était charmant"), ""),
        (("reanalyze",), ""),
    ],
)
def test_an_analysing_command_without_spacy_says_what_to_install(
    command: tuple[str, ...], hint: str, redis_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SPACY, *command], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"parole {command[0]}" in done.stderr and "(manque : spacy)" in done.stderr, done.stderr
    assert "pip install 'parole[worker]'" + hint in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr

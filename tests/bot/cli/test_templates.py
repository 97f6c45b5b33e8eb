"""`parole templates …` and `parole flows …` against the real Redis: the command line's `main` in this
process (one real process checks the exit code and standard input)."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.storage.embedded import free_port
from tests.support import RATING_ONLY_FLOW


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def env(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    variables = {"PAROLE_REDIS_URL": redis_url, "PAROLE_BOT_USERNAME": "parole_bot", "PAROLE_DATA_DIR": str(tmp_path)}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return variables


@pytest.fixture
def parole(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Parole:
    return Parole(capsys)


class Parole:
    """`parole ARGS…` in this process; `stdin` is passed as a file (`--file`)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str, stdin: str | None = None) -> Done:
        if stdin is not None:
            path = Path("stdin.txt")
            path.write_text(stdin, encoding="utf-8")
            args = (*args, "--file", str(path))
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        return Done(code, out, err)


@pytest.fixture
def brand(parole: Parole) -> str:
    assert parole("brand", "add", "quick", "--name", "Quick").returncode == 0
    return "quick"


def test_set_reads_standard_input_in_a_real_process(env: dict[str, str], tmp_path: Path, brand: str) -> None:
    command = [sys.executable, "-m", "bot", "templates", "set", "thanks", "--brand", brand]
    run = functools.partial(subprocess.run, command, env={**os.environ, **env}, capture_output=True, text=True)
    refused = run(input="Merci {{ venue_name }", timeout=120)
    assert refused.returncode == 1 and "ligne 1 : erreur de syntaxe" in refused.stderr and refused.stdout == ""
    saved = run(input="Merci {{ venue_name }} !", timeout=120)
    assert saved.returncode == 0 and json.loads(saved.stdout)["version"] == 1, saved.stderr


def test_set_show_history_diff_rollback(parole: Parole, brand: str) -> None:
    where = ("--brand", brand, "--author", "olga")
    first = parole("templates", "set", "greeting", *where, stdin="Salut {{ venue_name }} !\n")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) | {"at": None} == {
        "name": "greeting", "language": "fr", "scope": "quick", "version": 1, "author": "olga",
        "action": "save", "at": None,
    }  # fmt: skip
    second = parole("templates", "set", "greeting", *where, stdin="Hey {{ venue_name }} !")
    assert json.loads(second.stdout)["version"] == 2
    shown = parole("templates", "show", "greeting", "--brand", brand)
    assert shown.stdout == "Hey {{ venue_name }} !\n"
    assert parole("templates", "show", "greeting", "--version", "1", *where).stdout == ("Salut {{ venue_name }} !\n")
    assert "Bonjour et bienvenue" in parole("templates", "show", "greeting").stdout
    diff = parole("templates", "diff", "greeting", "--brand", brand).stdout
    assert "-Salut {{ venue_name }} !\n+Hey {{ venue_name }} !\n" in diff
    back = parole("templates", "rollback", "greeting", "--to", "1", *where)
    assert json.loads(back.stdout)["from_version"] == 1
    history = parole("templates", "history", "greeting", "--brand", brand).stdout
    assert [json.loads(line)["action"] for line in history.splitlines()] == ["save", "save", "rollback"]
    listed = parole("templates", "list", "--brand", brand, "--language", "fr").stdout
    entries = {json.loads(line)["name"]: json.loads(line) for line in listed.splitlines()}
    assert (entries["greeting"]["origin"], entries["greeting"]["version"]) == ("quick", 3)
    assert entries["thanks"]["origin"] == "default"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("templates", "set", "greeting"), "{{ ''.__class__.__mro__ }}", "refusé par le bac à sable"),
        (("templates", "set", "greeting"), "Bonjour {{ venue_name }", "ligne 1 : erreur de syntaxe"),
        (("templates", "set", "greeting"), "Bonjour {{ phone }}", "« phone », que le catalogue ne déclare pas"),
        (("templates", "set", "greeting", "--expected", "3"), "Salut {{ venue_name }}", "en est à la version 0, pas 3"),
        (("templates", "set", "farewell"), "Salut", "le modèle « farewell » n'existe pas"),
        (
            ("templates", "set", "greeting", "--language", "de"),
            "Hallo",
            "la langue « de » n'est pas disponible ; au choix : fr, en",
        ),
        (("templates", "set", "greeting", "--brand", "nobody"), "Salut", "la marque « nobody » n'existe pas"),
        (("templates", "set", "greeting", "--venue", "massy"), "Salut", "a besoin de sa marque (--brand)"),
        (("templates", "rollback", "greeting", "--to", "4"), None, "la version « 4, template:greeting:fr"),
        (("templates", "show"), None, "a besoin d'un nom de modèle"),
        (("templates", "diff", "greeting", "--to", "9"), None, "la version 9 n'existe pas"),
        (
            ("flows", "set"),
            RATING_ONLY_FLOW.replace("next: thanks", "next: nowhere"),
            "ligne 8 : étape inconnue « nowhere »",
        ),
        (
            ("flows", "import", "--dir", "/nonexistent"),
            None,
            "impossible de lire /nonexistent/flow.yaml : fichier introuvable",
        ),
    ],
)
def test_bad_input_exits_non_zero_with_the_reason_and_changes_nothing(
    parole: Parole,
    brand: str,
    args: tuple[str, ...],
    stdin: str | None,
    message: str,
) -> None:
    done = parole(*args, stdin=stdin)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert done.stdout == ""
    history = parole("templates", "history", "greeting")
    assert history.returncode == 0 and history.stdout == ""
    assert "version" not in parole("flows", "list").stdout.replace('"version": "default"', "")


def test_flows_and_export_import(parole: Parole, tmp_path: Path, brand: str) -> None:
    saved = parole("flows", "set", "--brand", brand, stdin=RATING_ONLY_FLOW)
    assert saved.returncode == 0, saved.stderr
    listed = [json.loads(line) for line in parole("flows", "list").stdout.splitlines()]
    assert listed == [
        {"scope": "global", "flow": "default", "version": "default"},
        {"scope": "quick", "flow": "short", "version": "quick@1"},
    ]
    out = tmp_path / "export"
    assert parole("templates", "export", "--brand", brand, "--dir", str(out)).returncode == 0
    assert (out / "fr" / "greeting.j2").read_text(encoding="utf-8").startswith("Bonjour et bienvenue")
    (out / "en" / "thanks.j2").write_text("Thanks, {{ venue_name }}!\n", encoding="utf-8")
    (out / "fr" / "thanks.j2").write_text("Merci {{ venue_name }} &\n", encoding="utf-8")  # bare &: refused
    refused = parole("templates", "import", "--brand", brand, "--dir", str(out))
    assert refused.returncode == 1, refused.stderr
    assert f"{out / 'fr' / 'thanks.j2'}:1 : un « & » seul doit s'écrire &amp;" in refused.stderr, refused.stderr
    assert "Thanks" not in parole("templates", "show", "thanks", "--language", "en").stdout
    (out / "fr" / "thanks.j2").write_text("Merci {{ venue_name }} !\n", encoding="utf-8")
    imported = parole("templates", "import", "--brand", brand, "--dir", str(out))
    assert imported.returncode == 0, imported.stderr
    assert [json.loads(line)["name"] for line in imported.stdout.splitlines()] == ["thanks", "thanks"]
    assert parole("flows", "export", "--brand", brand, "--dir", str(out)).returncode == 0
    assert (out / "flow.yaml").read_text(encoding="utf-8") == RATING_ONLY_FLOW
    (out / "flow.yaml").write_text(RATING_ONLY_FLOW.replace("next: thanks", "next: nowhere"), encoding="utf-8")
    refused = parole("flows", "import", "--brand", brand, "--dir", str(out))
    assert f"{out / 'flow.yaml'}:8 : étape inconnue « nowhere »" in refused.stderr, refused.stderr
    back = parole("flows", "rollback", "--brand", brand, "--to", "0")
    assert json.loads(back.stdout)["action"] == "reset"
    assert parole("flows", "show", "--brand", brand).stdout.startswith("# The default")


def test_web_login_link_opens_a_session_once(parole: Parole, brand: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAROLE_WEB_URL", "https://admin.example/")
    done = parole("web", "login-link", "--brand", brand, "--user", "Bruno Q")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"https://admin\.example/login/[A-Za-z0-9_-]{20,64}\n", done.stdout)
    refused = parole("web", "login-link", "--brand", "nobody")
    assert refused.returncode == 1 and "la marque « nobody » n'existe pas" in refused.stderr and refused.stdout == ""
    bad_port = parole("web", "--port", "70000")
    assert bad_port.returncode == 1 and "--port doit être entre 1 et 65535" in bad_port.stderr
    monkeypatch.setenv("PAROLE_WEB_URL", "ftp://admin.example")
    bad_url = parole("web", "login-link")
    assert (
        bad_url.returncode == 1
        and "PAROLE_WEB_URL doit être une URL commençant par http:// ou https://" in bad_url.stderr
    )


def test_parole_web_serves_the_admin(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "bot", "web", "--port", str(port)]
    with subprocess.Popen(command, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True) as server:
        try:
            link = subprocess.run(
                [sys.executable, "-m", "bot", "web", "login-link"],
                env={**os.environ, **env, "PAROLE_WEB_URL": f"http://127.0.0.1:{port}"},
                capture_output=True, text=True, timeout=120, check=True,
            ).stdout.strip()  # fmt: skip
            assert 'id="login"' in _get_when_up(link)
        finally:
            server.send_signal(signal.SIGTERM)
            _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors


def _get_when_up(url: str) -> str:
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except urllib.error.URLError:
            time.sleep(0.1)
    raise AssertionError(f"parole web never answered at {url}")

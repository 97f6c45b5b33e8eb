"""The layout's rules, as tests: storage at the bottom, the seam above it, the domain packages above that,
the channels, the web admin and the command line at the edge; no package imports one above it, and no
runtime module loads the emulator (a test double) or spaCy where it has no business.

The rules read the source (every absolute import, those inside functions too) and, for what a process
loads, a fresh interpreter (`tests.boundaries`)."""

from __future__ import annotations

import graphlib

from tests.boundaries import imports_by_module, modules_loaded_by, top_level

IMPORTS = imports_by_module("bot")
#: Where a package may be imported from: it may import only packages listed before it (and itself).
LAYERS = (
    ("bot.errors", "bot.config", "bot.formats", "bot.labels", "bot.refusals"),  # words and numbers by locale
    ("bot.storage",),
    ("bot.ops", "bot.seam", "bot.botapi"),
    ("bot.health",),  # /healthz and /metrics of the worker and the web admin, on bot.ops
    ("bot.editing",),
    ("bot.staff",),
    ("bot.customers",),
    ("bot.analysis", "bot.insights"),
    ("bot.conversations",),
    ("bot.channels",),
    ("bot.web",),
    ("bot.app",),
    ("bot.cli",),
)
DOMAIN = (
    "bot.storage",
    "bot.seam",
    "bot.conversations",
    "bot.customers",
    "bot.staff",
    "bot.editing",
    "bot.analysis",
    "bot.insights",
)
EDGE = ("bot.channels", "bot.web", "bot.cli", "bot.app")


def _package(module: str) -> str:
    """The `bot` subpackage (or top-level module) a module belongs to: `bot.staff.relay` -> `bot.staff`."""
    return ".".join(module.split(".")[:2])


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _offences(modules: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in IMPORTS.items()
        if _within(module, modules)
        for name in names
        if _within(name, forbidden)
    )


def test_every_module_is_in_a_layer() -> None:
    placed = tuple(p for layer in LAYERS for p in layer)
    assert [m for m in IMPORTS if m not in ("bot", "bot.__main__") and not _within(m, placed)] == []


def test_storage_imports_no_telegram_and_no_other_package_of_bot() -> None:
    storage = {m: names for m, names in IMPORTS.items() if _within(m, ("bot.storage",))}
    assert len(storage) >= 8
    assert [
        f"{m} imports {n}" for m, names in storage.items() for n in names if top_level([n], frozenset({"telegram"}))
    ] == []
    others = sorted(
        f"{m} imports {n}"
        for m, names in storage.items()
        for n in names
        if n.startswith("bot.") and not _within(n, ("bot.storage", "bot.errors"))
    )
    assert others == []


def test_only_the_edge_imports_the_whatsapp_channel() -> None:
    assert _offences((*DOMAIN, "bot.botapi", "bot.channels.telegram"), ("bot.channels.whatsapp",)) == []


def test_the_domain_never_imports_a_channel_the_web_the_command_line_or_the_composition_root() -> None:
    assert _offences((*DOMAIN, "bot.botapi"), EDGE) == []


def test_no_package_imports_one_above_it() -> None:
    rank = {package: n for n, layer in enumerate(LAYERS) for package in layer}
    upward = sorted(
        f"{module} imports {name}"
        for module, names in IMPORTS.items()
        if _package(module) in rank
        for name in names
        if name.startswith("bot.") and _package(name) in rank and rank[_package(name)] > rank[_package(module)]
    )
    assert upward == []


def test_the_packages_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for module, names in IMPORTS.items():
        graph.setdefault(_package(module), set()).update(
            _package(n) for n in names if n.startswith("bot.") and _package(n) != _package(module)
        )
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError, naming the cycle


def test_only_the_demo_and_the_shell_import_the_emulators() -> None:
    for emulator in ("emulator", "whatsapp_emulator"):
        users = sorted(m for m, names in IMPORTS.items() if top_level(names, frozenset({emulator})))
        assert set(users) <= {"bot.cli.demo", "bot.cli.demo_whatsapp", "bot.cli.shell"}, emulator


def test_parole_serve_loads_neither_the_emulator_nor_spacy() -> None:
    loaded = modules_loaded_by(["bot.cli.main", "bot.cli.serve", "bot.app"])
    assert "bot.cli.serve" in loaded and "bot.channels.telegram.webhook" in loaded
    assert "bot.channels.whatsapp.webhook" in loaded
    assert top_level(loaded, frozenset({"emulator", "whatsapp_emulator", "spacy", "thinc"})) == []


def test_the_demo_does_load_the_emulator() -> None:
    """The check above would pass vacuously if importing could never reach the emulator."""
    assert "emulator.server" in modules_loaded_by(["bot.cli.demo"])

"""The process that answers Telegram never imports spaCy: analysis happens in workers, which load
`nlp.Analyzer` themselves."""

from __future__ import annotations

from tests.boundaries import modules_loaded_by, package_modules, top_level


def test_no_module_of_bot_imports_spacy() -> None:
    modules = package_modules("bot")
    answering = {"bot.cli.serve", "bot.conversations.chat", "bot.channels.telegram.staff_room", "bot.staff.notifier"}
    assert answering | {"bot.analysis.worker"} <= set(modules)
    loaded = modules_loaded_by(modules)
    assert "bot.cli.serve" in loaded and "emulator.server" in loaded
    assert top_level(loaded, frozenset({"spacy", "thinc", "numpy"})) == []

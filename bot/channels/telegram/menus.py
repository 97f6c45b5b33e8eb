"""The command menus Telegram shows beside the message box: customers' commands in private chats, the staff's
in groups, each in French by default and in English for English speakers (setMyCommands per scope and
language). The words are in `templates/bot/menus.yaml`."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

from dialogs.catalog import FALLBACK_LANGUAGE, default_templates_dir

__all__ = ["register_menus"]

log = logging.getLogger(__name__)

_SCOPES = {"private": BotCommandScopeAllPrivateChats(), "groups": BotCommandScopeAllGroupChats()}


async def register_menus(bot: Bot, path: Path | None = None) -> None:
    """Register every menu of `menus.yaml`; a refusal is logged, the bot runs on without its menus."""
    menus = yaml.safe_load((path or default_templates_dir() / "bot" / "menus.yaml").read_text(encoding="utf-8"))
    for scope_name, scope in _SCOPES.items():
        for language, commands in (menus.get(scope_name) or {}).items():
            listed = [BotCommand(str(name), str(text)) for name, text in commands.items()]
            code = None if language == FALLBACK_LANGUAGE else str(language)  # French: the menu of any language
            try:
                await bot.set_my_commands(listed, scope=scope, language_code=code)
            except TelegramError as exc:
                log.warning("the %s command menu (%s) was refused: %s", scope_name, language, exc)

"""The command menus Telegram shows beside the message box: customers' commands in private chats, the staff's
in groups, and in each operator's private chat the customers' and the admin commands; each in French by
default and in English for English speakers (setMyCommands per scope and language). The words are in
`templates/bot/menus.yaml`."""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from dialogs.catalog import FALLBACK_LANGUAGE, default_templates_dir

__all__ = ["register_menus"]

log = logging.getLogger(__name__)

_SCOPES = {"private": BotCommandScopeAllPrivateChats(), "groups": BotCommandScopeAllGroupChats()}


async def register_menus(bot: Bot, path: Path | None = None, *, operators: Collection[int] = ()) -> None:
    """Register every menu of `menus.yaml`, and each operator's (`PAROLE_ADMIN_IDS`) in their private chat with the
    bot; a refusal is logged (an operator who never started the bot has no chat yet), the bot runs on."""
    menus = yaml.safe_load((path or default_templates_dir() / "bot" / "menus.yaml").read_text(encoding="utf-8"))
    for scope_name, scope in _SCOPES.items():
        await _register(bot, scope_name, scope, menus.get(scope_name) or {})
    private, admin = menus.get("private") or {}, menus.get("operators") or {}
    # A chat's own menu replaces the private chats' one there: the operator keeps the customers' commands too.
    both = {language: {**(private.get(language) or {}), **commands} for language, commands in admin.items()}
    for user_id in sorted(operators):
        await _register(bot, f"operator {user_id}", BotCommandScopeChat(user_id), both)


async def _register(bot: Bot, scope_name: str, scope: BotCommandScope, menu: dict[str, Any]) -> None:
    for language, commands in menu.items():
        listed = [BotCommand(str(name), str(text)) for name, text in commands.items()]
        code = None if language == FALLBACK_LANGUAGE else str(language)  # French: the menu of any language
        try:
            await bot.set_my_commands(listed, scope=scope, language_code=code)
        except TelegramError as exc:
            log.warning("the %s command menu (%s) was refused: %s", scope_name, language, exc)

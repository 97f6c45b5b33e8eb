"""The command menus the bot registers at start (setMyCommands): customers' in private chats, staff's in groups,
French by default and English for English speakers."""

from __future__ import annotations

from telegram import BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, BotCommandScopeDefault

from bot.cli.serve import RunningBot
from bot.staff.commands import STAFF_COMMANDS, STAFF_HELP_COMMANDS


async def test_menus_per_scope_and_language(bot: RunningBot) -> None:
    telegram = bot.application.bot
    private = {c.command: c.description for c in await telegram.get_my_commands(BotCommandScopeAllPrivateChats())}
    assert list(private)[:3] == ["start", "help", "cancel"] and private["cancel"] == "Annuler l'avis en cours"
    assert {"mydata", "forget", "language", "stopnews"} <= set(private) and "reply" not in private
    english = await telegram.get_my_commands(BotCommandScopeAllPrivateChats(), language_code="en")
    assert english[0].description == "Give feedback (or scan the QR code)"
    groups = {c.command for c in await telegram.get_my_commands(BotCommandScopeAllGroupChats())}
    assert groups == STAFF_COMMANDS | STAFF_HELP_COMMANDS - {"start"}  # each one the staff room answers
    assert await telegram.get_my_commands(BotCommandScopeDefault()) == ()  # nothing beyond the two scopes

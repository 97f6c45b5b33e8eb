"""The command menus the bot registers at start (setMyCommands): customers' in private chats, staff's in groups,
operators' in their own private chats, French by default and English for English speakers."""

from __future__ import annotations

import pytest
from telegram import (
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.cli.serve import RunningBot, running_bot
from bot.config import Settings
from bot.staff.commands import ADMIN_COMMANDS, STAFF_COMMANDS, STAFF_HELP_COMMANDS
from emulator import BotApiEmulator
from tests.conftest import with_settings
from tests.support import Clock


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


async def test_operators_get_their_commands_in_their_private_chat(
    settings: Settings, clock: Clock, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    olga, nadia = emulator.add_user("Olga"), emulator.add_user("Nadia")
    emulator.open_private_chat(olga)  # Olga started the bot; Nadia never did: Telegram knows no chat of hers
    settings = with_settings(settings, admin_ids=frozenset({olga.id, nadia.id}))
    async with running_bot(settings, listen=None, clock=clock) as running:
        telegram = running.application.bot
        mine = {c.command: c.description for c in await telegram.get_my_commands(BotCommandScopeChat(olga.id))}
        assert set(mine) >= ADMIN_COMMANDS  # each one the admin chat answers
        assert {"start", "help", "cancel", "mydata"} <= set(mine)  # her chat's menu replaces the customers' there
        assert mine["weblogin"] == "Un lien de connexion à l'administration web"
        english = await telegram.get_my_commands(BotCommandScopeChat(olga.id), language_code="en")
        assert {c.command for c in english} == set(mine)
        customers = {c.command for c in await telegram.get_my_commands(BotCommandScopeAllPrivateChats())}
        assert not ADMIN_COMMANDS & customers
    refused = [r.getMessage() for r in caplog.records if f"operator {nadia.id}" in r.getMessage()]
    assert refused and "Chat not found" in refused[0]  # logged, and the bot ran on

"""The bot itself: getMe and its command lists (per scope and language)."""

from __future__ import annotations

import json
import re

from emulator.errors import bad_request
from emulator.methods.context import JsonDict, MethodContext, Params, chat_for_reading

MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})


def _key(params: Params) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


async def get_me(ctx: MethodContext, params: Params) -> JsonDict:
    return ctx.world.bot_json(full=True)


async def set_my_commands(ctx: MethodContext, params: Params) -> bool:
    commands: list[JsonDict] = params["commands"]
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands specified")
    for command in commands:
        if not _COMMAND.fullmatch(command["command"]):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"].strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    scope = params.get("scope") or {}
    if scope.get("type") in _CHAT_SCOPES:
        chat_for_reading(ctx.world, scope.get("chat_id", 0))  # a chat the bot does not know: "chat not found"
    language = str(params.get("language_code") or "")
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("LANG_CODE_INVALID")
    if commands:
        ctx.world.commands[_key(params)] = [dict(c) for c in commands]
    else:
        ctx.world.commands.pop(_key(params), None)
    return True


async def get_my_commands(ctx: MethodContext, params: Params) -> list[JsonDict]:
    return [dict(c) for c in ctx.world.commands.get(_key(params), [])]


async def delete_my_commands(ctx: MethodContext, params: Params) -> bool:
    ctx.world.commands.pop(_key(params), None)
    return True

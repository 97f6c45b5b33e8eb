"""What the bot can learn about chats: the chat itself, one member, the administrators."""

from __future__ import annotations

from emulator.errors import bad_request
from emulator.methods.context import JsonDict, MethodContext, Params, chat_for_reading
from emulator.records import ChatType


async def get_chat(ctx: MethodContext, params: Params) -> JsonDict:
    return ctx.world.chat_full_info(chat_for_reading(ctx.world, params["chat_id"]))


async def get_chat_member(ctx: MethodContext, params: Params) -> JsonDict:
    chat = chat_for_reading(ctx.world, params["chat_id"])
    user_id = params["user_id"]
    if ctx.world.user_json(user_id) is None:
        raise bad_request("user not found")
    return ctx.world.member_json(chat.id, user_id)


async def get_chat_administrators(ctx: MethodContext, params: Params) -> list[JsonDict]:
    chat = chat_for_reading(ctx.world, params["chat_id"])
    if chat.type is ChatType.PRIVATE:
        raise bad_request("there are no administrators in the private chat")
    return [ctx.world.member_json(chat.id, user_id) for user_id in ctx.world.administrators(chat.id)]

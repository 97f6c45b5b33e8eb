"""Answering the callback queries that button presses create."""

from __future__ import annotations

from emulator.errors import bad_request
from emulator.methods.context import MethodContext, Params

MAX_ANSWER_LENGTH = 200
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(ctx: MethodContext, params: Params) -> bool:
    if len(params.get("text") or "") > MAX_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    if not ctx.world.answer_callback_query(params["callback_query_id"]):
        raise bad_request(QUERY_INVALID)
    return True

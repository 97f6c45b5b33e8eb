"""Sending, forwarding, copying, editing and deleting messages."""

from __future__ import annotations

from dialogs.telegram_html import FormattedText
from emulator.errors import bad_request
from emulator.keyboards import check_reply_markup
from emulator.media import check_photo_upload, file_ids, photo_sizes, uploaded_photo_sizes
from emulator.methods.context import (
    JsonDict,
    MethodContext,
    Params,
    chat_for_reading,
    chat_for_sending,
    check_thread,
    formatted_text,
    reply_target,
)
from emulator.records import ChatType, MemberStatus, MessageKind, RecordedMessage, UploadedFile
from emulator.world import World

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def _extras(params: Params) -> JsonDict:
    return {"has_protected_content": True} if params.get("protect_content") else {}


async def send_message(ctx: MethodContext, params: Params) -> JsonDict:
    chat = chat_for_sending(ctx.world, params["chat_id"])
    check_thread(chat, params)
    text = formatted_text(ctx.world, params["text"], params.get("parse_mode"), params.get("entities"))
    markup = params.get("reply_markup")
    check_reply_markup(markup)
    message = ctx.world.record(
        chat.id,
        sender_id=ctx.world.bot_id,
        kind=MessageKind.TEXT,
        text=text.text,
        html=params["text"],
        entities=text.entities,
        reply_markup=markup,
        reply_to_message_id=reply_target(ctx.world, chat, params),
        payload=_extras(params),
    )
    return ctx.world.message_json(message)


def _file_payload(world: World, kind: MessageKind, source: object, number: int) -> JsonDict:
    if isinstance(source, str) and not source.strip():
        raise bad_request("wrong file identifier/HTTP URL specified")
    if kind is MessageKind.PHOTO and isinstance(source, str) and "://" not in source:
        sizes = world.photo_with(source)  # a file_id: one of a photo Telegram has, the same file sent again
        if sizes is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return {"photo": sizes}
    if kind is MessageKind.PHOTO and isinstance(source, UploadedFile):
        check_photo_upload(source)
        return {"photo": uploaded_photo_sizes(number, source)}
    if kind is MessageKind.PHOTO:  # an HTTP URL: Telegram fetches it (not emulated: any photo)
        return {"photo": photo_sizes(number)}
    name = source.filename if isinstance(source, UploadedFile) and source.filename else None
    if name is None and isinstance(source, str) and "://" in source:
        name = source.rstrip("/").rsplit("/", 1)[-1] or None
    document: JsonDict = {**file_ids("document", number), "file_name": name or "document"}
    if isinstance(source, UploadedFile):
        document["mime_type"] = source.content_type or "application/octet-stream"
        document["file_size"] = source.size
    return {"document": document}


async def _send_file(ctx: MethodContext, params: Params, kind: MessageKind, field: str) -> JsonDict:
    chat = chat_for_sending(ctx.world, params["chat_id"])
    check_thread(chat, params)
    caption = FormattedText("")
    if params.get("caption"):
        caption = formatted_text(
            ctx.world,
            params["caption"],
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
    markup = params.get("reply_markup")
    check_reply_markup(markup)
    message = ctx.world.record(
        chat.id,
        sender_id=ctx.world.bot_id,
        kind=kind,
        text=caption.text,
        html=params.get("caption"),
        entities=caption.entities,
        reply_markup=markup,
        reply_to_message_id=reply_target(ctx.world, chat, params),
        payload={**_file_payload(ctx.world, kind, params[field], ctx.world.next_file_number()), **_extras(params)},
    )
    return ctx.world.message_json(message)


async def send_photo(ctx: MethodContext, params: Params) -> JsonDict:
    return await _send_file(ctx, params, MessageKind.PHOTO, "photo")


async def send_document(ctx: MethodContext, params: Params) -> JsonDict:
    return await _send_file(ctx, params, MessageKind.DOCUMENT, "document")


def _source_message(ctx: MethodContext, params: Params, verb: str) -> RecordedMessage:
    source_chat = chat_for_reading(ctx.world, params["from_chat_id"])
    message = ctx.world.message(source_chat.id, params["message_id"])
    if message is None:
        raise bad_request(f"message to {verb} not found")
    return message


async def forward_message(ctx: MethodContext, params: Params) -> JsonDict:
    chat = chat_for_sending(ctx.world, params["chat_id"])
    check_thread(chat, params)
    original = _source_message(ctx, params, "forward")
    origin = {"type": "user", "date": original.date, "sender_user": ctx.world.user_json(original.sender_id)}
    message = ctx.world.record(
        chat.id,
        sender_id=ctx.world.bot_id,
        kind=original.kind,
        text=original.text,
        entities=original.entities,
        payload={**original.payload, "forward_origin": origin, **_extras(params)},
    )
    return ctx.world.message_json(message)


async def copy_message(ctx: MethodContext, params: Params) -> JsonDict:
    chat = chat_for_sending(ctx.world, params["chat_id"])
    check_thread(chat, params)
    original = _source_message(ctx, params, "copy")
    text = FormattedText(original.text, original.entities)
    if original.kind is not MessageKind.TEXT and "caption" in params:
        text = formatted_text(
            ctx.world,
            params["caption"],
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
    markup = params.get("reply_markup")
    check_reply_markup(markup)
    message = ctx.world.record(
        chat.id,
        sender_id=ctx.world.bot_id,
        kind=original.kind,
        text=text.text,
        entities=text.entities,
        reply_markup=markup,
        reply_to_message_id=reply_target(ctx.world, chat, params),
        payload={**original.payload, **_extras(params)},
    )
    return {"message_id": message.message_id}


def _bot_message_to_edit(ctx: MethodContext, params: Params) -> RecordedMessage:
    if params.get("inline_message_id") is not None:
        raise bad_request("inline messages are not supported by the emulator")
    if params.get("chat_id") is None:
        raise bad_request("chat_id is empty")
    if params.get("message_id") is None:
        raise bad_request("message identifier is not specified")
    chat = chat_for_sending(ctx.world, params["chat_id"])
    message = ctx.world.message(chat.id, params["message_id"])
    if message is None:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _apply_edit(
    ctx: MethodContext,
    message: RecordedMessage,
    text: FormattedText,
    html: str | None,
    markup: JsonDict | None,
) -> JsonDict:
    check_reply_markup(markup)
    if (text.text, text.entities, markup) == (message.text, message.entities, message.reply_markup):
        raise bad_request(NOT_MODIFIED)
    message.text, message.entities, message.html = text.text, text.entities, html
    message.reply_markup = markup  # an edit without reply_markup removes the inline keyboard
    message.edit_date = ctx.world.now()
    return ctx.world.message_json(message)


async def edit_message_text(ctx: MethodContext, params: Params) -> JsonDict:
    message = _bot_message_to_edit(ctx, params)
    if message.kind is not MessageKind.TEXT:
        raise bad_request("there is no text in the message to edit")
    raw = params.get("text", "")
    text = formatted_text(ctx.world, raw, params.get("parse_mode"), params.get("entities"))
    return _apply_edit(ctx, message, text, raw, params.get("reply_markup"))


async def edit_message_caption(ctx: MethodContext, params: Params) -> JsonDict:
    message = _bot_message_to_edit(ctx, params)
    if message.kind is MessageKind.TEXT:
        raise bad_request("there is no caption in the message to edit")
    raw = params.get("caption", "")
    text = formatted_text(ctx.world, raw, params.get("parse_mode"), params.get("caption_entities"), caption=True)
    return _apply_edit(ctx, message, text, raw or None, params.get("reply_markup"))


async def edit_message_reply_markup(ctx: MethodContext, params: Params) -> JsonDict:
    message = _bot_message_to_edit(ctx, params)
    current = FormattedText(message.text, message.entities)
    return _apply_edit(ctx, message, current, message.html, params.get("reply_markup"))


async def delete_message(ctx: MethodContext, params: Params) -> bool:
    chat = chat_for_reading(ctx.world, params["chat_id"])
    message = ctx.world.message(chat.id, params["message_id"])
    if message is None:
        raise bad_request("message to delete not found")
    bot_is_admin = ctx.world.status(chat.id, ctx.world.bot_id) is MemberStatus.ADMINISTRATOR
    if not message.from_bot and chat.type is not ChatType.PRIVATE and not bot_is_admin:
        raise bad_request("message can't be deleted")
    message.deleted = True
    return True

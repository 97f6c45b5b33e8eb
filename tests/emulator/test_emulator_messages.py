"""The bot's messages through python-telegram-bot: sending, editing, deleting, with Telegram's errors."""

from __future__ import annotations

import hashlib

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.error import BadRequest, Forbidden

from emulator import BotApiEmulator, EmulatedUser, MessageKind, UploadedFile
from whatsapp_emulator.media import image as picture

RATING = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton(f"{n}★", callback_data=f"rate:{n}") for n in (1, 2, 3)],
        [InlineKeyboardButton("Site", url="https://parole.example/help")],
    ]
)


async def started(emulator: BotApiEmulator, name: str = "Camille") -> EmulatedUser:
    """A user who opened the private chat with /start."""
    user = emulator.add_user(name)
    await emulator.send_text(user, "/start")
    return user


async def test_send_html_with_a_keyboard(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    sent = await tg.send_message(
        user.id, "<b>Merci</b> Camille 🙏, votre avis ?", parse_mode="HTML", reply_markup=RATING
    )
    assert sent.text == "Merci Camille 🙏, votre avis ?"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 5
    assert sent.reply_markup == RATING
    assert sent.from_user is not None and sent.from_user.username == emulator.bot_username
    recorded = emulator.bot_messages(user.id)[-1]
    assert (recorded.message_id, recorded.kind, recorded.from_bot) == (
        sent.message_id,
        MessageKind.TEXT,
        True,
    )
    assert recorded.html == "<b>Merci</b> Camille 🙏, votre avis ?"
    assert recorded.buttons() == [
        [("1★", "rate:1"), ("2★", "rate:2"), ("3★", "rate:3")],
        [("Site", "https://parole.example/help")],
    ]
    assert [m.from_bot for m in emulator.chat_messages(user.id)] == [False, True]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>Merci", "Can't parse entities: can't find end tag corresponding to start tag \"b\""),
        ("Note < 3", 'Can\'t parse entities: unsupported start tag "" at byte offset 5'),
        ("<b> </b>", "Message text is empty"),
        ("x" * 4097, "Message is too long"),
        ("😀" * 2049, "Message is too long"),  # 4098 UTF-16 code units
    ],
)
async def test_texts_telegram_refuses(emulator: BotApiEmulator, tg: Bot, text: str, error: str) -> None:
    user = await started(emulator)
    with pytest.raises(BadRequest) as refused:
        await tg.send_message(user.id, text, parse_mode="HTML")
    assert refused.value.message == error  # PTB capitalises the text after "Bad Request: "
    assert emulator.bot_messages(user.id) == []


async def test_the_longest_text_is_4096_characters(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    assert (await tg.send_message(user.id, "x" * 4096)).text == "x" * 4096


@pytest.mark.parametrize(
    ("button", "error"),
    [
        (InlineKeyboardButton("Too long", callback_data="x" * 65), "Button_data_invalid"),
        (InlineKeyboardButton("Wide", callback_data="é" * 33), "Button_data_invalid"),
        (InlineKeyboardButton(" ", callback_data="ok"), "Button_text_invalid"),
        (
            InlineKeyboardButton("Bad url", url="not a url"),
            "Inline keyboard button url 'not a url' is invalid",
        ),
    ],
)
async def test_keyboards_telegram_refuses(
    emulator: BotApiEmulator, tg: Bot, button: InlineKeyboardButton, error: str
) -> None:
    user = await started(emulator)
    with pytest.raises(BadRequest, match=error):
        await tg.send_message(user.id, "Choose", reply_markup=InlineKeyboardMarkup([[button]]))


async def test_edit_text_and_keyboard(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    sent = await tg.send_message(user.id, "Votre note ?", reply_markup=RATING)
    edited = await tg.edit_message_text("Merci !", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, type(sent)) and edited.text == "Merci !" and edited.edit_date is not None
    recorded = emulator.bot_messages(user.id)[-1]
    assert recorded.text == "Merci !" and recorded.reply_markup is None, "an edit without markup drops it"
    with pytest.raises(BadRequest, match="Message is not modified: specified new message content"):
        await tg.edit_message_text("Merci !", chat_id=user.id, message_id=sent.message_id)
    await tg.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id, reply_markup=RATING)
    assert emulator.bot_messages(user.id)[-1].buttons()[0][0] == ("1★", "rate:1")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await tg.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id, reply_markup=RATING)


async def test_edits_of_missing_or_foreign_messages(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await tg.edit_message_text("x", chat_id=user.id, message_id=99)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await tg.edit_message_text("x", chat_id=user.id, message_id=1)  # the user's /start
    sent = await tg.send_message(user.id, "bye")
    assert await tg.delete_message(user.id, sent.message_id)
    assert emulator.chat_messages(user.id)[-1].deleted
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await tg.edit_message_text("x", chat_id=user.id, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await tg.delete_message(user.id, sent.message_id)


async def test_replies_forwards_copies_and_files(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    reply = await tg.send_message(user.id, "Bien reçu", reply_parameters=ReplyParameters(1))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "/start"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await tg.send_message(user.id, "?", reply_parameters=ReplyParameters(42))
    staff = emulator.add_group("Staff", members=[user])
    forwarded = await tg.forward_message(staff.id, user.id, 1)
    assert forwarded.forward_origin is not None and forwarded.text == "/start"
    copied = await tg.copy_message(staff.id, user.id, reply.message_id)
    assert emulator.chat_messages(staff.id)[copied.message_id - 1].text == "Bien reçu"
    photo = await tg.send_photo(user.id, picture("PNG"), caption="<i>QR</i>", parse_mode="HTML")
    assert photo.photo and photo.caption == "QR"
    document = await tg.send_document(staff.id, b"a;b\n", filename="export.csv")
    assert document.document is not None and document.document.file_name == "export.csv"
    assert [m.kind for m in emulator.bot_messages(staff.id)] == ["text", "text", "document"]


async def test_a_photo_sent_again_by_its_file_id(emulator: BotApiEmulator, tg: Bot) -> None:
    """A file_id Telegram knows sends that same photo again (its sizes); one it does not know is refused."""
    user = await started(emulator)
    await emulator.send_media(user, "photo")
    sizes = emulator.chat_messages(user.id)[-1].payload["photo"]
    staff = emulator.add_group("Staff", members=[user])
    again = await tg.send_photo(staff.id, sizes[-1]["file_id"], caption="📷 Client")
    assert [p.file_unique_id for p in again.photo] == [s["file_unique_id"] for s in sizes]
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await tg.send_photo(staff.id, "EMU-photo1280-999999")


async def test_a_photo_uploaded_is_checked_as_telegram_does(emulator: BotApiEmulator, tg: Bot) -> None:
    """An uploaded photo (multipart) is kept as sizes of its own dimensions, the call records its SHA-256; over
    10 MB, not an image, or of dimensions Telegram does not take, it is refused with Telegram's words."""
    user = await started(emulator)
    content = picture("JPEG", (2000, 1500))
    sent = await tg.send_photo(user.id, InputFile(content, filename="porte.jpg"), caption="📷 Client")
    assert [(size.width, size.height) for size in sent.photo] == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    upload = emulator.calls_to("sendPhoto")[-1].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.image == ("JPEG", 2000, 1500)
    assert upload.sha256 == hashlib.sha256(content).hexdigest() and upload.size == len(content)
    small = await tg.send_photo(user.id, picture("PNG", (40, 30)))
    assert [(size.width, size.height) for size in small.photo] == [(40, 30)]
    ten_mb = 10 * 1024 * 1024
    just = await tg.send_photo(user.id, content + bytes(ten_mb - len(content)))  # trailing bytes: still a JPEG
    assert just.photo
    with pytest.raises(BadRequest, match="Photo_save_file_invalid"):
        await tg.send_photo(user.id, content + bytes(ten_mb - len(content) + 1))
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await tg.send_photo(user.id, b"%PDF-1.4 not a photo")
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await tg.send_photo(user.id, picture("PNG", (2100, 100)))  # a ratio of 21
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await tg.send_photo(user.id, picture("PNG", (5000, 5001)))
    assert [m.kind for m in emulator.bot_messages(user.id)][-3:] == ["photo", "photo", "photo"]


async def test_who_the_bot_cannot_write_to(emulator: BotApiEmulator, tg: Bot) -> None:
    stranger = emulator.add_user("Stranger")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await tg.send_message(stranger.id, "Hello")
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.send_message(424242, "Hello")
    user = await started(emulator)
    emulator.block_bot(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await tg.send_message(user.id, "Hello")
    emulator.unblock_bot(user)
    await tg.send_message(user.id, "Hello again")
    boss = emulator.add_user("Boss")
    staff = emulator.add_group("Staff", admins=[boss])
    await tg.send_message(staff.id, "Nouvel avis")
    removal = await emulator.remove_bot(staff, by=boss)
    assert removal.update["my_chat_member"]["new_chat_member"]["status"] == "left"
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await tg.send_message(staff.id, "Nouvel avis")
    basic = emulator.add_group("Old", admins=[boss], supergroup=False)
    await emulator.remove_bot(basic, by=boss)
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await tg.send_message(basic.id, "x")


async def test_members_and_administrators(emulator: BotApiEmulator, tg: Bot) -> None:
    owner, admin, member, outsider = (emulator.add_user(n) for n in ("Owner", "Admin", "Member", "Outsider"))
    staff = emulator.add_group("Staff", members=[member], admins=[owner, admin])
    statuses = {
        u.first_name: (await tg.get_chat_member(staff.id, u.id)).status for u in (owner, admin, member, outsider)
    }
    assert statuses == {"Owner": "creator", "Admin": "administrator", "Member": "member", "Outsider": "left"}
    assert (await tg.get_chat_member(staff.id, emulator.bot_id)).status == "member"
    admins = await tg.get_chat_administrators(staff.id)
    assert [m.user.first_name for m in admins] == ["Owner", "Admin"]
    chat = await tg.get_chat(staff.id)
    assert (chat.id, chat.type, chat.title) == (staff.id, "supergroup", "Staff")
    with pytest.raises(BadRequest, match="User not found"):
        await tg.get_chat_member(staff.id, 999)


async def test_deleting_in_groups_needs_admin_rights(emulator: BotApiEmulator, tg: Bot) -> None:
    member = emulator.add_user("Member")
    plain = emulator.add_group("Plain", members=[member])
    moderated = emulator.add_group("Moderated", members=[member], bot_is_admin=True)
    for chat in (plain, moderated):
        await emulator.send_text(member, "spam", chat=chat)
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await tg.delete_message(plain.id, 1)
    assert await tg.delete_message(moderated.id, 1)


async def test_callback_answers(emulator: BotApiEmulator, tg: Bot) -> None:
    user = await started(emulator)
    sent = await tg.send_message(user.id, "Note ?", reply_markup=RATING)
    delivery = await emulator.click(user, emulator.bot_messages(user.id)[-1], "rate:2")
    query_id = delivery.update["callback_query"]["id"]
    assert delivery.update["callback_query"]["message"]["message_id"] == sent.message_id
    with pytest.raises(BadRequest, match="Message_too_long"):
        await tg.answer_callback_query(query_id, text="x" * 201)
    assert await tg.answer_callback_query(query_id, text="Merci !")
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired or query id is invalid"):
        await tg.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await tg.answer_callback_query("123")


async def test_commands_per_scope_and_language(emulator: BotApiEmulator, tg: Bot) -> None:
    assert await tg.set_my_commands([("start", "Commencer"), ("help", "Aide")], language_code="fr")
    assert await tg.get_my_commands() == ()
    assert [c.command for c in await tg.get_my_commands(language_code="fr")] == ["start", "help"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await tg.set_my_commands([("Start!", "x")])
    assert await tg.delete_my_commands(language_code="fr")
    assert await tg.get_my_commands(language_code="fr") == ()

"""Template and flow admin over Telegram, and `/weblogin`.

Operators (`PAROLE_ADMIN_IDS`) use it in their private chat with the bot (default scope: global) or in
any staff room; brand admins (Telegram administrators of a staff room) in their room, for their brand
only (default scope: the room's brand, or its venue for a venue's room). A scope is named `@global`,
`@BRAND` or `@BRAND/VENUE`. Anyone else's commands go on to the other handlers, as unknown commands.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.botapi.sending import call_telegram
from bot.editing.editor import Admin, Editor, Refused, template_parts
from bot.editing.logins import LINK_SECONDS, WebLogins
from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, Version, VersionConflict, template_document
from bot.errors import InvalidInput, ParoleError, problem
from bot.refusals import refusal_text, say
from bot.seam.commands import parse_command
from bot.staff.auth import StaffAuth
from bot.staff.cards import Cards
from bot.staff.commands import ADMIN_COMMANDS, PREVIEW_BUTTON
from bot.staff.rooms import RoomStore

_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")
_MAX_LISTED: Final = 40


@dataclass(frozen=True, slots=True)
class _Request:
    """A parsed admin command: its words, the scope, the version, the text from the second line on."""

    words: list[str]
    scope: Scope
    version: int | None
    text: str


class AdminChat:
    """Handles the admin commands before the customer chat and the staff rooms see them."""

    def __init__(
        self,
        editor: Editor,
        logins: WebLogins,
        rooms: RoomStore,
        auth: StaffAuth,
        cards: Cards,
        *,
        bot_username: str,
        language_for: Any,
    ) -> None:
        self.editor = editor
        self.logins = logins
        self.rooms = rooms
        self.auth = auth
        self.cards = cards
        self.bot_username = bot_username
        self.language_for = language_for

    async def handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None and query.data == PREVIEW_BUTTON:
            await call_telegram(query.answer, idempotent=True, what="preview button")
            raise ApplicationHandlerStop
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        command = parse_command(message.text, self.bot_username)
        if command is None or command[0] not in ADMIN_COMMANDS:
            return
        who = await self._who(message, message.from_user)
        if who is None:
            return
        admin, scope = who
        language = self.language_for(message.from_user.language_code)
        name, args = command
        try:
            if name == "weblogin":
                await self._weblogin(message, admin, language)
            else:
                await self._edit(message, admin, name, _parse(args, scope), language)
        except VersionConflict as conflict:
            await self._conflict(message, conflict, language)
        except Refused as refused:
            await self._say(
                message, "admin_refused", {"problem": say(refused.reason, language), "line": refused.line}, language
            )
        except ParoleError as refused:
            await self._say(
                message, "admin_refused", {"problem": refusal_text(refused, language), "line": None}, language
            )
        raise ApplicationHandlerStop

    async def _who(self, message: Message, user: User) -> tuple[Admin, Scope] | None:
        """The admin and their default scope, or None for someone who is not one here."""
        author = f"{user.full_name} ({user.id})"[:80]
        if message.chat.type == ChatType.PRIVATE:
            return (Admin(author), Scope()) if self.auth.is_operator(user.id) else None
        room = await self.rooms.get(message.chat.id)
        if room is None:
            return None
        if not await self.auth.is_admin(room.chat_id, user.id):
            await self.cards.say(room, "staff_admin_only", {}, reply_to=message.message_id)
            raise ApplicationHandlerStop
        if self.auth.is_operator(user.id):
            return Admin(author), Scope(room.brand, room.venue)
        return Admin(author, room.brand, room.venue), Scope(room.brand, room.venue)  # a venue's room: that venue

    async def _edit(self, message: Message, admin: Admin, name: str, request: _Request, language: str) -> None:
        scope = request.scope
        await self.editor.check_scope(admin, scope)
        words = request.words
        if name == "templates":
            everything = await self.editor.entries(scope)
            entries = [
                {"name": e.name, "language": e.language, "origin": e.origin, "version": e.version}
                for e in everything
                if e.origin != "default"
            ]
            defaults = [e.name for e in everything if e.origin == "default" and e.language == language]
            variables = {"scope": scope.label(), "entries": entries[:_MAX_LISTED], "defaults": defaults}
            await self._say(message, "admin_list", variables, language)
            return
        action = words[0] if words else ""
        if name == "flow":
            await self._flow(message, admin, action, request, language)
            return
        if action not in ("show", "set", "preview", "history", "rollback") or len(words) < 2:
            await self._say(message, "admin_usage", {}, language)
            return
        template = words[1]
        template_language = next((w for w in words[2:] if _LANGUAGE.fullmatch(w)), language)
        self.editor.check_template_name(template, template_language)
        document = Document(scope, template_document(template, template_language))
        what = f"{template} {template_language}"
        if action == "show":
            source = await self.editor.template_source(scope, template, template_language)
            await self._show(message, document, what, source, f"/template set {what}", language)
        elif action == "set":
            expected = await self._expected(document, request)
            version = await self.editor.set_template(
                admin, scope, template, template_language, request.text, expected=expected
            )
            await self._saved(message, what, scope, version, language)
        elif action == "preview":
            await self._preview(message, scope, template, template_language, request.text or None)
        elif action == "history":
            await self._history(message, document, what, language)
        else:
            await self._rollback(message, admin, document, what, request, language)

    async def _flow(self, message: Message, admin: Admin, action: str, request: _Request, language: str) -> None:
        document = Document(request.scope, FLOW_DOCUMENT)
        what = "flow"
        if action == "show":
            texts = await self.editor.texts(request.scope)
            await self._show(message, document, what, texts.flow_text, "/flow set", language)
        elif action == "set":
            version = await self.editor.set_flow(
                admin, request.scope, request.text, expected=await self._expected(document, request)
            )
            await self._saved(message, what, request.scope, version, language)
        elif action == "history":
            await self._history(message, document, what, language)
        elif action == "rollback":
            await self._rollback(message, admin, document, what, request, language)
        else:
            await self._say(message, "admin_usage", {}, language)

    async def _expected(self, document: Document, request: _Request) -> int:
        if not request.text.strip():
            raise Refused(problem("chat_text_below", "the new text goes on the lines after the command"))
        return request.version if request.version is not None else await self.editor.latest_number(document)

    async def _show(
        self, message: Message, document: Document, what: str, source: str, command: str, language: str
    ) -> None:
        texts = await self.editor.texts(document.scope)
        origin = texts.origins.get(document.name)
        latest = await self.editor.latest_number(document)
        variables = {
            "what": what,
            "scope": document.scope.label(),
            "origin": origin[0].label() if origin else "default",
            "version": origin[1].number if origin else 0,
            "latest": latest,
            "command": f"{command} {latest} @{document.scope.label()}",
            "source": source,
        }
        await self._say(message, "admin_source", variables, language)

    async def _saved(self, message: Message, what: str, scope: Scope, version: Version, language: str) -> None:
        variables = {"what": what, "scope": scope.label(), "version": version.number, "action": version.action.value}
        await self._say(message, "admin_saved", variables, language)

    async def _history(self, message: Message, document: Document, what: str, language: str) -> None:
        versions = [
            {
                "number": v.number,
                "author": v.author,
                "at": dt.datetime.fromtimestamp(v.at, dt.UTC).strftime("%Y-%m-%d %H:%M"),
                "action": v.action.value,
                "source": v.source,
            }
            for v in await self.editor.overrides.history(document)
        ]
        variables = {"what": what, "scope": document.scope.label(), "versions": versions[-_MAX_LISTED:]}
        await self._say(message, "admin_history", variables, language)

    async def _rollback(
        self, message: Message, admin: Admin, document: Document, what: str, request: _Request, language: str
    ) -> None:
        if request.version is None:
            raise Refused(
                problem("chat_rollback_version", "rollback needs the version to go back to (0: the default text)")
            )
        expected = await self.editor.latest_number(document)
        version = await self.editor.rollback(admin, document, request.version, expected=expected)
        await self._saved(message, what, document.scope, version, language)

    async def _conflict(self, message: Message, conflict: VersionConflict, language: str) -> None:
        document, current = conflict.document, conflict.current
        what = "flow" if document.name == FLOW_DOCUMENT else " ".join(template_parts(document.name))
        number = current.number if current else 0
        command = "/flow set" if document.name == FLOW_DOCUMENT else f"/template set {what}"
        variables = {
            "what": what,
            "scope": document.scope.label(),
            "version": number,
            "author": current.author if current else "",
            "source": await self.editor.version_text(document, number),
            "command": f"{command} {number} @{document.scope.label()}",
        }
        await self._say(message, "admin_conflict", variables, language)

    async def _preview(self, message: Message, scope: Scope, name: str, language: str, source: str | None) -> None:
        """The template as a customer would get it: same text, same buttons (which do nothing here)."""
        rendered = await self.editor.preview(scope, name, language, source)
        markup = None
        if rendered.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=PREVIEW_BUTTON) for label, _ in row]
                    for row in rendered.buttons
                ]
            )
        send = functools.partial(
            message.get_bot().send_message,
            message.chat.id,
            rendered.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
        await call_telegram(send, idempotent=False, what="template preview")

    async def _weblogin(self, message: Message, admin: Admin, language: str) -> None:
        assert message.from_user is not None
        if admin.venue is not None:  # the web admin's sessions are brand-wide
            raise InvalidInput(
                problem(
                    "chat_web_admins_only",
                    "the web admin is for the brand's admins: ask for a link in the brand's room",
                )
            )
        url = await self.logins.link(admin)
        sent = await self.cards.say(
            message.from_user.id, "admin_weblogin", {"url": url, "minutes": LINK_SECONDS // 60}, language=language
        )
        if message.chat.type != ChatType.PRIVATE:
            template = "admin_weblogin_sent" if sent is not None else "admin_weblogin_failed"
            await self._say(message, template, {}, language)

    async def _say(self, message: Message, template: str, variables: dict[str, Any], language: str) -> None:
        await self.cards.say(message.chat.id, template, variables, language=language, reply_to=message.message_id)


def _parse(args: str, default: Scope) -> _Request:
    """`WORDS… [N] [@scope]` on the first line, the text on the next ones."""
    first, _, text = args.partition("\n")
    words: list[str] = []
    scope, version = default, None
    for word in first.split():
        if word.startswith("@"):
            scope = Scope.parse(word[1:])
        elif word.isdigit():
            version = int(word)
        else:
            words.append(word)
    return _Request(words, scope, version, text)

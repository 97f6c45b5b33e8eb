"""The staff's and operators' words for the bot in Telegram: command names and the card buttons' data.

Parsed with the one command parser, `bot.conversations.commands.parse_command`.
"""

from __future__ import annotations

from typing import Final

# In a staff room (`/link` in any group the bot is in; the others in a linked room).
STAFF_COMMANDS: Final = frozenset({"link", "unlink", "reply", "close", "tickets", "vocab", "news"})
# What a staff room is told when it asks what the bot does (the customers' /help and /start, in a group).
STAFF_HELP_COMMANDS: Final = frozenset({"help", "start"})
# Template and flow admin, in an operator's private chat or in a staff room (its brand admins).
ADMIN_COMMANDS: Final = frozenset({"templates", "template", "flow", "weblogin"})

CLOSE_PREFIX: Final = "ticket:close:"  # + the ticket number: the card's Close button
SPAM_PREFIX: Final = "ticket:spam:"  # + the ticket number: the card's Spam button
NEWS_SEND_PREFIX: Final = "news:send:"  # + the /news message's id: the preview's Envoyer button
NEWS_DROP_PREFIX: Final = "news:drop:"  # + the /news message's id: the preview's Annuler button
PREVIEW_BUTTON: Final = "preview"  # the buttons of a template preview: they do nothing

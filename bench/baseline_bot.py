"""The baseline of `bench_journey.py`: parole's customer journey written the idiomatic python-telegram-bot way.

A `ConversationHandler` with the states RATING, REASON and SUGGESTION, `PicklePersistence` with its default
settings (conversations persisted, one pickle file, written by the application's persistence loop every 60 s
and when it stops), python-telegram-bot's default request backend (httpx), default handler settings
(`block=True`, updates processed one at a time) and its own webhook server (`Application.run_webhook`,
tornado, which answers 200 before the update is handled).

The venues are a dict token -> venue name in `bot_data` (seeded from a JSON file at start); each feedback is
a dict in the customer's `user_data`, created when the rating is given and completed as the customer goes on,
so `PicklePersistence` persists it. It sends the same texts and keyboards as parole's default templates
(French), makes the same Bot API calls (answers the callback query, edits the rating message into the reason
question) and refuses a second feedback for the same venue within 24 hours, as parole does.

Run by `bench_journey.py`:

    python bench/baseline_bot.py --token T --base-url URL --port P --webhook-url URL --secret S \
        --persistence FILE --venues FILE [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import html
import importlib.util
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

RATING, REASON, SUGGESTION = range(3)
DUPLICATE_WINDOW = 24 * 3600.0

# parole's default French templates, as plain strings.
GREETING = (
    "Bonjour et bienvenue <b>chez {venue}</b> !\n"
    "L'équipe aimerait savoir comment s'est passée votre visite. Cela ne prend qu'une minute."
)
ASK_RATING = "Quelle note donneriez-vous à votre visite, de 1 à 5 ?"
RATING_RECAP = "Votre note : {stars}"
ASK_REASON_LOW = (
    "Nous sommes désolés que votre visite ne se soit pas bien passée. Que s'est-il passé ? Racontez-nous avec vos mots."
)
ASK_REASON_MID = "Merci. Qu'est-ce qui aurait rendu votre visite vraiment réussie ?"
ASK_REASON_HIGH = "Merci, cela nous fait très plaisir ! Qu'avez-vous le plus apprécié ?"
ASK_SUGGESTION = "Une idée ou une suggestion pour nous améliorer ? Écrivez-la, ou touchez « Passer »."
THANKS = "Merci pour votre avis ! L'équipe <b>{of_venue}</b> va le lire et pourra vous répondre ici même."
CONTACT_BUTTON = "💬 Me recontacter"  # parole's thanks offers to be contacted (its default policy): so does this
NEWS_BUTTON = "🔔 Recevoir les nouvelles {of_venue}"  # parole's thanks offers the venue's news: so does this
UNKNOWN_VENUE = "Ce lien ne correspond à aucun établissement que nous connaissons. Il a peut-être été mal copié."
ALREADY_RATED = (
    "Vous avez déjà donné votre avis sur <b>{venue}</b> ces 24 dernières heures. Merci ! "
    "Vous pourrez en donner un nouveau lors d'une prochaine visite."
)
CANCELLED = "C'est annulé. Scannez un QR code quand vous voudrez donner votre avis."
SKIP = "Passer"


def of(venue: str) -> str:
    """ "de" before a venue's name, elided before a vowel or a mute h ("d'Hôtel du Port"), as parole writes it."""
    return ("d'" if venue[:1].lower() in "aeiouyàâäéèêëîïôöûüh" else "de ") + venue


STARS = InlineKeyboardMarkup([[InlineKeyboardButton("⭐" * n, callback_data=f"rate:{n}") for n in range(1, 6)]])
SKIP_BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton(SKIP, callback_data="skip")]])


def _reason_question(rating: int) -> str:
    if rating <= 2:
        return ASK_REASON_LOW
    return ASK_REASON_MID if rating == 3 else ASK_REASON_HIGH


def _current(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    """The feedback this customer is giving, if any."""
    assert context.user_data is not None
    feedback: list[dict[str, Any]] = context.user_data.get("feedback", [])
    if feedback and feedback[-1]["status"] == "in_progress":
        return feedback[-1]
    return None


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """`/start <token>`: greet with the venue's name and ask the rating."""
    assert update.message is not None and context.user_data is not None
    token = context.args[0] if context.args else ""
    venue = context.bot_data["venues"].get(token)
    if venue is None:
        await update.message.reply_html(UNKNOWN_VENUE)
        return ConversationHandler.END
    rated_at = context.user_data.setdefault("rated", {}).get(token)
    if rated_at is not None and time.time() - rated_at < DUPLICATE_WINDOW:
        await update.message.reply_html(ALREADY_RATED.format(venue=html.escape(venue)))
        return ConversationHandler.END
    current = _current(context)
    if current is not None:  # a new scan mid-conversation: the unfinished feedback is abandoned
        current["status"] = "abandoned"
    context.user_data["venue"] = token
    text = GREETING.format(venue=html.escape(venue)) + "\n\n" + ASK_RATING
    await update.message.reply_html(text, reply_markup=STARS)
    return RATING


async def rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A star button: store the feedback, answer the button, turn the message into the reason question."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    rating = int(query.data.removeprefix("rate:"))
    token = context.user_data["venue"]
    now = time.time()
    context.user_data.setdefault("feedback", []).append(
        {
            "venue": token,
            "venue_name": context.bot_data["venues"][token],
            "rating": rating,
            "reason": None,
            "suggestion": None,
            "status": "in_progress",
            "created_at": now,
        }
    )
    context.user_data["rated"][token] = now
    await query.answer()
    text = RATING_RECAP.format(stars="⭐" * rating) + "\n\n" + _reason_question(rating)
    await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    return REASON


async def reason(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and update.message.text is not None
    feedback = _current(context)
    assert feedback is not None
    feedback["reason"] = update.message.text
    await update.message.reply_html(ASK_SUGGESTION, reply_markup=SKIP_BUTTON)
    return SUGGESTION


async def _thank(feedback: dict[str, Any], update: Update) -> int:
    feedback["status"] = "complete"
    chat = update.effective_chat
    assert chat is not None
    data = f"news:in:{int(feedback['created_at'] * 1000):x}"
    contact = InlineKeyboardButton(CONTACT_BUTTON, callback_data=data.replace("news:in:", "contact:"))
    news = InlineKeyboardButton(NEWS_BUTTON.format(of_venue=of(feedback["venue_name"])), callback_data=data)
    await chat.send_message(
        THANKS.format(of_venue=html.escape(of(feedback["venue_name"]))),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup([[contact], [news]]),
    )
    return ConversationHandler.END


async def suggestion(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and update.message.text is not None
    feedback = _current(context)
    assert feedback is not None
    feedback["suggestion"] = update.message.text
    return await _thank(feedback, update)


async def skip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    feedback = _current(context)
    assert feedback is not None
    await query.answer()
    await query.edit_message_reply_markup(None)
    return await _thank(feedback, update)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    current = _current(context)
    if current is not None:
        current["status"] = "abandoned"
    await update.message.reply_html(CANCELLED)
    return ConversationHandler.END


def build(token: str, base_url: str, persistence: Path, venues: dict[str, str]) -> Application:  # type: ignore[type-arg]
    async def seed(application: Application) -> None:  # type: ignore[type-arg]
        application.bot_data.setdefault("venues", {}).update(venues)

    application = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .persistence(PicklePersistence(filepath=persistence))
        .post_init(seed)
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                RATING: [CallbackQueryHandler(rate, pattern=r"^rate:[1-5]$")],
                REASON: [MessageHandler(text, reason)],
                SUGGESTION: [MessageHandler(text, suggestion), CallbackQueryHandler(skip, pattern=r"^skip$")],
            },
            fallbacks=[CommandHandler("cancel", cancel), CommandHandler("start", start)],
            name="feedback",
            persistent=True,
        )
    )
    return application


def neutralise_failing_sniffio_import() -> bool:
    """httpcore 1.0 runs `import sniffio` inside every lock operation, several times per request. anyio 4
    no longer installs sniffio, so in an environment without it each of those imports fails after searching
    the whole of sys.path, which costs this bot about a sixth of its CPU. A failed import recorded as None
    in sys.modules fails at once: that is what this does, so the baseline is not slowed down by an accident
    of packaging. Returns whether it was needed."""
    if importlib.util.find_spec("sniffio") is not None:
        return False
    sys.modules["sniffio"] = None  # type: ignore[assignment]
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True, help="python-telegram-bot's base_url (…/bot)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webhook-url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--persistence", type=Path, required=True, help="the PicklePersistence file")
    parser.add_argument("--venues", type=Path, required=True, help="JSON object: venue token -> venue name")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the whole run here")
    parser.add_argument(
        "--as-installed", action="store_true", help="leave httpcore's failing `import sniffio` per request as it is"
    )
    args = parser.parse_args()
    # As python-telegram-bot's examples do.
    logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.as_installed and neutralise_failing_sniffio_import():
        logging.getLogger(__name__).info("sniffio is not installed: httpcore's import of it made to fail at once")
    # per_message=False with a CallbackQueryHandler is what this conversation wants (it mixes text and buttons).
    warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
    venues = json.loads(args.venues.read_text(encoding="utf-8"))
    application = build(args.token, args.base_url, args.persistence, venues)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        application.run_webhook(
            listen="127.0.0.1",
            port=args.port,
            url_path=urlparse(args.webhook_url).path.lstrip("/"),
            secret_token=args.secret,
            webhook_url=args.webhook_url,
        )
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()

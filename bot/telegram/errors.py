"""The error handler: log, tell the user, keep going.

python-telegram-bot calls it for any exception raised while handling an update; nothing
here re-raises, so a failing update never stops the process. Logs name the update by
kind, id and chat type only: no message text (users are often minors) and never the token
(the request URLs that hold it are only logged by httpx, which is kept at WARNING).
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import messages
from bot.telegram.render import plain

logger = logging.getLogger(__name__)


def describe(update: object) -> str:
    """A short, personal-data-free description of an update for the logs."""
    if not isinstance(update, Update):
        return type(update).__name__ if update is not None else "no update"
    kind = next((k for k in Update.ALL_TYPES if getattr(update, k, None) is not None), "update")
    chat = update.effective_chat
    where = f" in a {chat.type} chat" if chat else ""
    return f"update {update.update_id} ({kind}{where})"


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and tell the user that something went wrong."""
    error = context.error
    if isinstance(error, NetworkError):  # TimedOut is a NetworkError: Telegram or the link
        logger.warning("Network error while handling %s: %s", describe(update), error)
    else:
        logger.error("Exception while handling %s", describe(update), exc_info=error)

    chat = update.effective_chat if isinstance(update, Update) else None
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None:
        # An unanswered button keeps spinning on the user's phone.
        with contextlib.suppress(TelegramError):  # already answered, or too old
            await query.answer()
    if chat is None:
        return
    try:
        for message in plain(messages.ERROR):
            await context.bot.send_message(chat.id, message.text)  # HTML: the application's Defaults
    except TelegramError as exc:  # still unreachable: the log above is all we can do
        logger.warning("Could not tell the user about the error: %s", exc)

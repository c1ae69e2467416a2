"""Wire the Telegram bot: build the Application, set up shared objects, run it.

The callbacks are in `bot.telegram.handlers`, the formatting in `bot.telegram.render` and
the error handler in `bot.telegram.errors`, the typed context in `bot.telegram.context`;
this module only assembles them. The engine and the store are opened in `post_init` and
reached through the typed `bot_data`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.settings import Settings
from bot.storage.store import Store
from bot.telegram.context import CONTEXT_TYPES, BotApplication, BotData
from bot.telegram.handlers import menu, register
from bot.telegram.render import NO_PREVIEW
from bot.understanding.engine import Engine

logger = logging.getLogger(__name__)

PURGE_INTERVAL = 24 * 60 * 60  # seconds: the retention period is counted in days

# Time periods as `timedelta` (python-telegram-bot 22's announced behaviour): without it,
# every RetryAfter that the rate limiter handles raises a PTBDeprecationWarning.
os.environ.setdefault("PTB_TIMEDELTA", "true")


class _RedactToken(logging.Filter):
    """Replace the bot token wherever it would reach a log line (defence in depth)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self._token in record.exc_text:
            record.exc_text = record.exc_text.replace(self._token, "<token>")
        return True


def build_application(settings: Settings, engine: Engine | None = None) -> BotApplication:
    """The Application with its handlers; the store (and the engine, unless one is given,
    as tests do to share one) are opened in post_init."""
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.token)
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)  # the token is appended to it
    application: BotApplication = builder.build()
    application.bot_data.settings = settings
    application.bot_data.engine = engine
    register(application, settings.admin_ids)
    return application


async def _post_init(application: BotApplication) -> None:
    data: BotData = application.bot_data
    settings = data.settings
    assert settings is not None, "build_application sets them"
    if data.engine is None:
        engine, problems = await asyncio.to_thread(Engine.load, settings.knowledge_dir, settings.cache_dir)
        for problem in problems:  # a maintainer's typo must not take the bot down
            (logger.warning if problem.is_error else logger.info)("Knowledge: %s", problem)
        data.engine = engine
    data.store = store = await asyncio.to_thread(Store.open, settings.data_dir, settings.retention_days)
    data.purge_task = asyncio.create_task(_purge_daily(store), name="purge")
    catalog = data.engine.catalog
    try:
        await application.bot.set_my_commands([BotCommand(*pair) for pair in menu(catalog, "fr")])
        # The same menu in each language the bot speaks, for clients set to that language.
        for lang in catalog.texts:
            await application.bot.set_my_commands(
                [BotCommand(*pair) for pair in menu(catalog, lang)], language_code=lang
            )
    except TelegramError as exc:  # the menu is a convenience; commands work without it
        logger.warning("Could not register the command menu: %s", exc)


async def _post_shutdown(application: BotApplication) -> None:
    data: BotData = application.bot_data
    task, data.purge_task = data.purge_task, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    store, data.store = data.store, None
    if store is not None:
        await asyncio.to_thread(store.close)


async def _purge_daily(store: Store) -> None:
    """Apply the retention period now, then once a day."""
    while True:
        try:
            deleted = await asyncio.to_thread(store.purge)
            logger.info("Purge: %d expired row(s) deleted", deleted)
        except Exception:  # a failed purge is retried tomorrow, the bot keeps serving
            logger.exception("Purge failed")
        await asyncio.sleep(PURGE_INTERVAL)


def run_telegram(settings: Settings) -> None:
    """Run the bot until Ctrl-C or SIGTERM: long polling, or a webhook if one is set."""
    # httpx logs each request URL at INFO, and Telegram's URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if settings.token:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_RedactToken(settings.token))
    application = build_application(settings)
    if settings.webhook_url:
        application.run_webhook(
            listen="0.0.0.0",
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            secret_token=settings.webhook_secret,
            webhook_url=settings.webhook_url,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)

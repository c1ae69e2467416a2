"""Telegram callbacks: turn updates into calls to the core, and its replies into messages.

Nothing here decides what to answer (`bot.engine.Engine` does) or writes HTML
(`bot.telegram_render` does). Shared objects live in `bot_data`, set up by
`bot.telegram_app`: the engine holder (swapped by /recharger), the store, the settings
and the flood guard. A person's `Conversation` is kept in `user_data`, in memory only.

Which updates get an answer:
- private chats: commands, text, shared locations; any other content (sticker, photo,
  voice, video, document, contact, poll...) gets NOT_TEXT;
- groups and supergroups: commands, and messages that mention @the bot or reply to one of
  its messages (the mention is removed before the engine reads the text); the rest of the
  conversation is none of the bot's business and is ignored;
- edited messages are always ignored: the reply to the first version stands, and
  answering every edit would repeat replies and count the question twice;
- channel posts are ignored: the bot answers people, not channels;
- maintainer commands (/stats, /recharger) work for `settings.admin_ids` in private chats;
  anyone else gets exactly the unknown-command reply, so nothing reveals they exist.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from typing import TYPE_CHECKING

from telegram import Chat, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import messages
from bot import telegram_render as render
from bot.engine import Conversation, Engine, Reply
from bot.flood import FloodGuard, Verdict
from bot.languages import client_language
from bot.loader import Problem, load_knowledge
from bot.privacy import mask_personal_data
from bot.report import inbox_groups
from bot.telegram_errors import error_handler

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store import Store
    from bot.telegram_app import EngineHolder

logger = logging.getLogger(__name__)

# bot_data keys (filled by bot.telegram_app)
ENGINE, STORE, SETTINGS, FLOOD = "engine", "store", "settings", "flood"
CONVERSATION = "conversation"  # user_data key
VOTED = "voted"  # chat_data key: messages already given a 👍/👎
VOTED_MEMORY = 200
MAX_PROBLEM_LINES = 15
MAX_STATS_LINES = 10

# New messages only: CommandHandler's default would also accept edited messages.
NEW_MESSAGE = filters.UpdateType.MESSAGE


# --- shared objects -----------------------------------------------------------------------


def _engine(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    holder: EngineHolder = context.bot_data[ENGINE]
    assert holder.engine is not None, "post_init loads the engine before updates arrive"
    return holder.engine


def _store(context: ContextTypes.DEFAULT_TYPE) -> Store:
    return context.bot_data[STORE]


def _settings(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.bot_data[SETTINGS]


def _conversation(context: ContextTypes.DEFAULT_TYPE) -> Conversation:
    assert context.user_data is not None
    conversation = context.user_data.get(CONVERSATION)
    if not isinstance(conversation, Conversation):
        conversation = context.user_data[CONVERSATION] = Conversation()
    return conversation


# --- sending ------------------------------------------------------------------------------


def _is_private(chat: Chat | None) -> bool:
    return chat is not None and chat.type == ChatType.PRIVATE


async def _send(
    update: Update, context: ContextTypes.DEFAULT_TYPE, outgoing: list[render.Outgoing]
) -> None:
    """Send rendered messages to the update's chat; in groups, the first one quotes the
    message it answers so everyone sees who it is for."""
    chat = update.effective_chat
    if chat is None:
        return
    quote = None
    if not _is_private(chat) and update.message is not None:
        quote = ReplyParameters(update.message.message_id, allow_sending_without_reply=True)
    for out in outgoing:
        await context.bot.send_message(
            chat.id, out.text, parse_mode=out.parse_mode, reply_markup=out.reply_markup,
            link_preview_options=out.link_preview_options, reply_parameters=quote,
        )
        quote = None


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    await _send(update, context, render.plain(text))


async def _say_in(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, lang: str) -> None:
    await _send(update, context, render.plain(text, lang=lang))


def _fixed(context: ContextTypes.DEFAULT_TYPE, name: str, **values: object) -> str:
    """A fixed message in the language of this person's conversation (none is started for it)."""
    known = context.user_data.get(CONVERSATION) if context.user_data is not None else None
    return _engine(context).fixed_text(name, known if isinstance(known, Conversation) else None, **values)


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the person choose the language of the replies (/langue)."""
    await _send(update, context, render.plain(_fixed(context, "LANGUAGE_PROMPT"), render.languages_keyboard()))


async def _send_reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply, question: str
) -> None:
    """Send an engine reply, then log it and remember the commune it names."""
    private = _is_private(update.effective_chat)
    await _send(update, context, render.render_reply(reply, private=private, catalog=_engine(context).catalog))
    await _record(update, context, reply, question)


async def _record(
    update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply, question: str
) -> None:
    # The answer is already sent: a storage failure is logged, never shown to the user.
    store, engine = _store(context), _engine(context)
    try:
        if question.strip():  # a shared position or a bare mention has no question to learn from
            masked = mask_personal_data(question)  # before folding, which hides "@" from the mask
            await asyncio.to_thread(
                store.record_question,
                reply.status,
                reply.entry.id if reply.entry else None,
                masked,
                engine.normaliser.normalise(masked).text,
                [e.id for e in reply.suggestions],
            )
        # Only the commune given to find a CIO, in a private chat, is kept (see PRIVACY).
        user = update.effective_user
        insee = reply.commune_to_remember
        if insee and user is not None and _is_private(update.effective_chat):
            await asyncio.to_thread(store.save_commune, user.id, insee)
    except Exception:
        logger.exception("Could not record a reply (%s)", reply.status)


# --- who is spoken to ---------------------------------------------------------------------


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE)


def _addressed(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True in private chats; in groups, only when the message is for this bot."""
    if _is_private(message.chat):
        return True
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    if author is not None and author.id == context.bot.id:
        return True
    text = message.text or message.caption or ""
    return bool(_mention(context.bot.username).search(text))


def _command_for_us(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups, `/cmd` goes to every bot; answer an unknown one only if it names us."""
    if _is_private(message.chat):
        return True
    command = (message.text or "").split(maxsplit=1)[0]
    _, at, name = command.partition("@")
    return bool(at) and name.lower() == context.bot.username.lower()


# --- flood guard (group -1) ---------------------------------------------------------------


async def guard_flood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from someone sending too many messages at once."""
    user = update.effective_user
    message, query = update.message, update.callback_query
    if user is None or (query is None and message is None):
        return  # edits, channel posts, member updates...: never answered anyway
    is_command = message is not None and (message.text or "").startswith("/")
    if message is not None and not is_command and not _addressed(message, context):
        return  # group chatter the bot ignores should not count
    guard: FloodGuard = context.bot_data[FLOOD]
    verdict = guard.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        if query is not None:
            await query.answer(messages.FLOOD)
        else:
            await _say(update, context, messages.FLOOD)
    raise ApplicationHandlerStop


# --- commands -----------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user with the themes; a deep link also opens its theme or entry."""
    engine = _engine(context)
    await _send(update, context, render.welcome(engine.kb.topics.values()))
    target = context.args[0] if context.args else ""
    if target in engine.kb.topics:
        await _send(update, context, render.topic_menu(
            engine.kb.topics[target], engine.kb.entries_of(target)))
    elif target in engine.kb.entries:
        reply = engine.entry_reply(target, _conversation(context))
        if reply is not None:
            await _send_reply(update, context, reply, reply.entry.title if reply.entry else "")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to use the bot."""
    await _say(update, context, _fixed(context, "HELP"))


async def themes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the themes as buttons."""
    await _send(update, context, render.themes(_engine(context).kb.topics.values()))


async def cio(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Give the nearest CIO for the saved commune, or ask where the user lives."""
    engine, user = _engine(context), update.effective_user
    insee = await asyncio.to_thread(_store(context).get_commune, user.id) if user else None
    conversation = _conversation(context)
    reply = engine.nearest_cio(insee, conversation)
    await _send_reply(update, context, reply, "/cio")


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot keeps, for how long, and how to erase it."""
    await _say(update, context, _fixed(context, "PRIVACY", days=_settings(context).retention_days))


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase everything tied to the user, on disk and in memory."""
    user = update.effective_user
    if user is None:
        return
    count = await asyncio.to_thread(_store(context).forget_user, user.id)
    if context.user_data is not None:
        context.user_data.clear()
    await _say(update, context, _fixed(context, "FORGOTTEN", count=count))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not know."""
    message = update.effective_message
    if message is not None and _command_for_us(message, context):
        await _say(update, context, _fixed(context, "UNKNOWN_COMMAND"))


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return (
        user is not None
        and _is_private(update.effective_chat)
        and user.id in _settings(context).admin_ids
    )


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show usage figures to a maintainer."""
    if not _is_admin(update, context):
        await unknown_command(update, context)
        return
    figures = await asyncio.to_thread(_store(context).stats)
    groups = await asyncio.to_thread(
        inbox_groups, _store(context), _settings(context).retention_days
    )
    week = figures.questions_last_week
    lines = [
        messages.STATS_HEADER.format(day=figures.questions_last_day, week=week),
        "",
        messages.STATS_BY_STATUS,
    ]
    for status, count in figures.by_status.items():
        share = round(100 * count / week) if week else 0
        lines.append(f"- {messages.STATUS_LABELS.get(status, status)} : {count} ({share} %)")
    lines += ["", messages.STATS_DECLINED]
    lines += [f"- {g.count} × {g.example}" for g in groups[:MAX_STATS_LINES]]
    lines += [messages.STATS_NONE] if not groups else []
    disliked = [f for f in figures.feedback if f[2] > 0][:MAX_STATS_LINES]
    lines += ["", messages.STATS_FEEDBACK]
    lines += [f"- {entry} : {down} 👎, {up} 👍" for entry, up, down in disliked]
    lines += [messages.STATS_NONE] if not disliked else []
    await _say(update, context, "\n".join(lines))


async def reload_knowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reload the knowledge base for a maintainer, keeping the old one if it has errors."""
    if not _is_admin(update, context):
        await unknown_command(update, context)
        return
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    root = _settings(context).knowledge_dir
    kb, problems = await asyncio.to_thread(load_knowledge, root, None, False)
    errors = [p for p in problems if p.is_error]
    if errors:
        ordered = _by_file(errors) + _by_file([p for p in problems if not p.is_error])
        lines = [str(p) for p in ordered[:MAX_PROBLEM_LINES]]
        if len(ordered) > MAX_PROBLEM_LINES:
            lines.append(messages.MORE_PROBLEMS.format(count=len(ordered) - MAX_PROBLEM_LINES))
        logger.warning("Reload refused: %d error(s) in %s", len(errors), root)
        await _say(update, context,
                   messages.RELOAD_FAILED.format(errors=len(errors)) + "\n\n" + "\n".join(lines))
        return
    engine, _ = await asyncio.to_thread(Engine.load, root, _settings(context).cache_dir)
    holder: EngineHolder = context.bot_data[ENGINE]
    holder.engine = engine  # one assignment: every later update sees the new base
    logger.info("Knowledge reloaded from %s: %d entries", root, len(kb.entries))
    await _say(update, context, messages.RELOAD_DONE.format(
        entries=len(kb.entries), topics=len(kb.topics), services=len(kb.services),
        communes=len(kb.communes), warnings=len(problems)))


def _by_file(problems: list[Problem]) -> list[Problem]:
    """First problem of each file, then the second of each...: one file's many problems
    (e.g. every reference to entries of a file that failed to parse) must not hide the
    others in the few lines shown."""
    files: dict[str, list[Problem]] = {}
    for problem in problems:
        files.setdefault(problem.file, []).append(problem)
    rounds = max((len(found) for found in files.values()), default=0)
    return [found[i] for i in range(rounds) for found in files.values() if i < len(found)]


# --- messages -----------------------------------------------------------------------------


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a question written in the user's own words."""
    message = update.effective_message
    if message is None or message.text is None or not _addressed(message, context):
        return
    text = _mention(context.bot.username).sub(" ", message.text).strip()
    conversation = _conversation(context)
    user = update.effective_user
    conversation.client_lang = client_language(user.language_code if user else None)
    reply = _engine(context).respond(text, conversation)
    await _send_reply(update, context, reply, text)


async def location_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a shared position with the nearest services."""
    message = update.effective_message
    if message is None or message.location is None or not _addressed(message, context):
        return
    location = message.location
    reply = _engine(context).respond_location(
        location.latitude, location.longitude, _conversation(context)
    )
    await _send_reply(update, context, reply, "")


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say that only written questions are understood."""
    message = update.effective_message
    if message is not None and _addressed(message, context):
        await _say(update, context, _fixed(context, "NOT_TEXT"))


# --- buttons ------------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a theme or an entry, or record a vote, from an inline button."""
    query = update.callback_query
    if query is None:
        return
    engine = _engine(context)
    pressed = render.parse_callback(query.data)
    if pressed is None or update.effective_chat is None:
        await query.answer(messages.STALE_BUTTON)
        return
    if pressed.kind == "t":
        topic = engine.kb.topics.get(pressed.target)
        if topic is None:
            await query.answer(messages.STALE_BUTTON)
            return
        await query.answer()
        await _send(update, context, render.topic_menu(topic, engine.kb.entries_of(topic.id)))
    elif pressed.kind == "l":
        conversation = _conversation(context)
        conversation.chosen_lang = conversation.lang = pressed.target
        await query.answer()
        await _say_in(update, context, engine.fixed_text("LANGUAGE_CHOSEN", conversation), pressed.target)
    elif pressed.kind in ("e", "fr"):
        pick = engine.entry_reply if pressed.kind == "e" else engine.french_reply
        reply = pick(pressed.target, _conversation(context))
        if reply is None:
            await query.answer(messages.STALE_BUTTON)
            return
        await query.answer()
        await _send_reply(update, context, reply, reply.entry.title if reply.entry else "")
    else:
        await _vote(update, context, pressed)


async def _vote(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: render.Button) -> None:
    """Record a 👍/👎 once per answer, thank the user and remove the vote buttons."""
    query = update.callback_query
    assert query is not None
    if pressed.target not in _engine(context).kb.entries:
        await query.answer(messages.STALE_BUTTON)
        return
    message = query.message if isinstance(query.message, Message) else None
    voted: deque[int] | None = None
    if context.chat_data is not None and message is not None:
        voted = context.chat_data.setdefault(VOTED, deque(maxlen=VOTED_MEMORY))
        if message.message_id in voted:  # a second tap before the buttons disappeared
            await query.answer()
            return
        voted.append(message.message_id)
    await asyncio.to_thread(_store(context).record_feedback, pressed.target, bool(pressed.positive))
    if pressed.positive:
        await query.answer(_fixed(context, "FEEDBACK_THANKS_UP"))
    else:
        await query.answer()
        await _say(update, context, _fixed(context, "FEEDBACK_THANKS_DOWN"))
    if message is not None:
        await message.edit_reply_markup(render.without_feedback(message.reply_markup))


# --- wiring -------------------------------------------------------------------------------


def register(application: Application) -> None:
    """Add every handler, the flood guard and the error handler to the application."""
    application.bot_data.setdefault(FLOOD, FloodGuard())
    application.add_handler(TypeHandler(Update, guard_flood), group=-1)

    commands = [
        (("start",), start), (("aide", "help"), help_command), (("themes",), themes),
        (("cio",), cio), (("confidentialite",), privacy), (("oubli",), forget),
        (("langue", "language"), language), (("stats",), stats),
    ]
    for names, callback in commands:
        application.add_handler(CommandHandler(names, callback, filters=NEW_MESSAGE))
    # Reading YAML takes a moment: let other chats be served meanwhile.
    application.add_handler(
        CommandHandler("recharger", reload_knowledge, filters=NEW_MESSAGE, block=False)
    )
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.TEXT, text_message))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.LOCATION, location_message))
    application.add_handler(
        MessageHandler(NEW_MESSAGE & ~filters.StatusUpdate.ALL, not_text)
    )
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(error_handler)

"""Telegram callbacks: turn updates into calls to the core, and its replies into messages.

Nothing here decides what to answer (`bot.understanding.engine.Engine` does) or writes HTML
(`bot.telegram.render` does). Shared objects are typed in `bot.telegram.context`. The
commands are one table, `COMMANDS`: the handlers, the menu sent to Telegram, the help
text and the maintainers' guard are all made from it.

Which updates get an answer:
- private chats: commands, text, shared locations; any other content (sticker, photo,
  voice, video, document, contact, poll...) gets NOT_TEXT;
- groups and supergroups: commands, and messages that mention @the bot or reply to one of
  its messages (the `ADDRESSED` filter; the mention is removed before the engine reads the
  text); the rest of the conversation is none of the bot's business and is ignored;
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Chat, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import messages
from bot.knowledge.loader import Problem, load_knowledge
from bot.maintainers.report import inbox_groups
from bot.storage.privacy import mask_personal_data
from bot.telegram import render
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.errors import error_handler
from bot.telegram.flood import Verdict
from bot.understanding.engine import Reply
from bot.understanding.languages import FRENCH, Catalog, client_language

logger = logging.getLogger(__name__)

MAX_PROBLEM_LINES = 15
MAX_STATS_LINES = 10

# New messages only: CommandHandler's default would also accept edited messages.
NEW_MESSAGE = filters.UpdateType.MESSAGE


# --- who is spoken to ---------------------------------------------------------------------


def _mention(username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(username)}\b", re.IGNORECASE)


def _is_private(chat: Chat | None) -> bool:
    return chat is not None and chat.type == ChatType.PRIVATE


class _AddressedToBot(filters.MessageFilter):
    """Private chats; in groups, a reply to one of the bot's messages or a mention of it."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if _is_private(message.chat):
            return True
        bot = message.get_bot()
        replied = message.reply_to_message
        author = replied.from_user if replied is not None else None
        if author is not None and author.id == bot.id:
            return True
        return bool(_mention(bot.username).search(message.text or message.caption or ""))


class _CommandForThisBot(filters.MessageFilter):
    """In groups `/cmd` goes to every bot: an unknown one is ours only if it names us."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if _is_private(message.chat):
            return True
        command = (message.text or "").split(maxsplit=1)[0]
        _, at, name = command.partition("@")
        return bool(at) and name.lower() == message.get_bot().username.lower()


ADDRESSED = _AddressedToBot(name="ADDRESSED")
COMMAND_FOR_US = _CommandForThisBot(name="COMMAND_FOR_US")


# --- sending ------------------------------------------------------------------------------


async def _send(update: Update, context: BotContext, outgoing: list[render.Outgoing]) -> None:
    """Send rendered messages to the update's chat; in groups, the first one quotes the
    message it answers so everyone sees who it is for. Parse mode and link previews come
    from the application's `Defaults`."""
    chat = update.effective_chat
    if chat is None:
        return
    quote = None
    if not _is_private(chat) and update.message is not None:
        quote = ReplyParameters(update.message.message_id, allow_sending_without_reply=True)
    for out in outgoing:
        await context.bot.send_message(chat.id, out.text, reply_markup=out.reply_markup,
                                       reply_parameters=quote)
        quote = None


async def _say(update: Update, context: BotContext, text: str, lang: str | None = None) -> None:
    await _send(update, context, render.plain(text, lang=lang or context.conversation.lang or FRENCH))


async def _send_reply(update: Update, context: BotContext, reply: Reply, question: str) -> None:
    """Send an engine reply, then log it and remember the commune it names."""
    private = _is_private(update.effective_chat)
    await _send(update, context, render.render_reply(reply, private=private, catalog=context.engine.catalog))
    await _record(update, context, reply, question)


async def _record(update: Update, context: BotContext, reply: Reply, question: str) -> None:
    # The answer is already sent: a storage failure is logged, never shown to the user.
    store, engine = context.store, context.engine
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


# --- flood guard (group -1) ---------------------------------------------------------------


async def guard_flood(update: Update, context: BotContext) -> None:
    """Stop updates from someone sending too many messages at once."""
    user = update.effective_user
    message, query = update.message, update.callback_query
    if user is None or (query is None and message is None):
        return  # edits, channel posts, member updates...: never answered anyway
    is_command = message is not None and (message.text or "").startswith("/")
    if message is not None and not is_command and not ADDRESSED.check_update(update):
        return  # group chatter the bot ignores should not count
    verdict = context.bot_data.flood.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        if query is not None:
            await query.answer(messages.FLOOD)
        else:
            await _say(update, context, messages.FLOOD, lang="fr")
    raise ApplicationHandlerStop


# --- commands -----------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """Greet the user with the themes; a deep link also opens its theme or entry."""
    engine = context.engine
    await _send(update, context, render.welcome(engine.kb.topics.values()))
    target = context.args[0] if context.args else ""
    if target in engine.kb.topics:
        await _send(update, context, render.topic_menu(
            engine.kb.topics[target], engine.kb.entries_of(target)))
    elif target in engine.kb.entries:
        reply = engine.entry_reply(target, context.conversation)
        if reply is not None:
            await _send_reply(update, context, reply, reply.entry.title if reply.entry else "")


async def help_command(update: Update, context: BotContext) -> None:
    """Explain how to use the bot, with the commands of the menu."""
    lang = context.conversation.lang
    await _say(update, context, help_text(context.engine.catalog, lang))


async def themes(update: Update, context: BotContext) -> None:
    """List the themes as buttons."""
    await _send(update, context, render.themes(context.engine.kb.topics.values()))


async def cio(update: Update, context: BotContext) -> None:
    """Give the nearest CIO for the saved commune, or ask where the user lives."""
    user = update.effective_user
    insee = await asyncio.to_thread(context.store.get_commune, user.id) if user else None
    reply = context.engine.nearest_cio(insee, context.conversation)
    await _send_reply(update, context, reply, "/cio")


async def privacy(update: Update, context: BotContext) -> None:
    """Say what the bot keeps, for how long, and how to erase it."""
    await _say(update, context, context.fixed("PRIVACY", days=context.settings.retention_days))


async def forget(update: Update, context: BotContext) -> None:
    """Erase everything tied to the user, on disk and in memory."""
    user = update.effective_user
    if user is None:
        return
    count = await asyncio.to_thread(context.store.forget_user, user.id)
    done = context.fixed("FORGOTTEN", count=count)  # in their language, before it is forgotten
    lang = context.conversation.lang or FRENCH  # read now: after the drop, nothing is recreated
    context.application.drop_user_data(user.id)
    await _say(update, context, done, lang=lang)


async def language(update: Update, context: BotContext) -> None:
    """Let the person choose the language of the replies."""
    await _send(update, context, render.plain(context.fixed("LANGUAGE_PROMPT"), render.languages_keyboard()))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command the bot does not know (or a maintainer command from anyone else)."""
    await _say(update, context, context.fixed("UNKNOWN_COMMAND"))


async def stats(update: Update, context: BotContext) -> None:
    """Show usage figures to a maintainer."""
    store, days = context.store, context.settings.retention_days
    figures = await asyncio.to_thread(store.stats)
    groups = await asyncio.to_thread(inbox_groups, store, days)
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
    await _say(update, context, "\n".join(lines), lang="fr")


async def reload_knowledge(update: Update, context: BotContext) -> None:
    """Reload the knowledge base for a maintainer, keeping the old one if it has errors."""
    from bot.understanding.engine import Engine

    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    settings = context.settings
    kb, problems = await asyncio.to_thread(load_knowledge, settings.knowledge_dir, None, False)
    errors = [p for p in problems if p.is_error]
    if errors:
        ordered = _by_file(errors) + _by_file([p for p in problems if not p.is_error])
        lines = [str(p) for p in ordered[:MAX_PROBLEM_LINES]]
        if len(ordered) > MAX_PROBLEM_LINES:
            lines.append(messages.MORE_PROBLEMS.format(count=len(ordered) - MAX_PROBLEM_LINES))
        logger.warning("Reload refused: %d error(s) in %s", len(errors), settings.knowledge_dir)
        await _say(update, context,
                   messages.RELOAD_FAILED.format(errors=len(errors)) + "\n\n" + "\n".join(lines), lang="fr")
        return
    engine, loaded = await asyncio.to_thread(Engine.load, settings.knowledge_dir, settings.cache_dir)
    context.bot_data.engine = engine  # one assignment: every later update sees the new base
    logger.info("Knowledge reloaded from %s: %d entries", settings.knowledge_dir, len(kb.entries))
    # What only the engine reads (the policy, the vectors' axes, the translations) is said too:
    # a policy fitted on other axes or a broken file must not go unseen by whoever reloaded.
    engine_problems = [p for p in loaded if p not in problems]
    lines = [str(p) for p in _by_file(engine_problems)[:MAX_PROBLEM_LINES]]
    done = messages.RELOAD_DONE.format(
        entries=len(kb.entries), topics=len(kb.topics), services=len(kb.services),
        communes=len(kb.communes), warnings=len(problems) + len(engine_problems))
    await _say(update, context, "\n\n".join([done, "\n".join(lines)]) if lines else done, lang="fr")


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


async def text_message(update: Update, context: BotContext) -> None:
    """Answer a question written in the user's own words."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = _mention(context.bot.username).sub(" ", message.text).strip()
    conversation = context.conversation
    user = update.effective_user
    conversation.client_lang = client_language(user.language_code if user else None)
    reply = context.engine.respond(text, conversation)
    await _send_reply(update, context, reply, text)


async def location_message(update: Update, context: BotContext) -> None:
    """Answer a shared position with the nearest services."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    location = message.location
    reply = context.engine.respond_location(location.latitude, location.longitude, context.conversation)
    await _send_reply(update, context, reply, "")


async def not_text(update: Update, context: BotContext) -> None:
    """Say that only written questions are understood."""
    await _say(update, context, context.fixed("NOT_TEXT"))


# --- buttons (one handler per kind of button, see `bot.telegram.render`) -------------------


def _pressed(update: Update) -> render.Button:
    """The button's decoded data; the handler's pattern already accepted it."""
    query = update.callback_query
    pressed = render.parse_callback(query.data if query is not None else None)
    if pressed is None:
        raise ValueError("a button handler ran for data its pattern refuses")
    return pressed


async def open_topic(update: Update, context: BotContext) -> None:
    """A theme button: list the theme's questions."""
    query, engine = update.callback_query, context.engine
    assert query is not None
    topic = engine.kb.topics.get(_pressed(update).target)
    if topic is None:  # a theme removed since the button was sent
        await query.answer(messages.STALE_BUTTON)
        return
    await query.answer()
    await _send(update, context, render.topic_menu(topic, engine.kb.entries_of(topic.id)))


async def open_entry(update: Update, context: BotContext) -> None:
    """An entry button, or the one asking for the French version of a translated answer."""
    query, engine, pressed = update.callback_query, context.engine, _pressed(update)
    assert query is not None
    if pressed.kind == "e":  # a button offered beside a town carries it: answered for that town
        reply = engine.entry_reply(pressed.target, context.conversation, pressed.commune)
    else:
        reply = engine.french_reply(pressed.target, context.conversation, pressed.commune)
    if reply is None:
        await query.answer(messages.STALE_BUTTON)
        return
    await query.answer()
    await _send_reply(update, context, reply, reply.entry.title if reply.entry else "")


async def open_place(update: Update, context: BotContext) -> None:
    """A place button under a list of places: its details and map."""
    query = update.callback_query
    assert query is not None
    reply = context.engine.place_reply(_pressed(update).target, context.conversation)
    if reply is None:  # a place removed since the list was sent
        await query.answer(messages.STALE_BUTTON)
        return
    await query.answer()
    await _send_reply(update, context, reply, "")


async def choose_language(update: Update, context: BotContext) -> None:
    """A language button of /langue: answer in that language from now on."""
    query, lang = update.callback_query, _pressed(update).target
    assert query is not None
    conversation = context.conversation
    conversation.chosen_lang = conversation.lang = lang
    await query.answer()
    await _say(update, context, context.fixed("LANGUAGE_CHOSEN"), lang=lang)


async def vote(update: Update, context: BotContext) -> None:
    """Record a 👍/👎 once per answer, thank the user and remove the vote buttons."""
    query, pressed = update.callback_query, _pressed(update)
    assert query is not None
    if pressed.target not in context.engine.kb.entries:
        await query.answer(messages.STALE_BUTTON)
        return
    message = query.message if isinstance(query.message, Message) else None
    if message is not None and context.chat_data is not None:
        voted = context.chat_data.voted
        if message.message_id in voted:  # a second tap before the buttons disappeared
            await query.answer()
            return
        voted.append(message.message_id)
    await asyncio.to_thread(context.store.record_feedback, pressed.target, bool(pressed.positive))
    if pressed.positive:
        await query.answer(context.fixed("FEEDBACK_THANKS_UP"))
    else:
        await query.answer()
        await _say(update, context, context.fixed("FEEDBACK_THANKS_DOWN"))
    if message is not None:
        await message.edit_reply_markup(render.without_feedback(message.reply_markup))


async def ignore(update: Update, context: BotContext) -> None:
    """A command for another bot in a group: not ours, and not text to answer either."""


async def stale_button(update: Update, context: BotContext) -> None:
    """Data no button of ours carries (forged, or from an older version of the bot)."""
    query = update.callback_query
    assert query is not None
    await query.answer(messages.STALE_BUTTON)


# --- the command table --------------------------------------------------------------------

Callback = Callable[[Update, BotContext], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    """One command: its names (the first is shown), what it does, who may use it.

    Public commands appear in the Telegram menu and in /aide, described by
    `messages.COMMANDS` (French) and `knowledge/i18n/messages.yaml` (other languages).
    Maintainer commands appear nowhere and answer others as an unknown command would.
    """

    names: tuple[str, ...]
    callback: Callback
    for_maintainers: bool = False
    block: bool = True  # False: other chats are served while this one works

    @property
    def name(self) -> str:
        return self.names[0]


COMMANDS: tuple[Command, ...] = (
    Command(("start",), start),
    Command(("aide", "help"), help_command),
    Command(("themes",), themes),
    Command(("cio",), cio),
    Command(("confidentialite",), privacy),
    Command(("oubli",), forget),
    Command(("langue", "language"), language),
    Command(("stats",), stats, for_maintainers=True),
    # Reading YAML takes a moment: let other chats be served meanwhile.
    Command(("recharger",), reload_knowledge, for_maintainers=True, block=False),
)
PUBLIC_COMMANDS = tuple(c.name for c in COMMANDS if not c.for_maintainers)


def menu(catalog: Catalog, lang: str) -> list[tuple[str, str]]:
    """The public commands with their descriptions in a language (French where missing)."""
    descriptions = catalog.commands(lang)
    return [(name, descriptions.get(name, name)) for name in PUBLIC_COMMANDS]


def help_text(catalog: Catalog, lang: str | None) -> str:
    """/aide: how to ask, the menu's commands (except /start), and the helplines."""
    lang = lang or FRENCH
    lines = [f"/{name} : {description}" if lang == FRENCH else f"/{name}: {description}"
             for name, description in menu(catalog, lang) if name != "start"]
    return "\n\n".join((
        catalog.text("HELP", lang),
        catalog.text("HELP_COMMANDS", lang) + "\n" + "\n".join(lines),
        catalog.text("HELP_DANGER", lang),
    ))


# --- wiring -------------------------------------------------------------------------------


def register(application: BotApplication, admin_ids: frozenset[int]) -> None:
    """Add every handler, the flood guard and the error handler to the application."""
    application.add_handler(TypeHandler(Update, guard_flood), group=-1)

    maintainers = filters.User(user_id=admin_ids, allow_empty=False) & filters.ChatType.PRIVATE
    for command in COMMANDS:
        only = NEW_MESSAGE & maintainers if command.for_maintainers else NEW_MESSAGE
        application.add_handler(CommandHandler(command.names, command.callback, filters=only,
                                               block=command.block))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND & COMMAND_FOR_US, unknown_command))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND, ignore))
    application.add_handler(MessageHandler(NEW_MESSAGE & ADDRESSED & filters.TEXT, text_message))
    application.add_handler(MessageHandler(NEW_MESSAGE & ADDRESSED & filters.LOCATION, location_message))
    application.add_handler(MessageHandler(NEW_MESSAGE & ADDRESSED & ~filters.StatusUpdate.ALL, not_text))

    for kinds, callback in ((("t",), open_topic), (("e", "fr"), open_entry), (("p",), open_place),
                            (("l",), choose_language), (("f",), vote)):
        application.add_handler(CallbackQueryHandler(callback, pattern=render.accepts(*kinds)))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_error_handler(error_handler)


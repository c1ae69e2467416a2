"""Complete conversations through the real Application, its HTTP layer and the fake Bot API.

The bot is built by `bot.telegram.app.build_application`, started like `run_polling` does
(initialize, post_init, polling, start) and talks HTTP to `tests/fake_bot_api.FakeBotApi`,
which validates every request as Telegram would (HTML, keyboards, callback answers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import SHARED_CACHE
from fake_bot_api import (
    BOT_USERNAME,
    DEFAULT_CHANNEL_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    TEST_TOKEN,
    FakeBotApi,
)
from telegram import Update

from bot import messages
from bot.settings import Settings
from bot.storage.store import DB_FILE, Store
from bot.telegram.app import build_application
from bot.telegram.context import BotApplication
from bot.telegram.flood import FloodGuard
from bot.telegram.handlers import PUBLIC_COMMANDS, help_text
from bot.understanding.engine import ANSWER, SUGGEST, Engine

REPO = Path(__file__).resolve().parent.parent
USER = DEFAULT_USER_ID
OTHER = 5550002
ADMIN = 7770001
WITNESS = 9990001  # its /aide marks the point where every earlier update is handled
VITRY = "94081"
CRETEIL = "94028"
IVRY = "94041"
TIMEOUT = 5.0
# /recharger builds a whole new engine: its time is the machine's (measured by benchmarks/, not
# here); on a slow day it passed 5 s, and the reply came after the test had given up.
RELOAD_TIMEOUT = 60.0


def callbacks(sent: dict[str, Any]) -> list[str]:
    markup = sent["reply_markup"] or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row
            if "callback_data" in b]


class Harness:
    """The running bot plus helpers that talk to it as users do."""

    def __init__(self, fake: FakeBotApi, app: BotApplication, settings: Settings) -> None:
        self.fake, self.app, self.settings = fake, app, settings

    @property
    def store(self) -> Store:
        assert self.app.bot_data.store is not None
        return self.app.bot_data.store

    @property
    def engine(self) -> Engine | None:
        return self.app.bot_data.engine

    def sent(self, chat_id: int = USER) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent_messages(chat_id) if m["method"] == "sendMessage"]

    async def wait_sent(self, chat_id: int, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(found := self.sent(chat_id)) < count:
            assert time.monotonic() < deadline, f"{len(found)}/{count} messages in {chat_id}"
            await asyncio.sleep(0.01)
        return found

    async def settle(self) -> None:
        """Wait until every update queued so far is handled (updates run in order)."""
        before = len(self.sent(WITNESS))
        self.fake.send_command("aide", user_id=WITNESS)
        await self.wait_sent(WITNESS, before + 1)

    async def exchange(self, send: Any, chat_id: int = USER, expect: int = 1,
                       timeout: float = TIMEOUT) -> list[dict]:
        """Queue an update with `send()`; return the `expect` messages the bot sends back."""
        before = len(self.sent(chat_id))
        send()
        return (await self.wait_sent(chat_id, before + expect, timeout))[before:]

    async def say(self, text: str, user_id: int = USER, expect: int = 1) -> list[dict]:
        return await self.exchange(lambda: self.fake.send_text(text, user_id=user_id),
                                   user_id, expect)

    async def command(self, name: str, args: str = "", user_id: int = USER,
                      expect: int = 1) -> list[dict]:
        return await self.exchange(lambda: self.fake.send_command(name, args, user_id=user_id), user_id, expect,
                                   RELOAD_TIMEOUT if name == "recharger" else TIMEOUT)

    async def press(self, message: dict, data: str, expect: int = 1,
                    check_button: bool = True) -> list[dict]:
        """Press a button; return the bot's new messages (after its callback answer)."""
        answered = len(self.fake.calls("answerCallbackQuery"))
        found = await self.exchange(
            lambda: self.fake.press_button(message, data, check_button=check_button),
            message["chat_id"], expect)
        await self.fake.async_wait_for_calls("answerCallbackQuery", answered + 1)
        return found

    def last_callback_answer(self) -> dict[str, Any]:
        call = self.fake.calls("answerCallbackQuery")[-1]
        assert call.ok, call.response
        return call.params


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(max_poll_wait=0.5) as api:
        yield api
        assert not api.internal_errors, "\n".join(api.internal_errors)


@pytest.fixture
async def bot(fake: FakeBotApi, tmp_path: Path, engine: Engine) -> AsyncIterator[Harness]:
    settings = Settings.from_env({
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_CACHE_DIR": str(SHARED_CACHE),
        "BOT_ADMIN_IDS": str(ADMIN),
        "BOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
    })
    app = build_application(settings, engine)  # loaded once per session: keeps each test fast
    # What run_polling does, minus the signal handlers that belong to the main program.
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    try:
        yield Harness(fake, app, settings)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)


def rows(db: Path, sql: str) -> list[tuple]:
    """Read the real SQLite file with a separate connection, as any other reader would."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def places(text: str) -> list[str]:
    """The names of the services listed in a reply ("1. CIO de X (...)")."""
    return re.findall(r"^\d+\. (.+?) \(", text, flags=re.MULTILINE)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- start, themes, questions --------------------------------------------------------------


async def test_start_greets_with_the_themes(bot: Harness, engine: Engine) -> None:
    [welcome] = await bot.command("start")
    assert welcome["text"].startswith(messages.WELCOME[:40])
    assert messages.PRIVACY_LINE in welcome["text"]
    assert callbacks(welcome) == [f"t:{t}" for t in engine.kb.topics]
    names = [c["command"] for c in bot.fake.my_commands()]
    assert names == list(PUBLIC_COMMANDS) and "stats" not in names and "recharger" not in names
    # The same menu for clients in each language the bot speaks, described in that language.
    arabic = bot.fake.my_commands(language_code="ar")
    assert [c["command"] for c in arabic] == names
    description = arabic[0]["description"]
    assert description != "Commencer" and any("\u0600" <= ch <= "\u06ff" for ch in description)


async def test_deep_links_open_a_theme_or_an_entry(bot: Harness, engine: Engine) -> None:
    _, menu = await bot.command("start", "stage-3e", expect=2)
    assert menu["text"] == messages.THEME_INTRO.format(title=engine.kb.topics["stage-3e"].title)
    assert callbacks(menu) == [f"e:{e.id}" for e in engine.kb.entries_of("stage-3e")]
    _, answer = await bot.command("start", "cio-quest-ce", expect=2)
    assert answer["text"].startswith(engine.kb.entries["cio-quest-ce"].title)
    await bot.command("start", "n-existe-pas")
    await bot.settle()
    assert len(bot.sent()) == 5  # an unknown payload only greets


async def test_help_and_privacy(bot: Harness, engine: Engine) -> None:
    [shown] = await bot.command("aide")
    assert shown["text"] == help_text(engine.catalog, "fr")
    # Made from the command table: every command of the menu but /start, described.
    for name in PUBLIC_COMMANDS[1:]:
        assert f"/{name} : {messages.COMMANDS[name]}" in shown["text"]
    [privacy] = await bot.command("confidentialite")
    assert privacy["text"] == messages.PRIVACY.format(days=bot.settings.retention_days)


async def test_a_question_is_answered_and_logged_without_its_text(
    bot: Harness, engine: Engine, tmp_path: Path
) -> None:
    expected = engine.respond("c koi un cio")
    assert expected.status == ANSWER and expected.entry is not None
    [answer] = await bot.say("c koi un cio")
    assert answer["parse_mode"] == "HTML"
    assert answer["text"].startswith(f"{expected.title}\n\n")
    assert answer["entities"][0] == {"type": "bold", "offset": 0, "length": len(expected.title)}
    assert callbacks(answer)[-2:] == [f"f:1:{expected.entry.id}", f"f:0:{expected.entry.id}"]
    await bot.settle()  # the reply is logged after it is sent
    assert rows(tmp_path / "data" / DB_FILE, "SELECT status, entry_id, text FROM questions") == [
        ("answer", expected.entry.id, None)
    ]


async def test_inbox_text_is_masked_before_it_is_folded(bot: Harness, tmp_path: Path) -> None:
    await bot.say("azertyuiop écrivez-moi à jean.dupont@gmail.com ou au 06 12 34 56 78")
    await bot.settle()
    stored = rows(tmp_path / "data" / DB_FILE, "SELECT status, text, normalised FROM questions")
    assert stored and stored[0][0] == "fallback"
    flat = " ".join(str(value) for row in stored for value in row)
    assert "dupont" not in flat and "gmail" not in flat and "12 34" not in flat and "0612" not in flat


async def test_theme_button_then_entry_then_follow_up(bot: Harness, engine: Engine) -> None:
    [menu] = await bot.command("themes")
    assert menu["text"] == messages.THEMES_INTRO
    [questions] = await bot.press(menu, "t:cio")
    first = engine.kb.entries_of("cio")[0]
    assert f"e:{first.id}" in callbacks(questions)
    [answer] = await bot.press(questions, f"e:{first.id}")
    assert answer["text"].startswith(first.title)
    follow = next(d for d in callbacks(answer) if d.startswith("e:"))
    target = engine.kb.entries[follow[2:]]
    found = await bot.press(answer, follow, expect=1)
    if target.needs_place:
        assert found[0]["text"] == messages.ASK_LOCATION
    else:
        assert found[0]["text"].startswith(target.title)


def _suggest_question(engine: Engine) -> str:
    """A question the engine is unsure about, found by asking it (no hard-coded guess)."""
    seen: set[str] = set()
    for entry in engine.kb.entries.values():
        for question in entry.questions:
            for word in question.split():
                word = word.strip("?!.,:;«»'\"()").lower()
                if len(word) < 4 or word in seen:
                    continue
                seen.add(word)
                reply = engine.respond(word)
                if reply.status == SUGGEST and len(reply.suggestions) >= 2:
                    return word
    raise AssertionError("no question gives suggestions")


async def test_did_you_mean_then_a_choice(bot: Harness, engine: Engine) -> None:
    question = _suggest_question(engine)
    expected = engine.respond(question)
    [suggest] = await bot.say(question)
    assert suggest["text"] == f"{messages.SUGGEST}\n\n{messages.HELPLINES_LINE}"  # "did you mean" gives the numbers
    assert callbacks(suggest) == [f"e:{e.id}" for e in expected.suggestions]
    chosen = expected.suggestions[0]
    [answer] = await bot.press(suggest, f"e:{chosen.id}")
    shown = chosen.title if chosen.topic != "chit-chat" else chosen.answer.splitlines()[0]  # small talk: no title
    assert answer["text"].startswith(shown) or answer["text"] == messages.ASK_LOCATION
    # The unsure question is the one kind whose (masked) text is kept, for the team.
    [(_, text, kept)] = rows(
        bot.settings.data_dir / DB_FILE,
        "SELECT status, text, suggestions FROM questions WHERE status = 'suggest'")
    assert text == question and chosen.id in kept


# --- places --------------------------------------------------------------------------------


async def test_nearest_cio_asks_for_the_town_then_lists_places(bot: Harness) -> None:
    [ask] = await bot.say("où est le CIO le plus proche ?")
    assert ask["text"] == messages.ASK_LOCATION
    keyboard = ask["reply_markup"]
    assert keyboard["keyboard"] == [[{"text": messages.SHARE_LOCATION_BUTTON,
                                      "request_location": True}]]
    assert keyboard["resize_keyboard"] and keyboard["one_time_keyboard"]
    assert keyboard["input_field_placeholder"] == "Ville ou code postal"

    listing, *_ = await bot.say("Vitry")
    assert listing["text"].startswith(
        messages.NEAREST_TITLE.format(kinds="CIO", place="Vitry-sur-Seine"))
    assert listing["reply_markup"] == {"remove_keyboard": True}
    links = [e for e in listing["entities"] if e["type"] == "text_link"]
    assert links and all(e["url"].startswith("https://www.openstreetmap.org/") for e in links)
    await bot.settle()
    assert await asyncio.to_thread(bot.store.get_commune, USER) == VITRY


async def test_a_town_outside_the_94_when_asked_where(bot: Harness) -> None:
    await bot.say("où est le CIO le plus proche ?")
    [honest] = await bot.say("je suis à Lyon")
    assert honest["text"].startswith(messages.OUTSIDE_94.format(place="Lyon").split("\n")[0])
    urls = [b["url"] for row in honest["reply_markup"]["inline_keyboard"] for b in row if "url" in b]
    assert any("service-public" in url for url in urls)  # the national directory, one tap away
    [postcode] = await bot.say("cio 13001")
    assert "13001" in postcode["text"] and "Val-de-Marne" in postcode["text"]


async def test_a_listed_place_opens_by_its_button_or_its_number(bot: Harness, engine: Engine) -> None:
    _, see_also = await bot.say("cio vitry", expect=2)
    listed = engine.respond("cio vitry")
    ids = [s.service.id for s in listed.services]
    assert callbacks(see_also)[:3] == [f"p:{i}" for i in ids]  # the places first, as numbered
    [details] = await bot.press(see_also, f"p:{ids[1]}")
    assert details["text"].startswith(listed.services[1].service.name)
    assert any(e["type"] == "text_link" and "openstreetmap" in e["url"] for e in details["entities"])
    [typed] = await bot.say("3")  # the list stays open: a number picks another place
    assert typed["text"].startswith(listed.services[2].service.name)
    await bot.press(see_also, "p:n-existe-pas", expect=0, check_button=False)
    assert bot.last_callback_answer()["text"] == messages.STALE_BUTTON


async def test_a_button_offered_beside_a_town_answers_for_that_town(bot: Harness) -> None:
    # "Is the CIO free? we live in Créteil": its button "where is the nearest CIO?" lists
    # Créteil's CIO at once, without asking the town again; the button carries its town, so one
    # pressed under an older message answers for that message's town, not the latest one.
    [creteil] = await bot.say("le CIO c'est gratuit ? on habite à Créteil")
    assert f"e:cio-plus-proche@{CRETEIL}" in callbacks(creteil)
    [vitry] = await bot.say("le CIO c'est gratuit ? on habite à Vitry")
    listing, *_ = await bot.press(creteil, f"e:cio-plus-proche@{CRETEIL}", expect=2)
    assert listing["text"].startswith(messages.NEAREST_TITLE.format(kinds="CIO", place="Créteil"))
    await bot.settle()
    assert await asyncio.to_thread(bot.store.get_commune, USER) == CRETEIL
    assert f"e:cio-plus-proche@{VITRY}" in callbacks(vitry)
    # A deep link names no town: the bot asks it.
    _, ask = await bot.command("start", "cio-plus-proche", expect=2)  # the welcome, then the question
    assert ask["text"] == messages.ASK_LOCATION


async def test_a_shared_location_then_cio_uses_the_saved_commune(bot: Harness) -> None:
    [ask] = await bot.command("cio")  # nothing saved yet: where do you live?
    assert ask["text"] == messages.ASK_LOCATION
    listing, *_ = await bot.exchange(lambda: bot.fake.send_location(48.7872, 2.3927))
    assert listing["text"].startswith(messages.NEAREST_TITLE.format(
        kinds="CIO", place="Vitry-sur-Seine"))
    await bot.settle()
    assert await asyncio.to_thread(bot.store.get_commune, USER) == VITRY
    again, *_ = await bot.command("cio")  # now known: no question asked
    assert again["text"].startswith(messages.NEAREST_TITLE.format(
        kinds="CIO", place="Vitry-sur-Seine"))
    assert places(again["text"]) == places(listing["text"])


# --- feedback ------------------------------------------------------------------------------


async def test_thumbs_up_is_stored_once_and_the_buttons_go(bot: Harness, tmp_path: Path) -> None:
    [answer] = await bot.say("c koi un cio")
    vote = next(d for d in callbacks(answer) if d.startswith("f:1:"))
    assert await bot.press(answer, vote, expect=0) == []
    assert bot.last_callback_answer()["text"] == messages.FEEDBACK_THANKS_UP
    await bot.fake.async_wait_for_calls("editMessageReplyMarkup", 1)
    await bot.settle()
    current = bot.fake.get_message(USER, answer["message_id"])
    assert current is not None
    remaining = [b.get("callback_data", "") for row in
                 current.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
    assert remaining and not [d for d in remaining if d.startswith("f:")]
    db = tmp_path / "data" / DB_FILE
    assert rows(db, "SELECT entry_id, positive FROM feedback") == [("cio-quest-ce", 1)]
    # A second tap that raced the edit is not counted.
    await bot.press(answer, vote, expect=0, check_button=False)
    await bot.settle()
    assert rows(db, "SELECT COUNT(*) FROM feedback") == [(1,)]


async def test_thumbs_down_gets_a_message(bot: Harness, tmp_path: Path) -> None:
    [answer] = await bot.say("c koi un cio")
    [thanks] = await bot.press(answer, "f:0:cio-quest-ce")
    assert thanks["text"] == messages.FEEDBACK_THANKS_DOWN
    await bot.settle()
    assert rows(tmp_path / "data" / DB_FILE, "SELECT positive FROM feedback") == [(0,)]


# --- what is not a question ----------------------------------------------------------------


def _raw_message(fake: FakeBotApi, content: dict[str, Any]) -> None:
    fake.send_sticker()  # makes sure the chat exists, then the odd content itself
    fake.queue_update("message", {
        "message_id": 900 + len(fake.calls()), "date": int(time.time()),
        "from": {"id": USER, "is_bot": False, "first_name": "Test"},
        "chat": {"id": USER, "type": "private", "first_name": "Test"}, **content,
    })


async def test_non_text_messages_get_not_text(bot: Harness) -> None:
    bot.app.bot_data.flood = FloodGuard(limit=100)  # nine messages in a row, on purpose
    senders = [bot.fake.send_sticker, bot.fake.send_photo, bot.fake.send_voice,
               bot.fake.send_document, bot.fake.send_contact]
    for send in senders:
        [reply] = await bot.exchange(send)
        assert reply["text"] == messages.NOT_TEXT
    video = {"video": {"file_id": "v1", "file_unique_id": "uv1", "width": 1, "height": 1,
                       "duration": 1}}
    poll = {"poll": {
        "id": "p1", "question": "?", "total_voter_count": 0, "is_closed": False,
        "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
        "allows_revoting": False, "members_only": False,
        "options": [{"text": t, "voter_count": 0, "persistent_id": t} for t in "ab"],
    }}
    for content in (video, poll):
        replies = await bot.exchange(lambda c=content: _raw_message(bot.fake, c), expect=2)
        assert [r["text"] for r in replies] == [messages.NOT_TEXT] * 2


async def test_groups_only_when_spoken_to(bot: Harness, engine: Engine) -> None:
    group = DEFAULT_SUPERGROUP_ID
    bot.fake.group_message("c koi un cio")
    bot.fake.send_sticker(chat_id=group, chat_type="supergroup")
    bot.fake.send_command("inconnue", chat_id=group, chat_type="supergroup")
    await bot.settle()
    assert bot.sent(group) == []

    [answer] = await bot.exchange(
        lambda: bot.fake.group_message("c koi un cio", mention_bot=True), group)
    assert answer["text"].startswith(engine.kb.entries["cio-quest-ce"].title)
    assert answer["message"]["reply_to_message"]["text"].startswith(f"@{BOT_USERNAME}")
    # A reply to one of the bot's messages needs no mention.
    [again] = await bot.exchange(lambda: bot.fake.send_text(
        "stage de 3e", chat_id=group, chat_type="supergroup",
        reply_to_message_id=answer["message_id"]), group)
    expected_again = engine.respond("stage de 3e")
    assert again["text"].startswith(expected_again.text.split("\n")[0])
    [unknown] = await bot.exchange(lambda: bot.fake.send_command(
        f"inconnue@{BOT_USERNAME}", chat_id=group, chat_type="supergroup"), group)
    assert unknown["text"] == messages.UNKNOWN_COMMAND
    # No location button in groups (Telegram refuses it there).
    [ask] = await bot.exchange(lambda: bot.fake.group_message(
        "où est le CIO le plus proche ?", mention_bot=True), group)
    assert ask["text"] == messages.ASK_LOCATION_CONSOLE and ask["reply_markup"] is None


async def test_channel_posts_and_edits_are_ignored(bot: Harness) -> None:
    bot.fake.channel_post("c koi un cio")
    [answer] = await bot.say("c koi un cio")
    bot.fake.edit_text(answer["message_id"] - 1, "stage de 3e")
    await bot.settle()
    assert bot.sent(DEFAULT_CHANNEL_ID) == []
    assert len(bot.sent()) == 1


async def test_forged_buttons_are_stale_never_errors(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.app.bot_data.flood = FloodGuard(limit=100)  # this test taps faster than people do
    [menu] = await bot.command("themes")
    forged = ["e:n-existe-pas", "t:n-existe-pas", "f:1:n-existe-pas", "f:7:cio-quest-ce",
              "e:<b>", "zzz", "e:", "t:" + "x" * 60]
    for data in forged:
        assert await bot.press(menu, data, expect=0, check_button=False) == []
        assert bot.last_callback_answer()["text"] == messages.STALE_BUTTON
    await bot.settle()
    assert len(bot.sent()) == 1
    assert not errors_logged(caplog)


# --- failures of Telegram ------------------------------------------------------------------


async def test_a_429_is_retried_by_the_rate_limiter(bot: Harness) -> None:
    bot.fake.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    [answer] = await bot.say("c koi un cio")
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")
    first, second = bot.fake.calls("sendMessage")[:2]
    assert (first.status, second.ok) == (429, True)
    assert time.monotonic() - started >= 1.0


async def test_a_5xx_goes_to_the_error_handler_and_the_bot_goes_on(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.fake.fail_next("sendMessage", 500)
    [sorry] = await bot.say("c koi un cio")
    assert sorry["text"] == messages.ERROR
    warned = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    assert warned and warned[0].levelno == logging.WARNING
    assert "private chat" in warned[0].getMessage()
    [answer] = await bot.say("c koi un cio")
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert TEST_TOKEN not in logged and "c koi" not in logged  # no token, no user text


class _Broken:
    """An engine whose answers crash (a bug in the core, say)."""

    def __init__(self, engine: Engine) -> None:
        self.kb, self.normaliser = engine.kb, engine.normaliser

    def respond(self, *args: object) -> None:
        raise RuntimeError("boom")


async def test_a_bug_in_a_callback_is_logged_and_the_user_told(
    bot: Harness, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    bot.app.bot_data.engine = _Broken(engine)  # type: ignore[assignment]
    [sorry] = await bot.say("c koi un cio")
    assert sorry["text"] == messages.ERROR
    [record] = errors_logged(caplog)
    assert record.name == "bot.telegram.errors" and record.exc_info is not None
    assert "message in a private chat" in record.getMessage()
    bot.app.bot_data.engine = engine
    [answer] = await bot.say("c koi un cio")  # the process went on
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")


# --- privacy -------------------------------------------------------------------------------


async def test_oubli_forgets_only_the_asker(bot: Harness) -> None:
    await bot.say("cio vitry", expect=2)
    await bot.say("cio créteil", user_id=OTHER, expect=2)
    await bot.settle()
    assert await asyncio.to_thread(bot.store.get_commune, USER) == VITRY
    [done] = await bot.command("oubli")
    assert done["text"] == messages.FORGOTTEN.format(count=1)
    assert await asyncio.to_thread(bot.store.get_commune, USER) is None
    assert await asyncio.to_thread(bot.store.get_commune, OTHER) == CRETEIL
    assert USER not in bot.app.user_data  # the conversation in memory too
    [first] = await bot.command("oubli", user_id=OTHER + 1)  # a first message: nothing to keep
    assert first["text"] == messages.FORGOTTEN.format(count=0)
    assert OTHER + 1 not in bot.app.user_data


# --- maintainers ---------------------------------------------------------------------------


async def test_stats_for_admins_unknown_for_others(bot: Harness) -> None:
    await bot.say("c koi un cio")
    await bot.say("xyzzy plugh", user_id=OTHER)
    [answer] = await bot.say("c koi un cio")
    await bot.press(answer, "f:0:cio-quest-ce")
    [report] = await bot.command("stats", user_id=ADMIN)
    text = report["text"]
    assert text.startswith(messages.STATS_HEADER.format(day=3, week=3))
    assert f"- {messages.STATUS_LABELS['answer']} : 2 (67 %)" in text
    assert "- 1 × xyzzy plugh" in text
    assert "- cio-quest-ce : 1 👎, 0 👍" in text

    [unknown] = await bot.command("nimportequoi", user_id=OTHER)
    [refused] = await bot.command("stats", user_id=OTHER)
    assert refused["text"] == unknown["text"] == messages.UNKNOWN_COMMAND
    assert refused["reply_markup"] == unknown["reply_markup"]


async def test_reload_for_admins_unknown_for_others(bot: Harness) -> None:
    old = bot.engine
    [refused] = await bot.command("recharger", user_id=OTHER)
    assert refused["text"] == messages.UNKNOWN_COMMAND
    assert bot.engine is old
    assert not bot.fake.calls("sendChatAction")

    [done] = await bot.command("recharger", user_id=ADMIN)
    assert done["text"].startswith("Base rechargée")
    assert bot.fake.calls("sendChatAction")[0].params["action"] == "typing"
    assert bot.engine is not old
    [answer] = await bot.say("c koi un cio")
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")


async def test_reload_says_what_only_the_engine_reads(bot: Harness, tmp_path: Path) -> None:
    """A policy fitted on another FAQ, or vectors' axes missing: the base reloads, and whoever
    reloaded it is told, as `check` would tell them."""
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", copy)
    faq = copy / "faq" / "cio.yaml"
    added = "      - c koi un cio\n      - ca veut dire quoi cio au juste\n"
    faq.write_text(faq.read_text(encoding="utf-8").replace("      - c koi un cio\n", added, 1), encoding="utf-8")
    bot.app.bot_data.settings = dataclasses.replace(bot.settings, knowledge_dir=copy)
    [done] = await bot.command("recharger", user_id=ADMIN)
    lines = done["text"].splitlines()
    assert lines[0].startswith("Base rechargée") and "(1 avertissement(s))" in lines[0], lines
    assert any(line.startswith("policy.yaml:1: avertissement : la FAQ a changé") for line in lines), lines
    [answer] = await bot.say("c koi un cio")
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")


async def test_reload_of_a_broken_base_keeps_the_old_one(bot: Harness, tmp_path: Path) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", broken)
    with (broken / "faq" / "cio.yaml").open("a", encoding="utf-8") as faq:
        faq.write("  - id: [cassé\n    answer: oops\n")
    bot.app.bot_data.settings = dataclasses.replace(bot.settings, knowledge_dir=broken)
    old = bot.engine

    [report] = await bot.command("recharger", user_id=ADMIN)
    lines = report["text"].splitlines()
    assert lines[0].startswith("Base NON rechargée")
    problems = [line for line in lines if re.match(r".+\.yaml:\d+: ", line)]
    assert 0 < len(problems) <= 15
    assert any(re.search(r"faq/cio\.yaml:\d+: ", line) for line in problems)
    assert bot.engine is old
    [answer] = await bot.say("c koi un cio")  # still served by the old base
    assert answer["text"].startswith("Qu'est-ce qu'un CIO")


# --- size, markup and flood ----------------------------------------------------------------


async def test_a_long_message_full_of_markup(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    text = ("<b>stage</b> & <script>x</script> " * 200)[:5000]
    [reply] = await bot.say(text)
    assert reply["text"]
    assert not errors_logged(caplog)


async def test_flood_warns_once_then_drops_then_recovers(bot: Harness) -> None:
    now = [0.0]
    bot.app.bot_data.flood = FloodGuard(limit=3, window=10.0, clock=lambda: now[0])
    for _ in range(5):
        bot.fake.send_text("bonjour")
    await bot.settle()
    texts = [m["text"] for m in bot.sent()]
    assert len(texts) == 4 and texts[3] == messages.FLOOD
    now[0] = 10.0
    [answer] = await bot.say("bonjour")
    assert answer["text"] != messages.FLOOD


# --- other languages ----------------------------------------------------------------------------


async def test_a_whole_conversation_in_arabic(bot: Harness, engine: Engine) -> None:
    """A parent writes in Arabic: replies, buttons and fixed messages in Arabic, right to left."""
    [answer] = await bot.say("ابني يتعرض للتنمر في المدرسة كل يوم، ماذا أفعل؟")
    entry = engine.kb.entries["securite-harcelement"]
    arabic = entry.translations["ar"]
    assert arabic.title in answer["text"] and "3018" in answer["text"]
    assert answer["text"].startswith("\u200f")  # a right-to-left mark before each line
    assert engine.catalog.text("TRANSLATED_NOTE", "ar") in answer["text"]
    assert "fr:securite-harcelement" in callbacks(answer)
    # The French version, the reference, one button away.
    [french] = await bot.press(answer, "fr:securite-harcelement")
    assert french["text"].startswith(entry.title)
    # A fixed message in Arabic too.
    [unknown] = await bot.command("nimportequoi")
    assert unknown["text"] == "\u200f" + engine.catalog.text("UNKNOWN_COMMAND", "ar")  # right to left
    # /aide in Arabic lists every command of the menu, /langue included, described in Arabic.
    [shown] = await bot.command("aide")
    assert shown["text"].replace("\u200f", "") == help_text(engine.catalog, "ar")
    for name, description in engine.catalog.commands("ar").items():
        assert name == "start" or f"/{name}: {description}" in shown["text"]
    assert "/langue" in shown["text"] and "3114" in shown["text"]


async def test_the_french_version_keeps_the_town_named_in_the_question(bot: Harness, engine: Engine) -> None:
    # Asked in English with a town: the "Voir en français" button carries the town, so the
    # French answer's "where is the nearest CIO?" lists Ivry's CIO at once.
    [answer] = await bot.say("is the CIO free? we live in Ivry")
    assert f"fr:cio-gratuit@{IVRY}" in callbacks(answer)
    [french] = await bot.press(answer, f"fr:cio-gratuit@{IVRY}")
    assert french["text"].startswith(engine.kb.entries["cio-gratuit"].title)
    assert f"e:cio-plus-proche@{IVRY}" in callbacks(french)
    # The list comes in the family's language (English), as any reply after the French version.
    listing, *_ = await bot.press(french, f"e:cio-plus-proche@{IVRY}", expect=2)
    assert listing["text"].startswith(engine.catalog.text("NEAREST_TITLE", "en").format(
        kinds="CIO", place="Ivry-sur-Seine"))


async def test_langue_chooses_the_language_of_the_replies(bot: Harness, engine: Engine) -> None:
    [menu] = await bot.command("langue")
    assert callbacks(menu) == [f"l:{lang}" for lang in ("fr", "en", "ar", "pt", "es", "tr", "zh")]
    [chosen] = await bot.press(menu, "l:pt")
    assert chosen["text"] == engine.catalog.text("LANGUAGE_CHOSEN", "pt")
    [answer] = await bot.say("Le CIO c'est gratuit ?")  # French words, Portuguese chosen
    assert engine.kb.entries["cio-gratuit"].translations["pt"].title in answer["text"]


async def test_a_french_sms_from_an_english_phone_stays_french(bot: Harness) -> None:
    [answer] = await bot.say("slt jcherch 1 stag d 3em mé jconé persone")  # the fake client says "en"
    assert "Réponse traduite" not in answer["text"] and "translated" not in answer["text"].lower()

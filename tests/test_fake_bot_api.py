"""The fake Bot API must refuse what Telegram refuses and accept what it accepts.

Every check goes through a real python-telegram-bot ``Bot`` (or ``Application``) so the
fake is proven against the library's actual request encoding and error mapping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from fake_bot_api import (
    BOT_ID,
    BOT_USERNAME,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    TEST_TOKEN,
    FakeBotApi,
    UploadedFile,
    keyboard_buttons,
)
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

USER = DEFAULT_USER_ID


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        api.add_chat(USER, "private", first_name="Test")
        yield api
        assert not api.internal_errors, "\n".join(api.internal_errors)


@pytest_asyncio.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, base_url=fake.base_url) as real_bot:
        yield real_bot


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _raw_post(url: str, data: bytes = b"", content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ----------------------------------------------------------------------------- basics


@pytest.mark.asyncio
async def test_get_me_returns_the_test_bot(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (BOT_ID, True, "Orientation 94", BOT_USERNAME)
    assert me.can_join_groups is True
    assert fake.calls("getMe")[0].ok


def test_base_url_and_context_manager() -> None:
    with FakeBotApi() as api:
        assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
        status, body = _raw_post(f"{api.base_url}{TEST_TOKEN}/getMe")
        assert status == 200 and body["result"]["id"] == BOT_ID
    with pytest.raises(RuntimeError):
        _ = api.base_url


def test_wrong_token_and_unknown_method_are_refused(fake: FakeBotApi) -> None:
    root = fake.base_url.removesuffix("/bot")
    not_found = (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert _raw_post(f"{root}/botnot-a-token/getMe") == not_found
    assert _raw_post(f"{root}/bot/getMe") == not_found
    assert _raw_post(f"{root}/elsewhere") == not_found
    assert _raw_post(f"{fake.base_url}{TEST_TOKEN}/sendPhoto") == not_found
    with FakeBotApi(strict_token=True) as strict:
        assert _raw_post(f"{strict.base_url}999:other/getMe")[0] == 401
        assert _raw_post(f"{strict.base_url}{TEST_TOKEN}/getMe")[0] == 200
    # Method names are case-insensitive on Telegram's server.
    assert _raw_post(f"{fake.base_url}{TEST_TOKEN}/getme")[0] == 200


@pytest.mark.asyncio
async def test_unknown_method_and_bad_token_through_ptb(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound, match="noSuchMethod"):
        await bot.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken):
        async with Bot("bad-token", base_url=fake.base_url):
            pass


# ----------------------------------------------------------------------------- sendMessage


@pytest.mark.asyncio
async def test_send_message_with_valid_html(fake: FakeBotApi, bot: Bot) -> None:
    text = (
        '<b>Bold</b> <i>it</i> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> <a href="https://example.org/a?b=1&amp;c=2">'
        'link</a> <code>c</code> <pre><code class="language-python">x = 1</code></pre> <blockquote expandable>q'
        "</blockquote> 1 &lt; 2 &amp;&amp; 3 &gt; 2 &#233; &#x1F600; &quot;"
    )
    message = await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    assert message.text == 'Bold it u s sp link c x = 1 q 1 < 2 && 3 > 2 é 😀 "'
    kinds = [entity.type for entity in message.entities]
    assert kinds == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
        "pre",
        "expandable_blockquote",
    ]
    assert message.parse_entities(["text_link"]) == {message.entities[5]: "link"}
    assert message.entities[5].url == "https://example.org/a?b=1&c=2"
    assert message.entities[7].language == "python"

    (sent,) = fake.sent_messages(USER)
    assert sent["raw_text"] == text and sent["text"] == message.text
    assert sent["message_id"] == message.message_id and sent["chat_id"] == USER
    call = fake.calls("sendMessage")[0]
    assert call.params["chat_id"] == USER and call.params["parse_mode"] == "HTML"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("x&nbsp;y", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("Tom & Jerry", 'Unsupported HTML entity "&" at byte offset 4'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("tail <", "Unclosed start tag at byte offset 5"),
    ],
)
async def test_invalid_html_is_refused(fake: FakeBotApi, bot: Bot, html: str, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(USER, html, parse_mode=ParseMode.HTML)
    assert caught.value.message.lower().startswith(f"can't parse entities: {reason}".lower())
    call = fake.calls("sendMessage")[-1]
    assert call.status == 400 and call.description.startswith("Bad Request: can't parse entities: ")
    assert fake.sent_messages() == []


@pytest.mark.asyncio
async def test_lenient_html_mode_shows_unknown_entities_verbatim_like_telegram(bot: Bot) -> None:
    with FakeBotApi(strict_html=False) as lenient:
        lenient.add_chat(USER)
        async with Bot(TEST_TOKEN, base_url=lenient.base_url) as lenient_bot:
            message = await lenient_bot.send_message(USER, "Tom & Jerry&nbsp;", parse_mode=ParseMode.HTML)
    assert message.text == "Tom & Jerry&nbsp;"


@pytest.mark.asyncio
async def test_text_length_is_checked_after_entity_parsing(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "x" * 5000)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "&amp;" * 4097, parse_mode=ParseMode.HTML)
    exact = await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(exact.text) == 4096


@pytest.mark.asyncio
async def test_empty_text_is_refused(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "")
    # After parsing/trimming Telegram's wording differs (tdlib: "Text must be non-empty").
    for text in ("   \n ", "<b></b>", "<i> </i>"):
        with pytest.raises(BadRequest, match=r"(?i)text must be non-empty"):
            await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    _, body = _raw_post(f"{fake.base_url}{TEST_TOKEN}/sendMessage", json.dumps({"chat_id": USER}).encode())
    assert body["description"] == "Bad Request: message text is empty"


@pytest.mark.asyncio
async def test_markdown_is_not_implemented_by_the_fake(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)does not implement parse_mode 'MarkdownV2'; use HTML"):
        await bot.send_message(USER, "*bold*", parse_mode=ParseMode.MARKDOWN_V2)


@pytest.mark.asyncio
async def test_unknown_chat_is_refused_and_updates_make_chats_known(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hello")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message("@nobody_here", "hello")
    fake.send_text("hi", chat_id=777)
    assert (await bot.send_message(777, "hello")).chat.id == 777


@pytest.mark.asyncio
async def test_blocked_user_gives_forbidden(fake: FakeBotApi, bot: Bot) -> None:
    fake.set_blocked(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")


@pytest.mark.asyncio
async def test_replies_need_an_existing_message(fake: FakeBotApi, bot: Bot) -> None:
    update = fake.send_text("question")
    asked = update["message"]["message_id"]
    answer = await bot.send_message(USER, "answer", reply_to_message_id=asked)
    assert answer.reply_to_message is not None and answer.reply_to_message.text == "question"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "answer", reply_to_message_id=9999)


# ----------------------------------------------------------------------------- keyboards


@pytest.mark.asyncio
async def test_callback_data_limit_is_64_bytes(fake: FakeBotApi, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])  # 64 bytes
    message = await bot.send_message(USER, "menu", reply_markup=ok)
    assert message.reply_markup == ok
    for data in ("x" * 65, "é" * 33):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("too long", callback_data=data)]])
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(USER, "menu", reply_markup=markup)
    assert fake.calls("sendMessage")[-1].description == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(
    ("button", "reason"),
    [
        ({"text": "a", "url": "ftp://example.org"}, "inline keyboard button URL 'ftp://example.org' is invalid"),
        ({"text": "a", "url": "http://localhost:8080"}, "is invalid: Wrong HTTP URL"),
        ({"text": "a", "url": "https://exa mple.org"}, "is invalid: Disallowed character in URL host"),
        ({"text": "a"}, "Text buttons are unallowed in the inline keyboard"),
        ({"text": "", "callback_data": "x"}, "text must be non-empty"),
        ({"text": "a", "url": "https://example.org", "callback_data": "x"}, "exactly one of the optional fields"),
        ({"callback_data": "x"}, 'Can\'t find field "text"'),
    ],
)
def test_invalid_inline_buttons_are_refused(fake: FakeBotApi, button: dict[str, Any], reason: str) -> None:
    # Sent raw: PTB's own InlineKeyboardButton refuses some of these shapes client-side.
    payload = {"chat_id": USER, "text": "menu", "reply_markup": json.dumps({"inline_keyboard": [[button]]})}
    status, body = _raw_post(
        f"{fake.base_url}{TEST_TOKEN}/sendMessage", urlencode(payload).encode(), "application/x-www-form-urlencoded"
    )
    assert status == 400 and reason in body["description"], body


@pytest.mark.asyncio
async def test_valid_inline_buttons_are_accepted(fake: FakeBotApi, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Site", url="https://example.org/x"), InlineKeyboardButton("Go", callback_data="go")],
            [InlineKeyboardButton("Channel", url="tg://resolve?domain=telegram")],
        ]
    )
    message = await bot.send_message(USER, "menu", reply_markup=markup)
    assert message.reply_markup == markup
    assert [b["text"] for b in keyboard_buttons(fake.sent_messages()[0]["reply_markup"])] == ["Site", "Go", "Channel"]


@pytest.mark.asyncio
async def test_reply_keyboards_and_removal(fake: FakeBotApi, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("📍 Share my location", request_location=True)], ["Cancel"]],
        resize_keyboard=True,
        one_time_keyboard=True,
        is_persistent=False,
        input_field_placeholder="Where are you?",
    )
    message = await bot.send_message(USER, "Where?", reply_markup=keyboard)
    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    sent = fake.sent_messages()[-1]["reply_markup"]
    assert sent["keyboard"][0][0] == {"text": "📍 Share my location", "request_location": True}
    assert sent["resize_keyboard"] is True and sent["input_field_placeholder"] == "Where are you?"
    await bot.send_message(USER, "Thanks", reply_markup=ReplyKeyboardRemove())

    fake.group_message("hello")
    with pytest.raises(BadRequest, match=r"(?i)location can be requested in private chats only"):
        await bot.send_message(DEFAULT_SUPERGROUP_ID, "Where?", reply_markup=keyboard)
    bad = {"chat_id": USER, "text": "x", "reply_markup": {"keyboard": [[{"text": "a", "request_location": "yes"}]]}}
    _, body = _raw_post(f"{fake.base_url}{TEST_TOKEN}/sendMessage", json.dumps(bad).encode())
    assert (
        body["description"]
        == 'Bad Request: can\'t parse keyboard button: Field "request_location" must be of type Boolean'
    )
    bad["reply_markup"] = {"keyboard": ["not a row"]}
    _, body = _raw_post(f"{fake.base_url}{TEST_TOKEN}/sendMessage", json.dumps(bad).encode())
    assert body["description"] == 'Bad Request: field "keyboard" must be an Array of Arrays'


# ----------------------------------------------------------------------------- edits and callbacks


@pytest.mark.asyncio
async def test_edit_message_text_rules(fake: FakeBotApi, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Next", callback_data="next")]])
    sent = await bot.send_message(USER, "<b>Page 1</b>", parse_mode=ParseMode.HTML, reply_markup=markup)

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id + 100)
    user_message = fake.send_text("mine")["message"]["message_id"]
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=user_message)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Page 1</b>", chat_id=USER, message_id=sent.message_id, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    edited = await bot.edit_message_text("Page 2", chat_id=USER, message_id=sent.message_id, reply_markup=markup)
    assert isinstance(edited, type(sent)) and edited.text == "Page 2" and edited.edit_date is not None
    # Like Telegram, an edit without reply_markup removes the inline keyboard.
    removed = await bot.edit_message_text("Page 2", chat_id=USER, message_id=sent.message_id)
    assert removed.reply_markup is None
    assert fake.get_message(USER, sent.message_id)["text"] == "Page 2"
    assert [m["method"] for m in fake.sent_messages()] == ["sendMessage", "editMessageText", "editMessageText"]

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    again = await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=markup)
    assert again.reply_markup == markup
    with pytest.raises(BadRequest, match=r"(?i)inline keyboard expected"):
        await bot.edit_message_text(
            "Page 3", chat_id=USER, message_id=sent.message_id, reply_markup=ReplyKeyboardMarkup([["a"]])
        )


@pytest.mark.asyncio
async def test_answer_callback_query_rules(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired or query ID is invalid"):
        await bot.answer_callback_query("123")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(USER, "Sure?", reply_markup=markup)

    with pytest.raises(AssertionError, match="no button with callback_data 'no'"):
        fake.press_button(sent, "no")
    update = fake.press_button(fake.sent_messages()[0], "yes")
    query_id = update["callback_query"]["id"]
    parsed = Update.de_json(update, bot)
    assert parsed.callback_query.data == "yes" and parsed.callback_query.message.message_id == sent.message_id

    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Done") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


# ----------------------------------------------------------------------------- fault injection


@pytest.mark.asyncio
async def test_injected_429_becomes_retry_after(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates int retry_after in favour of timedelta
        await bot.send_message(USER, "hello")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _seconds(caught.value.retry_after) == 7
    call = fake.calls("sendMessage")[0]
    assert call.status == 429 and call.response["parameters"] == {"retry_after": 7}
    assert call.description == "Too Many Requests: retry after 7"
    assert (await bot.send_message(USER, "hello")).text == "hello"  # only the next call fails


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502])
async def test_injected_5xx_becomes_network_error(fake: FakeBotApi, bot: Bot, status: int) -> None:
    fake.fail_next("sendMessage", status, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(USER, "hello")
        assert type(caught.value) is NetworkError  # not BadRequest, which subclasses NetworkError
    assert fake.calls("sendMessage")[0].status == status
    assert (await bot.send_message(USER, "hello")).text == "hello"


@pytest.mark.asyncio
async def test_injected_4xx_errors_map_like_telegram(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")
    fake.fail_next("getUpdates", 409)
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await bot.get_updates()


@pytest.mark.asyncio
async def test_dropped_connection_is_a_network_error(fake: FakeBotApi, bot: Bot) -> None:
    fake.drop_connection_next("sendMessage")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "hello")
    assert type(caught.value) is NetworkError
    dropped = fake.calls("sendMessage")[0]
    assert (dropped.ok, dropped.status) == (False, 0)
    assert (await bot.send_message(USER, "again")).text == "again"


# ----------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_get_updates_honours_offset_and_limit(fake: FakeBotApi, bot: Bot) -> None:
    first = fake.send_text("one")
    second = fake.send_command("start", "deep-link")
    third = fake.send_location(48.79, 2.46)
    assert first["update_id"] < second["update_id"] < third["update_id"]

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"], third["update_id"]]
    assert updates[1].message.text == "/start deep-link"
    assert updates[1].message.parse_entities(["bot_command"]) == {updates[1].message.entities[0]: "/start"}
    assert updates[2].message.location.latitude == pytest.approx(48.79)

    limited = await bot.get_updates(offset=second["update_id"], limit=1, timeout=0)
    assert [u.update_id for u in limited] == [second["update_id"]]
    assert [u["update_id"] for u in fake.pending_updates()] == [second["update_id"], third["update_id"]]
    assert await bot.get_updates(offset=third["update_id"] + 1, timeout=0) == ()
    assert fake.pending_updates() == []


@pytest.mark.asyncio
async def test_long_poll_waits_for_an_update_or_the_capped_timeout(bot: Bot) -> None:
    with FakeBotApi(max_poll_wait=0.3) as quick:
        quick.add_chat(USER)
        async with Bot(TEST_TOKEN, base_url=quick.base_url) as quick_bot:
            started = time.monotonic()
            assert await quick_bot.get_updates(timeout=30) == ()
            assert 0.25 <= time.monotonic() - started < 2

            threading.Timer(0.1, quick.send_text, args=("wake up",)).start()
            started = time.monotonic()
            updates = await quick_bot.get_updates(timeout=30)
            assert [u.message.text for u in updates] == ["wake up"]
            assert time.monotonic() - started < 0.3


def test_stop_does_not_wait_for_pending_long_polls() -> None:
    api = FakeBotApi(max_poll_wait=30).start()
    url = f"{api.base_url}{TEST_TOKEN}/getUpdates"
    answers: list[tuple[int, dict[str, Any]]] = []
    poller = threading.Thread(target=lambda: answers.append(_raw_post(url, b'{"timeout": 30}')), daemon=True)
    poller.start()
    time.sleep(0.2)  # let the long poll reach the server
    started = time.monotonic()
    api.stop()
    poller.join(timeout=2)
    assert time.monotonic() - started < 1.5 and not poller.is_alive()
    assert answers == [(200, {"ok": True, "result": []})]  # answered, not cut off


@pytest.mark.asyncio
async def test_update_makers_produce_updates_ptb_understands(fake: FakeBotApi, bot: Bot) -> None:
    made = [
        fake.send_sticker(),
        fake.send_photo(caption="look"),
        fake.send_voice(),
        fake.send_document(file_name="bulletin.pdf"),
        fake.send_contact(),
        fake.channel_post("news"),
        fake.group_message("hello all", mention_bot=True),
        fake.group_message("no mention", chat_type="group"),
    ]
    text_id = fake.send_text("typo")["message"]["message_id"]
    made.append(fake.edit_text(text_id, "fixed"))
    parsed = [Update.de_json(update, bot) for update in made]

    assert parsed[0].message.sticker.emoji == "👍"
    assert parsed[1].message.photo[-1].width == 800 and parsed[1].message.caption == "look"
    assert parsed[2].message.voice is not None and made[2]["message"]["voice"]["duration"] == 3
    assert parsed[3].message.document.file_name == "bulletin.pdf"
    assert parsed[4].message.contact.user_id == USER
    assert parsed[5].channel_post.chat.type == "channel" and parsed[5].channel_post.from_user is None
    group = parsed[6].message
    assert group.chat.type == "supergroup" and group.from_user.id == USER
    assert list(group.parse_entities(["mention"]).values()) == [f"@{BOT_USERNAME}"]
    assert parsed[7].message.chat.type == "group" and not parsed[7].message.entities
    assert parsed[8].edited_message.text == "fixed" and parsed[8].edited_message.edit_date is not None
    assert len({u.update_id for u in parsed}) == len(parsed)


# ----------------------------------------------------------------------------- other methods


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope(fake: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Commencer"), BotCommand("aide", "Aide")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.get_my_commands(scope=BotCommandScopeChat(USER)) == ()
    assert fake.my_commands() == [command.to_dict() for command in commands]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start-Now", "bad")])
    with pytest.raises(BadRequest, match=r"(?i)command description must be non-empty"):
        await bot.set_my_commands([BotCommand("ok", "  ")])
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()


@pytest.mark.asyncio
async def test_webhook_methods_and_conflict_with_polling(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)HTTPS URL must be provided"):
        await bot.set_webhook("http://example.org/hook")
    assert await bot.set_webhook("https://example.org/hook") is True
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook" and info.pending_update_count == 0
    with pytest.raises(Conflict, match=r"(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    fake.send_text("queued")
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert (await bot.get_webhook_info()).url == "" and fake.pending_updates() == []


@pytest.mark.asyncio
async def test_chat_action_menu_button_close_and_log_out(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(USER, ChatAction.TYPING) is True
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action in request"):
        await bot.send_chat_action(USER, "dancing")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_chat_action(31337, ChatAction.TYPING)
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands()) is True
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands()) is True
    assert (await bot.get_chat_menu_button(USER)).type == "commands"
    assert await bot.close() is True
    assert await bot.log_out() is True


# ----------------------------------------------------------------------------- recording and transport


@pytest.mark.asyncio
async def test_params_are_decoded_and_recorded(fake: FakeBotApi, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    await bot.send_message(USER, "123", reply_markup=markup, disable_notification=True)
    call = fake.calls("sendMessage")[0]
    assert call.params["chat_id"] == USER and call.params["text"] == "123"  # text stays a string
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert call.params["disable_notification"] is True
    assert call.raw_params["chat_id"] == str(USER)
    assert [c.method for c in fake.calls()] == ["getMe", "sendMessage"]


def test_json_and_multipart_bodies_are_understood(fake: FakeBotApi) -> None:
    url = f"{fake.base_url}{TEST_TOKEN}/sendMessage"
    assert httpx.post(url, json={"chat_id": USER, "text": "json body"}).json()["result"]["text"] == "json body"
    response = httpx.post(url, data={"chat_id": str(USER), "text": "multipart"}, files={"doc": ("a.txt", b"abc")})
    assert response.json()["ok"] is True
    upload = fake.calls("sendMessage")[-1].params["doc"]
    assert upload == UploadedFile("a.txt", "text/plain", b"abc")
    assert httpx.get(url, params={"chat_id": USER, "text": "query string"}).json()["ok"] is True


def test_request_size_limit() -> None:
    with FakeBotApi(max_request_bytes=1000) as small:
        response = httpx.post(f"{small.base_url}{TEST_TOKEN}/sendMessage", content=b"x" * 5000)
        assert response.status_code == 413
        assert small.calls()[0].status == 413


@pytest.mark.asyncio
async def test_wait_helpers_report_what_was_received(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(USER, "one")
    assert len(await fake.async_wait_for_calls("sendMessage", 1)) == 1
    with pytest.raises(AssertionError) as caught:
        await fake.async_wait_for_calls("sendMessage", 2, timeout=0.1)
    report = str(caught.value)
    assert "expected 2 call(s) of sendMessage" in report and "sendMessage(" in report and "getMe" in report
    threading.Timer(0.05, fake.send_text, args=("x",)).start()
    with pytest.raises(AssertionError, match="expected 1 call"):
        fake.wait_for_calls("answerCallbackQuery", 1, timeout=0.2)


# ----------------------------------------------------------------------------- whole bot


@pytest.mark.asyncio
async def test_application_polls_and_answers_start(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Menu", callback_data="menu")]])
        await update.effective_message.reply_text("<b>Bienvenue</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Menu ouvert")

    app = Application.builder().token(TEST_TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    fake.send_command("start")
    started = time.monotonic()
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        (reply,) = await fake.async_wait_for_calls("sendMessage", 1)
        assert reply.ok and reply.result["text"] == "Bienvenue"
        assert reply.params["chat_id"] == USER
        fake.press_button(fake.sent_messages(USER)[0], "menu")
        await fake.async_wait_for_calls("editMessageText", 1)
        assert fake.calls("answerCallbackQuery")[0].ok
        assert fake.get_message(USER, reply.result["message_id"])["text"] == "Menu ouvert"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert time.monotonic() - started < 5
    assert fake.pending_updates() == []  # the updater confirmed what it handled


def test_a_bot_in_a_subprocess_reaches_the_fake(fake: FakeBotApi) -> None:
    script = (
        "import asyncio, os\n"
        "from telegram import Bot\n"
        "async def main():\n"
        "    async with Bot(os.environ['TELEGRAM_BOT_TOKEN'], base_url=os.environ['TELEGRAM_API_BASE_URL']) as bot:\n"
        "        await bot.send_message(int(os.environ['CHAT_ID']), '<b>from a subprocess</b>', parse_mode='HTML')\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, **fake.env(), "CHAT_ID": str(USER)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert fake.sent_messages(USER)[0]["text"] == "from a subprocess"

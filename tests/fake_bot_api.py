"""A local fake of the Telegram Bot API HTTP server for offline tests.

The fake is a real HTTP server (``http.server.ThreadingHTTPServer`` in a background
thread), so the same instance serves in-process ``telegram.Bot`` objects and a bot
started as a subprocess (pass ``fake.base_url`` as ``TELEGRAM_API_BASE_URL``).

Request decoding, answers and error descriptions follow the behaviour of the official
server (tdlib/telegram-bot-api + tdlib): e.g. the HTML parser below is a port of
tdlib's ``parse_html`` so that its error messages and byte offsets match Telegram's.
Where the fake is deliberately stricter than Telegram, the description says so.

Typical use::

    with FakeBotApi() as fake:
        app = Application.builder().token(TEST_TOKEN).base_url(fake.base_url).build()
        fake.send_command("start")
        ...
        fake.wait_for_calls("sendMessage", 1)
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import ipaddress
import itertools
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_FIRST_NAME",
    "DEFAULT_GROUP_ID",
    "DEFAULT_SUPERGROUP_ID",
    "DEFAULT_USERNAME",
    "DEFAULT_USER_ID",
    "TEST_TOKEN",
    "Call",
    "FakeBotApi",
    "HtmlParseError",
    "UploadedFile",
    "keyboard_buttons",
    "parse_html",
]

TEST_TOKEN = "123456:TEST-token"
BOT_ID = 123456
BOT_FIRST_NAME = "Orientation 94"
BOT_USERNAME = "orientation94_test_bot"

DEFAULT_USER_ID = 424242
DEFAULT_FIRST_NAME = "Test"
DEFAULT_USERNAME = "test_user"
DEFAULT_GROUP_ID = -424242
DEFAULT_SUPERGROUP_ID = -1001424242
DEFAULT_CHANNEL_ID = -1001999999

MAX_MESSAGE_LENGTH = 4096  # characters after entity parsing
MAX_RAW_TEXT_BYTES = 1 << 15  # telegram-bot-api refuses longer raw text before parsing
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
LONG_POLL_MAX_TIMEOUT = 50
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024

_DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "cancel",
        "typing",
        "record_video",
        "upload_video",
        "record_audio",
        "record_voice",
        "upload_audio",
        "upload_voice",
        "upload_photo",
        "upload_document",
        "choose_sticker",
        "pick_up_location",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Parameters Telegram reads as strings: "123" in `text` must stay a string, whereas
# python-telegram-bot JSON-encodes every non-string value (so chat_id=5 arrives as "5").
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "emoji",
        "error_message",
        "explanation",
        "first_name",
        "game_short_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "phone_number",
        "question",
        "query",
        "secret_token",
        "short_description",
        "text",
        "title",
        "url",
        "vcard",
    }
)

_INLINE_BUTTON_TYPES = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_STRICT_NOTE = "(fake Bot API strict check; Telegram itself would accept it)"

_BOT_SENDER = {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Call:
    """One request received by the fake, with its decoded parameters and the answer."""

    method: str
    params: dict[str, Any]
    ok: bool
    response: dict[str, Any]
    status: int = 200  # 0 when the connection was dropped without an answer
    raw_params: dict[str, Any] = field(default_factory=dict, repr=False)
    at: float = field(default_factory=time.monotonic, repr=False)

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


class _ApiError(Exception):
    """An error answer: Telegram's error_code, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _lower_first(message: str) -> str:
    # telegram-bot-api lowercases tdlib messages unless they look like CONSTANT_NAMES.
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return message
    return message[:1].lower() + message[1:]


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, "Bad Request: " + _lower_first(message))


@dataclass
class _Reply:
    result: Any
    description: str | None = None


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- text utils


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# What tdlib's is_empty_string treats as blank (strip_empty_characters).
_EMPTY_CHARS = (
    " \n\t\r\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u2800\u3000\ufffc"
)


def _trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim like tdlib's fix_formatted_text: spaces/newlines at both ends, entities clipped."""
    entities = [dict(e) for e in entities if e["length"] > 0]
    stripped = text.rstrip(" \n")
    end = _utf16_len(stripped)
    kept = []
    for entity in entities:
        if entity["offset"] >= end:
            continue
        entity["length"] = min(entity["length"], end - entity["offset"])
        kept.append(entity)
    # Leading whitespace is only removed before the first entity.
    first_entity = min((e["offset"] for e in kept), default=end)
    shift = 0
    while shift < first_entity and shift < len(stripped) and stripped[shift] in " \n":
        shift += 1
    for entity in kept:
        entity["offset"] -= shift
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped[shift:], kept


# --------------------------------------------------------------------------- URL checks


class _LinkError(Exception):
    pass


@dataclass
class _HttpUrl:
    https: bool
    userinfo: str
    host: str
    is_ipv6: bool
    specified_port: int
    query: str

    def get_url(self) -> str:
        userinfo = f"{self.userinfo}@" if self.userinfo else ""
        port = f":{self.specified_port}" if self.specified_port > 0 else ""
        return f"{'https' if self.https else 'http'}://{userinfo}{self.host}{port}{self.query}"


_URL_PART_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_!$,~*'();&+=")
_HEX = frozenset("0123456789abcdefABCDEF")


def _check_url_part(part: str, name: str, allow_colon: bool) -> None:
    i = 0
    while i < len(part):
        char = part[i]
        if char in _URL_PART_OK or (allow_colon and char == ":") or ord(char) >= 128:
            i += 1
            continue
        if char == "%":
            if part[i + 1 : i + 2] in _HEX and part[i + 2 : i + 3] in _HEX:
                i += 3
                continue
            raise _LinkError(f"Wrong percent-encoded symbol in URL {name}")
        raise _LinkError(f"Disallowed character in URL {name}")


def _parse_url(url: str) -> _HttpUrl:
    """Port of tdlib's parse_url (td/utils/HttpUrl.cpp)."""
    scheme_end = next((i for i, c in enumerate(url) if c in ":/?#@[]"), len(url))
    https = False
    rest = url
    if url.startswith("://", scheme_end):
        scheme = url[:scheme_end].lower()
        if scheme not in ("http", "https"):
            raise _LinkError("Unsupported URL protocol")
        https = scheme == "https"
        rest = url[scheme_end + 3 :]
    authority_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, query = rest[:authority_end], rest[authority_end:]

    port = 0
    colon = len(authority) - 1
    while colon > 0 and authority[colon] not in ":]@":
        colon -= 1
    userinfo_host = authority
    if colon > 0 and authority[colon] == ":":
        port_text = authority[colon + 1 :].lstrip("0") or ("0" if authority[colon + 1 :] else "")
        port = int(port_text) if port_text.isascii() and port_text.isdigit() else -1
        port = port or -1
        userinfo_host = authority[:colon]
    if port < 0 or port > 65535:
        raise _LinkError("Wrong port number specified in the URL")

    at = userinfo_host.rfind("@")
    userinfo = userinfo_host[:at] if at >= 0 else ""
    host = userinfo_host[at + 1 :]
    is_ipv6 = len(host) >= 2 and host[0] == "[" and host[-1] == "]"
    if is_ipv6:
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _LinkError("Wrong IPv6 address specified in the URL") from None
    if not host:
        raise _LinkError("URL host is empty")
    if host == ".":
        raise _LinkError("Host is invalid")

    query = query.rstrip(" \t\r\n\0\v") or "/"
    if not query.startswith("/"):
        query = "/" + query
    query = "".join(f"%{ord(c):02X}" if ord(c) <= 0x20 else c for c in query)
    host = host.lower()
    if not is_ipv6:
        _check_url_part(host, "host", False)
        _check_url_part(userinfo, "userinfo", True)
    return _HttpUrl(https, userinfo, host, is_ipv6, port, query)


def _check_link(link: str, *, https_only: bool = False) -> str:
    """Port of tdlib's LinkManager::check_link: returns the normalized link or raises."""
    try:
        lowered = link.lower()
        scheme = next((s for s in ("tg", "ton", "tonsite") if lowered.startswith(s + ":")), None)
        rest = link[len(scheme) + 1 :] if scheme else link
        if scheme and rest.startswith("//"):
            rest = rest[2:]
        url = _parse_url(rest)
        if https_only and (not url.https or scheme):
            raise _LinkError("Only HTTPS links are allowed")
        if scheme:
            if rest.lower().startswith("http://") or url.https or url.userinfo or url.specified_port or url.is_ipv6:
                raise _LinkError("Wrong tg URL" if scheme == "tg" else "Wrong ton URL")
            query = url.query[1:] if url.query.startswith("/?") else url.query
            for char in url.host:
                if (
                    not (char.isascii() and char.isalnum())
                    and char not in "-_"
                    and not (scheme == "tonsite" and char == ".")
                ):
                    raise _LinkError("Unallowed characters in URL host")
            return f"{scheme}://{url.host}{query}"
        if "." not in url.host and not url.is_ipv6:
            raise _LinkError("Wrong HTTP URL")
        return url.get_url()
    except _LinkError as exc:
        raise _LinkError(f"URL '{link}' is invalid: {exc}") from None


def _link_user_id(url: str) -> int | None:
    """tg://user?id=N links become text_mention entities / user buttons."""
    match = re.fullmatch(r"tg:(?://)?user/?\?(?P<query>[^#]*)(?:#.*)?", url.lower())
    if not match:
        return None
    for key, _, value in (p.partition("=") for p in match["query"].split("&")):
        if key == "id" and value.isdigit() and int(value) > 0:
            return int(value)
    return None


# --------------------------------------------------------------------------- HTML parse mode


class HtmlParseError(ValueError):
    """Raised by parse_html with tdlib's message (without the "Can't parse entities" prefix)."""


_HTML_SPACES = frozenset(b" \t\r\n\0\v")
_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_SIMPLE_ENTITY_TYPES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def _is_alpha(c: int) -> bool:
    return 0x61 <= (c | 0x20) <= 0x7A


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """Port of tdlib's decode_html_entity: (code point, end) or (0, pos) if not an entity."""

    def at(i: int) -> int:
        return data[i] if i < len(data) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while chr(at(end)) in _HEX:
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while _is_digit(at(end)):
                code = code * 10 + at(end) - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(at(end)):
            end += 1
        code = _NAMED_ENTITIES.get(data[pos + 1 : end], 0)
        if not code:
            return 0, pos
    if at(end) == ord(";"):
        end += 1
    return code, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    date: int
    utf16_offset: int
    out_pos: int


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML subset into (plain text, Bot API entities).

    A port of tdlib's parse_html so that refusals, messages and byte offsets match
    Telegram. With ``strict`` a "&" that does not start a supported entity is refused,
    as the Bot API documentation demands (Telegram itself would show it verbatim).
    """
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    def is_space(c: int) -> bool:
        return c in _HTML_SPACES

    out = bytearray()
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    utf16 = 0
    decoded_surrogate = False
    i = 0
    while i < size:
        c = data[i]
        if c == ord("&"):
            code, end = _decode_html_entity(data, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                decoded_surrogate |= 0xD800 <= code <= 0xDFFF
                out += chr(code).encode("utf-8", "surrogatepass")
                i = end
                continue
            if strict:
                name = re.match(rb"&#?[A-Za-z0-9]*;?", data[i:])
                shown = name.group().decode() if name and len(name.group()) > 1 else "&"
                raise HtmlParseError(
                    f'Unsupported HTML entity "{shown}" at byte offset {i}; only &lt; &gt; &amp; &quot; '
                    f"and numeric entities are allowed, a bare & must be written &amp; {_STRICT_NOTE}"
                )
        if c != ord("<"):
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != ord("/"):
            while not is_space(at(i)) and at(i) != ord(">"):
                i += 1
            if at(i) == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].lower().decode("utf-8", "replace")
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')

            argument = ""
            date = 0
            while at(i) != ord(">"):
                while at(i) != 0 and is_space(at(i)):
                    i += 1
                if at(i) == ord(">"):
                    break
                attribute_begin = i
                while not is_space(at(i)) and at(i) not in b"=>/\"'":
                    i += 1
                attribute = data[attribute_begin:i]
                if not attribute:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while at(i) != 0 and is_space(at(i)):
                    i += 1
                if at(i) != ord("="):
                    if at(i) == 0:
                        raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attribute == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != 0 and is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in b"'\"":
                    token_begin = i
                    while _is_alpha(at(i)) or _is_digit(at(i)) or at(i) in b".-":
                        i += 1
                    value = data[token_begin:i].lower()
                    if not is_space(at(i)) and at(i) != ord(">"):
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    collected = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == ord("&"):
                            code, end = _decode_html_entity(data, i)
                            if code:
                                collected += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        collected.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = bytes(collected)
                if at(i) == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                value_text = value.decode("utf-8", "replace")
                if tag == "a" and attribute == b"href":
                    argument = value_text
                elif tag == "code" and attribute == b"class" and value_text.startswith("language-"):
                    argument = value_text[len("language-") :]
                elif tag == "span" and attribute == b"class" and value_text.startswith("tg-"):
                    argument = value_text[len("tg-") :]
                elif tag == "tg-emoji" and attribute == b"emoji-id":
                    argument = value_text
                elif tag == "blockquote" and attribute == b"expandable":
                    argument = "1"
                elif tag == "tg-time" and attribute == b"unix":
                    date = int(value_text) if re.fullmatch(r"-?\d{1,10}", value_text) else 0
                elif tag == "tg-time" and attribute == b"format":
                    argument = value_text
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append(_OpenTag(tag, argument, date, utf16, len(out)))
            i += 1  # skip ">"
            continue

        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        while not is_space(at(i)) and at(i) != ord(">"):
            i += 1
        end_tag = data[begin + 2 : i].lower().decode("utf-8", "replace")
        while is_space(at(i)) and at(i) != 0:
            i += 1
        if at(i) != ord(">"):
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        opened = stack[-1]
        if end_tag and end_tag != opened.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{opened.name}>", found "</{end_tag}>"'
            )
        if utf16 > opened.utf16_offset:
            _close_html_entity(opened, utf16, bytes(out), entities)
        stack.pop()
        i += 1  # skip ">"

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    result = out.decode("utf-8", "surrogatepass")
    if decoded_surrogate:
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, entities


def _close_html_entity(opened: _OpenTag, utf16: int, out: bytes, entities: list[dict[str, Any]]) -> None:
    offset, length = opened.utf16_offset, utf16 - opened.utf16_offset
    span = {"offset": offset, "length": length}
    last = entities[-1] if entities else None
    same_range = last is not None and last["offset"] == offset and last["length"] == length
    if opened.name in _SIMPLE_ENTITY_TYPES:
        entities.append({"type": _SIMPLE_ENTITY_TYPES[opened.name], **span})
    elif opened.name == "tg-emoji":
        if not re.fullmatch(r"-?\d{1,19}", opened.argument) or int(opened.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", **span, "custom_emoji_id": opened.argument})
    elif opened.name == "tg-time":
        if opened.argument and not re.fullmatch(r"r|w?[dD]?[tT]?", opened.argument):
            raise HtmlParseError("Invalid date format used")
        if opened.date > 0:
            entities.append(
                {"type": "date_time", **span, "unix_time": opened.date, "date_time_format": opened.argument}
            )
    elif opened.name == "a":
        url = opened.argument or out[opened.out_pos :].decode("utf-8", "replace")
        user_id = _link_user_id(url)
        if user_id is not None:
            user = {"id": user_id, "is_bot": False, "first_name": ""}
            entities.append({"type": "text_mention", **span, "user": user})
        else:
            with suppress(_LinkError):  # Telegram silently drops links it can't use
                entities.append({"type": "text_link", **span, "url": _check_link(url)})
    elif opened.name == "pre":
        if same_range and last is not None and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", **span})
    elif opened.name == "code":
        if same_range and last is not None and last["type"] == "pre" and opened.argument:
            last["language"] = opened.argument
        else:
            entity = {"type": "code", **span}
            if opened.argument:
                entity["language"] = opened.argument  # kept only to build <pre><code>
            entities.append(entity)
    elif opened.name == "blockquote":
        entities.append({"type": "expandable_blockquote" if opened.argument else "blockquote", **span})


# --------------------------------------------------------------------------- entity detection

_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION_RE = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")


def _detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client attaches to user text (bot commands and mentions)."""
    found = []
    for pattern, kind in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for match in pattern.finditer(text):
            offset = _utf16_len(text[: match.start()])
            found.append({"type": kind, "offset": offset, "length": _utf16_len(match.group())})
    return sorted(found, key=lambda e: e["offset"])


# --------------------------------------------------------------------------- request decoding


def _decode_value(name: str, value: Any) -> Any:
    """Turn a form value back into what the bot meant (python-telegram-bot JSON-encodes non-strings)."""
    if not isinstance(value, str):
        return str(value) if name in _STRING_PARAMS and isinstance(value, int | float) else value
    if name in _STRING_PARAMS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        with suppress(ValueError):
            return json.loads(stripped)
    if stripped in ("true", "false"):
        return stripped == "true"
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    if re.fullmatch(r"-?\d+\.\d*(?:[eE][-+]?\d+)?", stripped):
        return float(stripped)
    return value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    values: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            values[name] = data.decode("utf-8", "replace")
        else:
            values[name] = UploadedFile(filename, part.get_content_type(), data)
    return values


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message_ref(message: Any) -> tuple[int, int]:
    """(chat id, message id) of a Message dict, a sent_messages() entry or a PTB Message."""
    if hasattr(message, "to_dict"):
        message = message.to_dict()
    if not isinstance(message, Mapping):
        raise TypeError(f"expected a message dict, got {type(message).__name__}")
    if "chat_id" in message:
        return int(message["chat_id"]), int(message["message_id"])
    return int(message["chat"]["id"]), int(message["message_id"])


# --------------------------------------------------------------------------- HTTP plumbing


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx pools connections
    timeout = 60  # idle keep-alive connections must not pin a thread forever
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests stay quiet; every request is recorded as a Call instead

    def _read_body(self) -> bytes | None:
        limit = self.server.fake.max_request_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(chunks)
                chunks += self.rfile.read(size)
                self.rfile.readline()
                if len(chunks) > limit:
                    return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        self.server.set_busy(self.connection, busy=True)
        try:
            body = self._read_body()
            if body is None:
                self.close_connection = True  # the unread body makes the connection unusable
                response = self.server.fake._handle_oversized(self.path)
            else:
                response = self.server.fake._handle(self.path, self.headers.get("Content-Type", ""), body)
            if response is None:
                self.close_connection = True
                with suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            self.close_connection = True  # the client went away (e.g. a cancelled long poll)
        finally:
            # After stop() the answer still goes out, then the connection closes.
            if not self.server.set_busy(self.connection, busy=False):
                self.close_connection = True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake
        self._busy: dict[socket.socket, bool] = {}  # open connection -> serving a request
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._busy[connection] = False
            else:
                self._busy.pop(connection, None)

    def set_busy(self, connection: socket.socket, *, busy: bool) -> bool:
        """Mark a connection busy/idle; False once the server is closing."""
        with self._connections_lock:
            self._busy[connection] = busy
            return not self._closing

    def close_connections(self) -> None:
        # Idle keep-alive connections would pin their handler threads; busy ones
        # finish their answer first and then close themselves (see set_busy).
        with self._connections_lock:
            self._closing = True
            idle = [connection for connection, busy in self._busy.items() if not busy]
        for connection in idle:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # clients closing connections is normal, not worth a traceback
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- the fake


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    as_json: bool
    remaining: int


@dataclass
class _StoredMessage:
    message: dict[str, Any]
    by_bot: bool
    markup_key: Any = None  # normalized inline keyboard, for "message is not modified"


class FakeBotApi:
    """In-process fake of the Telegram Bot API server (see the module docstring)."""

    def __init__(
        self,
        token: str = TEST_TOKEN,
        *,
        max_poll_wait: float = 2.0,
        strict_html: bool = True,
        strict_token: bool = False,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self.token = token
        self.max_poll_wait = max_poll_wait
        self.strict_html = strict_html
        self.strict_token = strict_token
        self.max_request_bytes = max_request_bytes
        self.bot_user: dict[str, Any] = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.internal_errors: list[str] = []

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(10001)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED_UPDATES
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._open_callbacks: set[str] = set()
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._webhook: dict[str, Any] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._drops: dict[str, int] = {}

        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._close,
            "logOut": self._close,
        }
        self._method_names = {name.lower(): name for name in self._handlers}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeBotApi:
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already started")
        self._stopping = False
        self._server = _HttpServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeBotApi", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._stopping = True  # long polls answer [] at once instead of holding shutdown
            self._cond.notify_all()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the project's bot (bot/settings.py) at this fake."""
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_BASE_URL": self.base_url}

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        as_json: bool | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``.

        4xx answers are Telegram JSON errors (429 carries ``parameters.retry_after``,
        default 1 s, and a Retry-After header). 5xx answers default to an nginx-like
        HTML body, as Telegram's front end sends; ``as_json`` overrides the body kind.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error code, got {status}")
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
                429: f"Too Many Requests: retry after {retry_after}",
            }.get(status) or _status_phrase(status)
        fault = _Fault(status, description, retry_after, status < 500 if as_json is None else as_json, times)
        with self._lock:
            self._faults.setdefault(method.lower(), []).append(fault)

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """Close the socket without answering the next ``times`` calls of ``method``."""
        with self._lock:
            self._drops[method.lower()] = self._drops.get(method.lower(), 0) + times

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        """A blocked user makes sends fail with 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            (self._blocked.add if blocked else self._blocked.discard)(chat_id)

    # ----------------------------------------------------------------- inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            if method is None:
                return list(self._calls)
            wanted = method.lower()
            return [c for c in self._calls if c.method.lower() == wanted]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Successful sendMessage/editMessageText results, oldest first.

        Each entry: method, chat_id, message_id, text (after parsing), raw_text (as
        sent), parse_mode, entities, reply_markup (as sent, any keyboard kind) and
        message (the Message object returned to the bot).
        """
        views = []
        for call in self.calls():
            if not call.ok or call.method not in ("sendMessage", "editMessageText"):
                continue
            message = call.result
            if not isinstance(message, dict):
                continue
            if chat_id is not None and message["chat"]["id"] != chat_id:
                continue
            views.append(
                {
                    "method": call.method,
                    "chat_id": message["chat"]["id"],
                    "message_id": message["message_id"],
                    "text": message.get("text", ""),
                    "raw_text": call.params.get("text"),
                    "parse_mode": call.params.get("parse_mode"),
                    "entities": message.get("entities", []),
                    "reply_markup": call.params.get("reply_markup"),
                    "message": message,
                }
            )
        return views

    def get_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message (after edits), or None."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            return copy.deepcopy(stored.message) if stored else None

    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates the bot has not confirmed yet."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def my_commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return str(self._webhook.get("url", ""))

    # ----------------------------------------------------------------- waiting

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``method`` was called ``count`` times; returns all its calls."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.calls(method)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_report(method, count, len(found), timeout))
                self._cond.wait(remaining)

    async def async_wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Like wait_for_calls, but yields to the event loop (the bot may share it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(method, count, len(found), timeout))
            await asyncio.sleep(0.01)

    def _timeout_report(self, method: str, count: int, got: int, timeout: float) -> str:
        lines = [f"expected {count} call(s) of {method} within {timeout:.1f}s, got {got}. Received:"]
        empty_polls = 0
        for index, call in enumerate(self.calls(), 1):
            if call.method == "getUpdates" and call.ok and call.result == []:
                empty_polls += 1  # idle long polls would drown the interesting calls
                continue
            outcome = "ok" if call.ok else f"{call.status} {call.description or call.response or 'dropped'}"
            lines.append(f"  {index}. {call.method}({_short(call.params, 200)}) -> {_short(outcome, 200)}")
        if len(lines) == 1:
            lines.append("  (nothing)")
        if empty_polls:
            lines.append(f"  ({empty_polls} empty getUpdates polls not shown)")
        lines.append(f"pending updates: {len(self.pending_updates())}")
        if self.internal_errors:
            lines.append("fake internal errors:\n" + "\n".join(self.internal_errors))
        return "\n".join(lines)

    # ----------------------------------------------------------------- chats and updates

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known to the fake (sends to unknown chats give "chat not found")."""
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        if chat_type == "private" and chat_id <= 0:
            raise ValueError("private chat ids are positive (they equal the user id)")
        if chat_type != "private" and chat_id >= 0:
            raise ValueError("group, supergroup and channel ids are negative")
        with self._lock:
            existing = self._chats.get(chat_id)
            if existing is not None:
                if existing["type"] != chat_type:
                    raise ValueError(f"chat {chat_id} is already known as a {existing['type']}")
                return copy.deepcopy(existing)
            chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = first_name or DEFAULT_FIRST_NAME
            else:
                chat["title"] = title or {"channel": "Test channel"}.get(chat_type, "Test group")
            if username:
                chat["username"] = username
            self._chats[chat_id] = chat
            return copy.deepcopy(chat)

    def queue_update(self, update_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue any update kind (e.g. "my_chat_member"); returns it with its update_id."""
        with self._cond:
            update = {"update_id": next(self._update_ids), update_type: copy.deepcopy(payload)}
            self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    def send_text(
        self,
        text: str,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        entities: list[dict[str, Any]] | None = None,
        *,
        title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A user's text message; bot commands and mentions get entities as a client adds them."""
        content: dict[str, Any] = {"text": text}
        detected = _detect_entities(text) if entities is None else entities
        if detected:
            content["entities"] = detected
        return self._user_message(
            content, chat_id, user_id, chat_type, first_name, title, reply_to_message_id=reply_to_message_id
        )

    def send_command(
        self,
        cmd: str,
        args: str = "",
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        title: str | None = None,
    ) -> dict[str, Any]:
        """``/cmd args`` with a bot_command entity (``cmd`` may include ``@bot_username``)."""
        command = "/" + cmd.lstrip("/")
        text = f"{command} {args}" if args else command
        entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        return self.send_text(text, chat_id, user_id, chat_type, first_name, entities, title=title)

    def group_message(
        self,
        text: str,
        mention_bot: bool = False,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "supergroup",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        title: str = "Test group",
    ) -> dict[str, Any]:
        """A message in a group/supergroup, optionally mentioning @orientation94_test_bot."""
        if chat_type not in ("group", "supergroup"):
            raise ValueError("group_message needs chat_type 'group' or 'supergroup'")
        mention = f"@{BOT_USERNAME}"
        if mention_bot and mention not in text:
            text = f"{mention} {text}"
        return self.send_text(text, chat_id, user_id, chat_type, first_name, title=title)

    def channel_post(
        self, text: str, chat_id: int = DEFAULT_CHANNEL_ID, *, title: str = "Test channel", username: str | None = None
    ) -> dict[str, Any]:
        with self._cond:
            chat = self._ensure_chat(chat_id, "channel", title=title, username=username)
            message = self._new_message(chat, None, {"text": text, **self._entities_field(_detect_entities(text))})
            message["sender_chat"] = copy.deepcopy(chat)
            return self.queue_update("channel_post", message)

    def send_location(
        self,
        lat: float,
        lon: float,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        live_period: int | None = None,
    ) -> dict[str, Any]:
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            location["live_period"] = live_period
        return self._user_message({"location": location}, chat_id, user_id, chat_type, first_name)

    def send_sticker(
        self,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        emoji: str = "👍",
    ) -> dict[str, Any]:
        sticker = {
            **self._file("sticker"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message({"sticker": sticker}, chat_id, user_id, chat_type, first_name)

    def send_photo(
        self,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        caption: str | None = None,
    ) -> dict[str, Any]:
        sizes = [
            {**self._file("photo"), "width": w, "height": h, "file_size": w * h // 10}
            for w, h in ((90, 67), (800, 600))
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(content, chat_id, user_id, chat_type, first_name)

    def send_voice(
        self,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        duration: int = 3,
    ) -> dict[str, Any]:
        voice = {**self._file("voice"), "duration": duration, "mime_type": "audio/ogg", "file_size": 4096 * duration}
        return self._user_message({"voice": voice}, chat_id, user_id, chat_type, first_name)

    def send_document(
        self,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> dict[str, Any]:
        document = {**self._file("document"), "file_name": file_name, "mime_type": mime_type, "file_size": 12345}
        content: dict[str, Any] = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(content, chat_id, user_id, chat_type, first_name)

    def send_contact(
        self,
        chat_id: int | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = DEFAULT_FIRST_NAME,
        *,
        phone_number: str = "+15555550100",
        own: bool = True,
    ) -> dict[str, Any]:
        """A shared contact; ``own`` = the sender's own (what a request_contact button sends)."""
        with self._cond:
            chat, user = self._sender(chat_id, user_id, chat_type, first_name, None)
            contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name if own else "Contact"}
            if own:
                contact["user_id"] = user["id"]
            message = self._new_message(chat, user, {"contact": contact})
            return self.queue_update("message", message)

    def edit_text(self, message_id: int, new_text: str, chat_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
        """The user edits one of their earlier text messages (an edited_message update)."""
        with self._cond:
            stored = self._messages.get((chat_id, message_id))
            if stored is None or stored.by_bot:
                raise ValueError(f"no user message {message_id} in chat {chat_id} to edit")
            message = stored.message
            message["text"] = new_text
            message.pop("entities", None)
            message.update(self._entities_field(_detect_entities(new_text)))
            message["edit_date"] = max(int(time.time()), message["date"])
            return self.queue_update("edited_message", message)

    def press_button(
        self,
        message: Any,
        callback_data: str,
        user_id: int | None = None,
        *,
        first_name: str = DEFAULT_FIRST_NAME,
        check_button: bool = True,
    ) -> dict[str, Any]:
        """A user presses an inline button of a bot message (a callback_query update).

        ``message`` is a Message dict, a sent_messages() entry or a PTB Message. The
        button must exist in the message's current keyboard unless check_button=False.
        """
        chat_id, message_id = _message_ref(message)
        with self._cond:
            stored = self._messages.get((chat_id, message_id))
            if stored is None or not stored.by_bot:
                raise ValueError(f"the bot never sent message {message_id} in chat {chat_id}")
            keyboard = stored.message.get("reply_markup", {}).get("inline_keyboard", [])
            available = [b.get("callback_data") for row in keyboard for b in row if "callback_data" in b]
            if check_button and callback_data not in available:
                raise AssertionError(
                    f"message {message_id} in chat {chat_id} has no button with callback_data "
                    f"{callback_data!r}; its buttons carry {available!r}"
                )
            chat = stored.message["chat"]
            if user_id is None:
                user_id = chat_id if chat["type"] == "private" else DEFAULT_USER_ID
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            query = {
                "id": query_id,
                "from": self._user(user_id, first_name),
                "message": copy.deepcopy(stored.message),
                "chat_instance": str(-abs(chat_id) * 7919),
                "data": callback_data,
            }
            return self.queue_update("callback_query", query)

    # ----------------------------------------------------------------- update helpers

    def _file(self, kind: str) -> dict[str, Any]:
        number = next(self._file_ids)
        return {"file_id": f"fake-{kind}-{number}", "file_unique_id": f"uniq-{kind}-{number}"}

    @staticmethod
    def _entities_field(entities: list[dict[str, Any]]) -> dict[str, Any]:
        return {"entities": entities} if entities else {}

    @staticmethod
    def _user(user_id: int, first_name: str) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if user_id == DEFAULT_USER_ID:
            user["username"] = DEFAULT_USERNAME
        return user

    def _ensure_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        self.add_chat(chat_id, chat_type, title=title, first_name=first_name, username=username)
        return self._chats[chat_id]

    def _sender(
        self, chat_id: int | None, user_id: int | None, chat_type: str, first_name: str, title: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if chat_id is None:
            chat_id = {
                "private": user_id or DEFAULT_USER_ID,
                "group": DEFAULT_GROUP_ID,
                "supergroup": DEFAULT_SUPERGROUP_ID,
                "channel": DEFAULT_CHANNEL_ID,
            }.get(chat_type, DEFAULT_USER_ID)
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_USER_ID
        if chat_type == "private" and user_id != chat_id:
            raise ValueError("in a private chat the chat id is the user id")
        username = DEFAULT_USERNAME if chat_type == "private" and chat_id == DEFAULT_USER_ID else None
        chat = self._ensure_chat(chat_id, chat_type, title=title, first_name=first_name, username=username)
        return chat, self._user(user_id, first_name)

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any] | None, content: dict[str, Any], *, by_bot: bool = False
    ) -> dict[str, Any]:
        message_id = self._last_message_id.get(chat["id"], 0) + 1
        self._last_message_id[chat["id"]] = message_id
        message: dict[str, Any] = {"message_id": message_id}
        if sender is not None:
            message["from"] = copy.deepcopy(sender)
        message.update({"chat": copy.deepcopy(chat), "date": int(time.time()), **content})
        self._messages[(chat["id"], message_id)] = _StoredMessage(message, by_bot)
        return message

    def _user_message(
        self,
        content: dict[str, Any],
        chat_id: int | None,
        user_id: int | None,
        chat_type: str,
        first_name: str,
        title: str | None = None,
        *,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        with self._cond:
            chat, user = self._sender(chat_id, user_id, chat_type, first_name, title)
            if reply_to_message_id is not None:
                replied = self._messages.get((chat["id"], reply_to_message_id))
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']} to reply to")
                content = {**content, "reply_to_message": copy.deepcopy(replied.message)}
            message = self._new_message(chat, user, content)
            return self.queue_update("message", message)

    # ----------------------------------------------------------------- request handling

    def _error_response(self, error: _ApiError) -> _Response:
        payload: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
        if error.parameters:
            payload["parameters"] = error.parameters
        headers = {}
        if error.parameters and error.parameters.get("retry_after"):
            headers["Retry-After"] = str(error.parameters["retry_after"])
        return _Response(error.status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)

    def _record(self, method: str, params: dict[str, Any], raw: dict[str, Any], response: _Response | None) -> None:
        if response is None:
            call = Call(method, params, False, {}, 0, raw)
        else:
            try:
                payload = json.loads(response.body)
            except ValueError:
                payload = {"ok": False, "error_code": response.status, "body": response.body.decode("utf-8", "replace")}
            call = Call(method, params, bool(payload.get("ok")), payload, response.status, raw)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _handle_oversized(self, path: str) -> _Response:
        response = self._error_response(_ApiError(413, "Request Entity Too Large"))
        method = urlsplit(path).path.rpartition("/")[2]
        self._record(self._method_names.get(method.lower(), method), {}, {}, response)
        return response

    def _handle(self, path: str, content_type: str, body: bytes) -> _Response | None:
        """Answer one HTTP request; None means: drop the connection without answering."""
        url = urlsplit(path)
        token, _, method = url.path.removeprefix("/bot").partition("/") if url.path.startswith("/bot") else ("", "", "")
        raw: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            raw.update(self._parse_body(content_type, body))
            params = {name: _decode_value(name, value) for name, value in raw.items()}
        except ValueError as exc:
            params = {}
            bad_body: _ApiError | None = _bad_request(f"can't parse request body: {exc}")
        else:
            bad_body = None
        canonical = self._method_names.get(method.lower(), method)

        if not token or not method or "/" in method:
            response: _Response | None = self._error_response(_ApiError(404, "Not Found"))
        elif not re.fullmatch(r"[1-9]\d{0,15}:[^/]+", token) or int(token.split(":")[0]) >= 1 << 54:
            # api.telegram.org answers malformed tokens like unknown paths (PTB relies on it).
            response = self._error_response(_ApiError(404, "Not Found"))
        elif self.strict_token and token != self.token:
            response = self._error_response(_ApiError(401, "Unauthorized"))
        else:
            response = self._dispatch(canonical, params, bad_body)
        self._record(canonical or url.path, params, raw, response)
        return response

    def _dispatch(self, method: str, params: dict[str, Any], bad_body: _ApiError | None) -> _Response | None:
        key = method.lower()
        with self._cond:
            if self._drops.get(key):
                self._drops[key] -= 1
                return None
            faults = self._faults.get(key)
            if faults:
                fault = faults[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.pop(0)
                return self._fault_response(fault)
            handler = self._handlers.get(method)
            if handler is None:
                return self._error_response(_ApiError(404, "Not Found"))
            if bad_body is not None:
                return self._error_response(bad_body)
            try:
                outcome = handler(params)
            except _ApiError as error:
                return self._error_response(error)
            except Exception:  # a bug in the fake must be visible, not a hung test
                self.internal_errors.append(traceback.format_exc())
                return self._error_response(_ApiError(500, "Internal Server Error: fake Bot API crashed"))
        reply = outcome if isinstance(outcome, _Reply) else _Reply(outcome)
        payload: dict[str, Any] = {"ok": True, "result": reply.result}
        if reply.description:
            payload["description"] = reply.description
        return _Response(200, json.dumps(payload, ensure_ascii=False).encode())

    def _fault_response(self, fault: _Fault) -> _Response:
        parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        if fault.as_json:
            return self._error_response(_ApiError(fault.status, fault.description, parameters))
        title = f"{fault.status} {fault.description}"
        page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        page += "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
        return _Response(fault.status, page.encode(), content_type="text/html")

    @staticmethod
    def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("a JSON body must be an object")
            return data
        if kind == "multipart/form-data":
            return _parse_multipart(content_type, body)
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))

    # ----------------------------------------------------------------- param helpers

    def _chat(self, params: dict[str, Any], name: str = "chat_id") -> dict[str, Any]:
        chat_id = params.get(name)
        if chat_id is None or chat_id == "":
            raise _ApiError(400, f"Bad Request: {name} is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
        elif isinstance(chat_id, int) and not isinstance(chat_id, bool) and chat_id in self._chats:
            return self._chats[chat_id]
        raise _ApiError(400, "Bad Request: chat not found")

    def _check_not_blocked(self, chat: dict[str, Any]) -> None:
        if chat["id"] in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int, low: int | None = None, high: int | None = None) -> int:
        # Like telegram-bot-api's get_integer_arg: malformed -> default, then clamp.
        value = params.get(name)
        result = value if isinstance(value, int) and not isinstance(value, bool) else default
        if low is not None:
            result = max(result, low)
        if high is not None:
            result = min(result, high)
        return result

    @staticmethod
    def _json_param(params: dict[str, Any], name: str, what: str) -> Any:
        value = params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad_request(f"Can't parse {what} JSON object") from None
        return value

    def _formatted_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """Text and entities as Telegram stores them, with its refusals."""
        text = params.get("text")
        text = "" if text is None else str(text)
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_RAW_TEXT_BYTES:
            raise _ApiError(400, "Bad Request: text is too long")
        parse_mode = str(params.get("parse_mode") or "").lower()
        if parse_mode in ("", "none"):
            entities = self._input_entities(params.get("entities"))
        elif parse_mode == "html":
            try:
                text, entities = parse_html(text, strict=self.strict_html)
            except HtmlParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif parse_mode in ("markdown", "markdownv2"):
            raise _ApiError(
                400, f"Bad Request: fake Bot API does not implement parse_mode {params['parse_mode']!r}; use HTML"
            )
        else:
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        text, entities = _trim_text(text, entities)
        if not text.strip(_EMPTY_CHARS):
            raise _ApiError(400, "Bad Request: text must be non-empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _input_entities(raw: Any) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise _bad_request(f"Can't parse entities JSON object: {exc}") from None
        if not isinstance(raw, list):
            return []
        entities = []
        for entity in raw:
            if not isinstance(entity, dict):
                raise _bad_request("Can't parse MessageEntity: expected an Object")
            for name in ("type", "offset", "length"):
                if name not in entity:
                    raise _bad_request(f"Can't parse MessageEntity: Can't find field \"{name}\"")
            if not isinstance(entity["offset"], int) or not isinstance(entity["length"], int):
                raise _bad_request('Can\'t parse MessageEntity: Field "offset" must be of type Number')
            entities.append(dict(entity))
        return entities

    # ----------------------------------------------------------------- reply markup

    def _reply_markup(self, params: dict[str, Any], chat: dict[str, Any] | None) -> tuple[str | None, Any]:
        """Validate reply_markup like Telegram: returns (kind, normalized markup)."""
        if "reply_markup" not in params or params["reply_markup"] in ("", None):
            return None, None
        markup = self._json_param(params, "reply_markup", "reply keyboard markup")
        if not isinstance(markup, dict):
            raise _bad_request("Object expected as reply markup")

        rows = self._array_field(markup, "keyboard")
        keyboard = []
        for row in rows:
            if not isinstance(row, list):
                raise _bad_request('Field "keyboard" must be an Array of Arrays')
            keyboard.append([self._keyboard_button(button, chat) for button in row])
        keyboard = [row for row in keyboard if row]

        inline_rows = self._array_field(markup, "inline_keyboard")
        inline = []
        for row in inline_rows:
            if not isinstance(row, list):
                raise _bad_request('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            inline.append([self._inline_button(button) for button in row])
        inline = [row for row in inline if row]

        flags = {}
        for name in (
            "hide_keyboard",
            "remove_keyboard",
            "personal_keyboard",
            "selective",
            "force_reply_keyboard",
            "force_reply",
            "resize_keyboard",
            "one_time_keyboard",
            "is_persistent",
        ):
            value = markup.get(name, False)
            if not isinstance(value, bool):
                raise _bad_request(f'Field "{name}" must be of type Boolean')
            flags[name] = value
        placeholder = markup.get("input_field_placeholder", "")
        if not isinstance(placeholder, str | int | float):
            raise _bad_request('Field "input_field_placeholder" must be of type String')

        if keyboard:
            normalized = {"keyboard": keyboard, **{k: v for k, v in flags.items() if v}}
            if placeholder != "":
                normalized["input_field_placeholder"] = str(placeholder)
            return "keyboard", normalized
        if inline:
            return "inline", {"inline_keyboard": inline}
        if flags["hide_keyboard"] or flags["remove_keyboard"]:
            return "remove", {"remove_keyboard": True}
        if flags["force_reply"] or flags["force_reply_keyboard"]:
            return "force_reply", {"force_reply": True}
        return None, None

    @staticmethod
    def _array_field(markup: dict[str, Any], name: str) -> list[Any]:
        value = markup.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _bad_request(f'Field "{name}" must be of type Array')
        return value

    @staticmethod
    def _string_field(obj: dict[str, Any], name: str, context: str) -> str:
        if name not in obj:
            raise _bad_request(f'{context}Can\'t find field "{name}"')
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad_request(f'{context}Field "{name}" must be of type String')
        return str(value)

    def _keyboard_button(self, button: Any, chat: dict[str, Any] | None) -> dict[str, Any]:
        context = "Can't parse keyboard button: "
        if isinstance(button, str):
            button = {"text": button}
        if not isinstance(button, dict):
            raise _bad_request(context + "KeyboardButton must be a String or an Object")
        text = self._string_field(button, "text", context)
        normalized: dict[str, Any] = {"text": text}
        for name in ("request_contact", "request_phone_number", "request_location"):
            if name in button:
                if not isinstance(button[name], bool):
                    raise _bad_request(f'{context}Field "{name}" must be of type Boolean')
                if button[name]:
                    normalized[name] = True
        for name in ("request_poll", "web_app", "request_users", "request_user", "request_chat"):
            if name in button:
                if not isinstance(button[name], dict):
                    raise _bad_request(f'{context}Field "{name}" must be of type Object')
                normalized[name] = button[name]
        if "web_app" in normalized:
            self._string_field(normalized["web_app"], "url", context)
        if not text:
            raise _bad_request(f"Can't parse keyboard button: text must be non-empty {_STRICT_NOTE}")
        private = chat is None or chat["type"] == "private"
        if not private:
            for name, what in (
                ("request_contact", "Phone number"),
                ("request_phone_number", "Phone number"),
                ("request_location", "Location"),
                ("request_poll", "Poll"),
            ):
                if name in normalized:
                    raise _bad_request(f"{what} can be requested in private chats only")
        return normalized

    def _inline_button(self, button: Any) -> dict[str, Any]:
        context = "Can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise _bad_request(context + "InlineKeyboardButton must be an Object")
        text = self._string_field(button, "text", context)
        present = [name for name in _INLINE_BUTTON_TYPES if name in button and button[name] not in ("", None)]
        if not present:
            raise _bad_request(context + "Text buttons are unallowed in the inline keyboard")
        if len(present) > 1:
            raise _bad_request(
                f"{context}exactly one of the optional fields must be used, got {', '.join(present)} {_STRICT_NOTE}"
            )
        if not text:
            raise _bad_request(f"{context}text must be non-empty {_STRICT_NOTE}")
        kind = present[0]
        normalized: dict[str, Any] = {"text": text}
        if kind == "url":
            url = self._string_field(button, "url", context)
            if _link_user_id(url) is None:
                try:
                    url = _check_link(url)
                except _LinkError as exc:
                    raise _bad_request(f"Inline keyboard button {exc}") from None
            normalized["url"] = url
        elif kind == "callback_data":
            data = self._string_field(button, "callback_data", context)
            if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            normalized["callback_data"] = data
        elif kind == "web_app":
            web_app = button["web_app"]
            if not isinstance(web_app, dict):
                raise _bad_request(f'{context}Field "web_app" must be of type Object')
            url = self._string_field(web_app, "url", context)
            try:
                normalized["web_app"] = {"url": _check_link(url, https_only=True)}
            except _LinkError as exc:
                raise _bad_request(f"Inline keyboard button Web App {exc}") from None
        elif kind in ("switch_inline_query", "switch_inline_query_current_chat"):
            normalized[kind] = self._string_field(button, kind, context)
        else:
            normalized[kind] = button[kind]
        return normalized

    # ----------------------------------------------------------------- methods

    def _get_me(self, params: dict[str, Any]) -> Any:
        return copy.deepcopy(self.bot_user)

    def _get_updates(self, params: dict[str, Any]) -> Any:
        if self._webhook.get("url"):
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._int(params, "offset", 0)
        limit = self._int(params, "limit", 100, 1, 100)
        timeout = self._int(params, "timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) or _DEFAULT_ALLOWED_UPDATES
        # Confirm: updates below a positive offset, or all but the last -offset ones.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._updates = [u for u in self._updates if self._update_kind(u) in self._allowed_updates]

        # A newer getUpdates terminates an older waiting one, as on the real server.
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + min(timeout, self.max_poll_wait)
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            batch = [u for u in self._updates if self._update_kind(u) in self._allowed_updates][:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return copy.deepcopy(batch)
            self._cond.wait(remaining)

    @staticmethod
    def _update_kind(update: dict[str, Any]) -> str:
        return next(key for key in update if key != "update_id")

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = dict(scope) if isinstance(scope, dict) else {"type": "default"}
        if "chat_id" in scope:
            scope["chat_id"] = str(scope["chat_id"])
        return json.dumps(scope, sort_keys=True)

    def _command_scope(self, params: dict[str, Any]) -> str:
        if params.get("scope") in (None, ""):
            return self._scope_key(None)
        scope = self._json_param(params, "scope", "BotCommandScope")
        context = "Can't parse BotCommandScope: "
        if not isinstance(scope, dict):
            raise _bad_request(context + "BotCommandScope must be an Object")
        kind = self._string_field(scope, "type", context)
        if kind not in (
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        ):
            raise _bad_request(context + "Unsupported type specified")
        if kind in ("chat", "chat_administrators", "chat_member"):
            if not self._string_field(scope, "chat_id", context):
                raise _bad_request(context + "Empty chat_id specified")
            self._chat(scope)
        return self._scope_key({k: v for k, v in scope.items() if k in ("type", "chat_id", "user_id")})

    def _set_my_commands(self, params: dict[str, Any]) -> Any:
        raw = self._json_param(params, "commands", "commands") if params.get("commands") not in (None, "") else []
        if not isinstance(raw, list):
            raise _bad_request("Expected an Array of BotCommand")
        commands = []
        for command in raw:
            context = "Can't parse BotCommand: "
            if not isinstance(command, dict):
                raise _bad_request(context + "expected an Object")
            name = self._string_field(command, "command", context).strip().removeprefix("/")
            description = self._string_field(command, "description", context).strip()
            if not name:
                raise _bad_request("Command must be non-empty")
            if len(name) > 32:
                raise _bad_request("Command length must not exceed 32")
            if not description:
                raise _bad_request("Command description must be non-empty")
            if len(description) > 256:
                raise _bad_request("Command description length must not exceed 256")
            if not re.fullmatch(r"[a-z0-9_]+", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            commands.append({"command": name, "description": description})
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        key = (self._command_scope(params), str(params.get("language_code") or ""))
        self._commands[key] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> Any:
        key = (self._command_scope(params), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: dict[str, Any]) -> Any:
        self._commands.pop((self._command_scope(params), str(params.get("language_code") or "")), None)
        return True

    def _set_webhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        try:
            normalized = _check_link(url, https_only=True)
        except _LinkError:
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook") from None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        previous = self._webhook.get("url")
        self._webhook = {"url": normalized, "max_connections": self._int(params, "max_connections", 40, 1, 100)}
        if isinstance(params.get("allowed_updates"), list):
            self._webhook["allowed_updates"] = params["allowed_updates"]
        self._cond.notify_all()  # waiting long polls must see the conflict
        return _Reply(True, "Webhook is already set" if previous == normalized else "Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        had_webhook = bool(self._webhook.get("url"))
        self._webhook = {}
        return _Reply(True, "Webhook was deleted" if had_webhook else "Webhook is already deleted")

    def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = self._webhook["max_connections"]
            if "allowed_updates" in self._webhook:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    def _bot_message(
        self, chat: dict[str, Any], text: str, entities: list[dict[str, Any]], kind: str | None, markup: Any
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text, **self._entities_field(entities)}
        if kind == "inline":
            content["reply_markup"] = markup  # Message.reply_markup only carries inline keyboards
        message = self._new_message(chat, _BOT_SENDER, content, by_bot=True)
        self._messages[(chat["id"], message["message_id"])].markup_key = markup if kind == "inline" else None
        return message

    def _send_message(self, params: dict[str, Any]) -> Any:
        text, entities = self._formatted_text(params)
        chat = self._chat(params)
        kind, markup = self._reply_markup(params, chat)
        self._check_not_blocked(chat)
        replied = self._replied_message(params, chat)
        message = self._bot_message(chat, text, entities, kind, markup)
        if replied is not None:
            message["reply_to_message"] = replied
        return copy.deepcopy(message)

    def _replied_message(self, params: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any] | None:
        reply = self._json_param(params, "reply_parameters", "reply parameters")
        if not isinstance(reply, dict):
            if "reply_to_message_id" not in params:
                return None
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply") is True,
            }
        message_id = reply.get("message_id")
        stored = self._messages.get((chat["id"], message_id)) if isinstance(message_id, int) else None
        if stored is None:
            if reply.get("allow_sending_without_reply") is True:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        replied = copy.deepcopy(stored.message)
        replied.pop("reply_to_message", None)  # Telegram does not nest replies further
        return replied

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[dict[str, Any], _StoredMessage]:
        if params.get("chat_id") in (None, "") and "inline_message_id" in params:
            raise _ApiError(400, "Bad Request: fake Bot API does not implement inline messages")
        chat = self._chat(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat["id"], message_id)) if isinstance(message_id, int) else None
        if stored is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not stored.by_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat, stored

    def _edit_reply_markup(self, params: dict[str, Any], chat: dict[str, Any]) -> Any:
        kind, markup = self._reply_markup(params, chat)
        if kind not in (None, "inline"):
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        return markup  # editing without reply_markup removes the keyboard, as on Telegram

    def _apply_edit(self, stored: _StoredMessage, content: dict[str, Any], markup: Any) -> dict[str, Any]:
        message = stored.message
        old = {k: message.get(k) for k in ("text", "entities")}
        new = {"text": content.get("text", message.get("text")), "entities": content.get("entities", old["entities"])}
        if old == new and stored.markup_key == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        message["text"] = new["text"]
        message.pop("entities", None)
        if new["entities"]:
            message["entities"] = new["entities"]
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        stored.markup_key = markup
        message["edit_date"] = max(int(time.time()), message["date"])
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        text, entities = self._formatted_text(params)
        chat, stored = self._message_to_edit(params)
        markup = self._edit_reply_markup(params, chat)
        return self._apply_edit(stored, {"text": text, "entities": entities or None}, markup)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        chat, stored = self._message_to_edit(params)
        markup = self._edit_reply_markup(params, chat)
        return self._apply_edit(stored, {}, markup)

    def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        if str(params.get("action") or "").lower() not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        self._check_not_blocked(chat)
        return True

    def _menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("menu_button") in (None, ""):
            return {"type": "default"}
        button = self._json_param(params, "menu_button", "menu button")
        context = "Can't parse menu button: "
        if not isinstance(button, dict):
            raise _bad_request(context + "MenuButton must be an Object")
        kind = self._string_field(button, "type", context)
        if kind in ("default", "commands"):
            return {"type": kind}
        if kind != "web_app":
            raise _bad_request(context + "MenuButton has unsupported type")
        text = self._string_field(button, "text", context)
        web_app = button.get("web_app")
        if not isinstance(web_app, dict):
            raise _bad_request(f'{context}Can\'t find field "web_app"')
        return {"type": "web_app", "text": text, "web_app": {"url": self._string_field(web_app, "url", context)}}

    def _menu_chat_key(self, params: dict[str, Any]) -> int | None:
        if params.get("chat_id") in (None, ""):
            return None
        chat = self._chat(params)
        if chat["type"] != "private":
            raise _ApiError(400, "Bad Request: chat not found")
        return int(chat["id"])

    def _set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        button = self._menu_button(params)
        self._menu_buttons[self._menu_chat_key(params)] = button
        return True

    def _get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        key = self._menu_chat_key(params)
        fallback = self._menu_buttons.get(None, {"type": "commands"})
        return copy.deepcopy(self._menu_buttons.get(key, fallback))

    def _close(self, params: dict[str, Any]) -> Any:
        return True


def keyboard_buttons(markup: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of an inline or reply keyboard, row by row (handy in assertions)."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [button if isinstance(button, dict) else {"text": button} for row in rows for button in row]

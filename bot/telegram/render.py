"""Turn the core's replies into Telegram messages: HTML text cut to size, and keyboards.

Pure functions, no network and no state. This is the only module that writes HTML: every
piece of text (knowledge base, user input, fixed sentences) is escaped with `html.escape`
here, so the handlers never build markup themselves.

Callback data formats (kept under Telegram's 64 bytes):
    t:<topic-id>           a theme: list its questions
    e:<entry-id>           an entry: its answer
    e:<entry-id>@<insee>   an entry offered beside a message naming that commune: answered for it
    f:<1|0>:<entry-id>     👍 / 👎 on the answer to that entry
    fr:<entry-id>          the French version of a translated answer (the reference)
    p:<service-id>         one of the places listed: its details and map
    l:<lang>               answer in that language from now on (/langue)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot import messages
from bot.knowledge.model import Entry, Link, Topic
from bot.understanding.engine import ANSWER, ASK_LOCATION, SERVICE, Reply
from bot.understanding.languages import FRENCH, NAMES, RIGHT_TO_LEFT, SUPPORTED, Catalog

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_DATA = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # 64 bytes
MAX_LABEL = 60  # longer button labels are cut by Telegram clients anyway
THUMBS_UP, THUMBS_DOWN = "👍", "👎"
# Links in answers are sources the family opens on purpose; previews would bury the text.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Outgoing:
    """One message to send: HTML text and at most one keyboard (the application's
    `Defaults` set the HTML parse mode and turn link previews off)."""

    text: str
    reply_markup: ReplyMarkup | None = None


@dataclass(frozen=True)
class Button:
    """A decoded callback: kind is "t", "e" or "f"; positive only for feedback."""

    kind: str
    target: str
    positive: bool | None = None
    commune: str | None = None  # "e" and "fr": the commune named beside the choice (INSEE code)


# --- callback data -------------------------------------------------------------------------


def _checked(data: str) -> str:
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_DATA, f"callback data too long: {data!r}"
    return data


def topic_data(topic_id: str) -> str:
    return _checked(f"t:{topic_id}")


def entry_data(entry_id: str, commune: str | None = None) -> str:
    return _checked(f"e:{entry_id}@{commune}" if commune else f"e:{entry_id}")


def feedback_data(entry_id: str, positive: bool) -> str:
    return _checked(f"f:{int(positive)}:{entry_id}")


def french_data(entry_id: str, commune: str | None = None) -> str:
    return _checked(f"fr:{entry_id}@{commune}" if commune else f"fr:{entry_id}")


def place_data(service_id: str) -> str:
    return _checked(f"p:{service_id}")


def place_rows(reply: Reply) -> list[list[InlineKeyboardButton]]:
    """One button per listed place (as numbered in the text), for its details and map."""
    if len(reply.services) < 2:
        return []
    return [[InlineKeyboardButton(label(f"📍 {i}. {s.service.name}"), callback_data=place_data(s.service.id))]
            for i, s in enumerate(reply.services, 1)]


def language_data(lang: str) -> str:
    return _checked(f"l:{lang}")


def parse_callback(data: object) -> Button | None:
    """Decode callback data; None when it is not one of ours (forged, old format)."""
    if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        return None
    kind, _, rest = data.partition(":")
    if kind in ("t", "e", "fr", "p") and _is_id(rest):
        return Button(kind, rest)
    entry_id, _, commune = rest.partition("@")
    if kind in ("e", "fr") and _is_id(entry_id) and commune.isascii() and commune.isalnum() and len(commune) == 5:
        return Button(kind, entry_id, commune=commune)
    if kind == "l" and rest in SUPPORTED:
        return Button(kind, rest)
    if kind == "f":
        vote, _, entry_id = rest.partition(":")
        if vote in ("0", "1") and _is_id(entry_id):
            return Button("f", entry_id, vote == "1")
    return None


def accepts(*kinds: str) -> Callable[[object], bool]:
    """A `CallbackQueryHandler` pattern: data of ours, of one of these kinds."""

    def pattern(data: object) -> bool:
        pressed = parse_callback(data)
        return pressed is not None and pressed.kind in kinds

    return pattern


def _is_id(value: str) -> bool:
    return bool(value) and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value)


# --- whole replies -------------------------------------------------------------------------


def render_reply(reply: Reply, *, private: bool = True, catalog: Catalog | None = None) -> list[Outgoing]:
    """The messages that carry one reply of the engine, in order, in the reply's language.

    `private` matters because Telegram allows reply keyboards asking for a location in
    private chats only.
    """
    catalog = catalog or Catalog({})
    lang = reply.lang

    def text(name: str) -> str:
        return catalog.text(name, lang)

    if reply.status == ASK_LOCATION:
        if private:
            keyboard = location_keyboard(text("SHARE_LOCATION_BUTTON"), text("LOCATION_PLACEHOLDER"))
            return _pack_messages(_text_blocks(None, text("ASK_LOCATION"), lang), keyboard)
        return _pack_messages(_text_blocks(None, text("ASK_LOCATION_CONSOLE"), lang), None)

    blocks = _text_blocks(reply.title, reply.body, lang)
    if reply.status == SERVICE:
        # One message has one reply_markup: the keyboard removal takes it, so the map links
        # go into the text and the related questions into a second message.
        blocks.append([_anchor(link) for link in reply.links])
        rows = place_rows(reply) + choice_rows(reply.choices, lang, reply.commune_of_choices)
        if not private:
            return _pack_messages(blocks, _inline(rows))
        sent = _pack_messages(blocks, ReplyKeyboardRemove())
        if rows:
            sent += _pack_messages(_text_blocks(None, text("SEE_ALSO"), lang), _inline(rows))
        return sent

    rows = place_rows(reply) + link_rows(reply.links) + choice_rows(reply.choices, lang, reply.commune_of_choices)
    if reply.status == ANSWER and reply.entry is not None:
        if lang != FRENCH:
            rows.append([InlineKeyboardButton(label(text("SHOW_FRENCH_BUTTON")),
                                              callback_data=french_data(reply.entry.id, reply.commune_of_choices))])
        rows.append(feedback_row(reply.entry.id))
    return _pack_messages(blocks, _inline(rows))


def languages_keyboard() -> InlineKeyboardMarkup:
    """/langue: one button per language, each written in its own language."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(NAMES[lang], callback_data=language_data(lang))] for lang in SUPPORTED]
    )


def plain(text: str, reply_markup: ReplyMarkup | None = None, lang: str = FRENCH) -> list[Outgoing]:
    """A fixed sentence (or any plain text), escaped and cut to size."""
    return _pack_messages(_text_blocks(None, text, lang), reply_markup)


def welcome(topics: Iterable[Topic]) -> list[Outgoing]:
    return plain(f"{messages.WELCOME}\n\n{messages.PRIVACY_LINE}", themes_keyboard(topics))


def themes(topics: Iterable[Topic]) -> list[Outgoing]:
    return plain(messages.THEMES_INTRO, themes_keyboard(topics))


def topic_menu(topic: Topic, entries: Sequence[Entry]) -> list[Outgoing]:
    return plain(messages.THEME_INTRO.format(title=topic.title), _inline(choice_rows(entries)))


# --- keyboards -----------------------------------------------------------------------------


def label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def themes_keyboard(topics: Iterable[Topic]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label(t.title), callback_data=topic_data(t.id))] for t in topics]
    )


def link_rows(links: Iterable[Link]) -> list[list[InlineKeyboardButton]]:
    return [[InlineKeyboardButton(label(link.title), url=link.url)] for link in links]


def choice_rows(entries: Iterable[Entry], lang: str = FRENCH,
                commune: str | None = None) -> list[list[InlineKeyboardButton]]:
    """One button per entry; `commune`: the town named beside them, which each button carries."""
    return [
        [InlineKeyboardButton(label(e.title_in(lang)), callback_data=entry_data(e.id, commune))] for e in entries
    ]


def feedback_row(entry_id: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(THUMBS_UP, callback_data=feedback_data(entry_id, True)),
        InlineKeyboardButton(THUMBS_DOWN, callback_data=feedback_data(entry_id, False)),
    ]


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus the 👍/👎 row (one answer gets one vote)."""
    if markup is None:
        return None
    rows = [
        list(row) for row in markup.inline_keyboard
        if not any(isinstance(b.callback_data, str) and b.callback_data.startswith("f:")
                   for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def location_keyboard(
    button: str = messages.SHARE_LOCATION_BUTTON, placeholder: str = messages.LOCATION_PLACEHOLDER
) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(button, request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=placeholder,
    )


def _inline(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup(rows) if rows else None


# --- HTML text and splitting ---------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """One line of a message: escaped text, optionally inside one tag (kept whole per chunk)."""

    text: str
    open: str = ""
    close: str = ""

    @property
    def html(self) -> str:
        return f"{self.open}{self.text}{self.close}"


Block = list[Span]  # a paragraph: lines joined by "\n"; paragraphs are joined by "\n\n"


def _escape(text: str) -> str:
    # Text nodes only need <, > and &; quotes matter in attributes (see _anchor).
    return html.escape(text, quote=False)


RLM = "\u200f"  # right-to-left mark: a line that starts with "- ", a number or "CIO" stays right-to-left


def _text_blocks(title: str | None, body: str, lang: str = FRENCH) -> list[Block]:
    mark = RLM if lang in RIGHT_TO_LEFT else ""
    blocks: list[Block] = []
    if title:
        blocks.append([Span(mark + _escape(title), "<b>", "</b>")])
    for paragraph in body.strip().split("\n\n"):
        if paragraph.strip():
            blocks.append([Span(mark + _escape(line)) for line in paragraph.split("\n")])
    return blocks


def _anchor(link: Link) -> Span:
    return Span(_escape(link.title), f'<a href="{html.escape(link.url, quote=True)}">', "</a>")


def _pack_messages(blocks: list[Block], markup: ReplyMarkup | None) -> list[Outgoing]:
    chunks = split_html([b for b in blocks if b])
    # The keyboard goes under the last chunk, where the reader ends up.
    return [
        Outgoing(chunk, markup if i == len(chunks) - 1 else None) for i, chunk in enumerate(chunks)
    ]


def size(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); measured on the raw HTML, which
    is never shorter than the parsed text, so a chunk that fits here fits there."""
    return len(text.encode("utf-16-le")) // 2


def split_html(blocks: Sequence[Block], limit: int = MAX_TEXT) -> list[str]:
    """Cut blocks into valid HTML messages of at most `limit`: between paragraphs first,
    then between lines, then between words, and only as a last resort inside a word (never
    inside a tag or an entity: a tagged line is closed and reopened around each piece)."""
    pieces = [piece for block in blocks for piece in _block_pieces(block, limit)]
    return _pack(pieces, "\n\n", limit)


def _block_pieces(block: Block, limit: int) -> list[str]:
    whole = "\n".join(span.html for span in block)
    if size(whole) <= limit:
        return [whole]
    return _pack([p for span in block for p in _span_pieces(span, limit)], "\n", limit)


def _span_pieces(span: Span, limit: int) -> list[str]:
    if size(span.html) <= limit:
        return [span.html]
    budget = limit - size(span.open) - size(span.close)
    words = [w for word in span.text.split(" ") for w in _hard_cut(word, budget)]
    return [f"{span.open}{part}{span.close}" for part in _pack(words, " ", budget)]


def _hard_cut(text: str, budget: int) -> list[str]:
    """Cut a word with no space in it; a cut never falls inside an &entity;."""
    parts = []
    while size(text) > budget:
        cut = budget
        while size(text[:cut]) > budget:  # astral characters count twice
            cut -= 1
        amp = text.rfind("&", 0, cut)
        if amp > 0 and ";" not in text[amp:cut]:
            cut = amp  # the entity starting at amp would be split: cut before it
        parts.append(text[:cut])
        text = text[cut:]
    return [*parts, text] if text else parts


def _pack(pieces: Iterable[str], separator: str, limit: int) -> list[str]:
    """Greedily join pieces (each within the limit) with `separator` into chunks."""
    chunks: list[str] = []
    current: str | None = None
    for piece in pieces:
        if current is None:
            current = piece
        elif size(current) + size(separator) + size(piece) <= limit:
            current = f"{current}{separator}{piece}"
        else:
            chunks.append(current)
            current = piece
    if current is not None:
        chunks.append(current)
    return [c for c in chunks if c.strip()]

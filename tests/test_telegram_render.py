"""The Telegram renderer: escaping, splitting, callback data and keyboards per status.

Every produced text is checked with the fake Bot API's port of Telegram's HTML parser, so
"valid" means what Telegram would accept.
"""

from __future__ import annotations

from datetime import date

import pytest
from fake_bot_api import MAX_MESSAGE_LENGTH, parse_html
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot import messages
from bot.knowledge.model import Entry, Link
from bot.telegram import render
from bot.understanding.engine import ANSWER, ASK_LOCATION, FALLBACK, SERVICE, SUGGEST, Engine, Reply


def entry(entry_id: str = "cio-quest-ce", title: str = "Qu'est-ce qu'un CIO ?",
          answer: str = "Un service public.") -> Entry:
    return Entry(id=entry_id, topic="cio", questions=(title,), answer=answer,
                 sources=("test",), verified=date(2026, 1, 1))


def answer_reply(**fields: object) -> Reply:
    base = entry()
    values = {"title": base.title, "entry": base, "topic": "cio"} | fields
    return Reply(ANSWER, values.pop("body", base.answer), **values)  # type: ignore[arg-type]


def parsed(text: str) -> str:
    """The text Telegram would show; raises if the HTML is refused."""
    plain, _ = parse_html(text)
    assert len(plain) <= MAX_MESSAGE_LENGTH
    return plain


def buttons(markup: InlineKeyboardMarkup | None) -> list[list[tuple[str, str | None, str | None]]]:
    assert markup is not None
    return [[(b.text, b.callback_data, b.url) for b in row] for row in markup.inline_keyboard]


# --- escaping ------------------------------------------------------------------------------


def test_title_and_body_markup_is_escaped() -> None:
    title = "<b>Stage</b> & <script>alert(1)</script>"
    body = "Écrivez à <contact@cio.fr> & venez.\n\n<i>pas d'italique</i> &amp; 3 < 4"
    [out] = render.render_reply(answer_reply(title=title, body=body))
    assert "<script>" not in out.text and "<i>" not in out.text
    assert out.text.startswith("<b>&lt;b&gt;Stage&lt;/b&gt; &amp; &lt;script&gt;")
    plain, entities = parse_html(out.text)
    assert plain == f"{title}\n\n{body}"  # the user reads exactly the source text
    assert entities == [{"type": "bold", "offset": 0, "length": len(title)}]


def test_service_links_become_escaped_anchors() -> None:
    link = Link('Plan : CIO "A" & <B>', "https://www.openstreetmap.org/search?query=a&b=%22c%22")
    reply = Reply(SERVICE, "Les CIO les plus proches de Vitry-sur-Seine :", links=(link,))
    out = render.render_reply(reply)[0]
    assert '<a href="https://www.openstreetmap.org/search?query=a&amp;b=%22c%22">' in out.text
    plain, entities = parse_html(out.text)
    assert plain.endswith('Plan : CIO "A" & <B>')
    assert entities[-1]["type"] == "text_link"
    assert entities[-1]["url"] == link.url


def test_plain_texts_are_escaped() -> None:
    [out] = render.plain("a < b & c > d")
    assert out.text == "a &lt; b &amp; c &gt; d"
    assert parsed(out.text) == "a < b & c > d"


# --- splitting -----------------------------------------------------------------------------


def _long_body() -> str:
    paragraph = "\n".join(
        f"Ligne {i} : les <stages> & les « CIO » 🎓 — " + "mot " * 12 for i in range(12)
    )
    return "\n\n".join(paragraph for _ in range(13))


def test_ten_thousand_characters_split_into_valid_chunks() -> None:
    body = _long_body()
    assert len(body) > 10_000
    title = "Un titre <important> & long"
    reply = answer_reply(title=title, body=body, follow_ups=(entry("cio-rdv", "RDV ?"),))
    sent = render.render_reply(reply)
    assert len(sent) >= 3
    texts = [parsed(out.text) for out in sent]
    assert all(render.size(out.text) <= render.MAX_TEXT for out in sent)
    # Nothing lost, nothing invented: the words come back in order.
    assert " ".join(" ".join(texts).split()) == " ".join(f"{title}\n\n{body}".split())
    # Cuts fall between paragraphs here: every chunk starts a paragraph.
    for text in texts[1:]:
        assert text.startswith("Ligne 0")
    # The keyboard (follow-up and 👍/👎) is under the last chunk only.
    assert all(out.reply_markup is None for out in sent[:-1])
    assert buttons(sent[-1].reply_markup)[-1][0][1] == "f:1:cio-quest-ce"


def test_a_single_huge_line_is_cut_between_words() -> None:
    body = " ".join(f"mot{i}&<x>" for i in range(2000))  # one line, ~20 000 HTML chars
    sent = render.render_reply(answer_reply(body=body))
    texts = [parsed(out.text) for out in sent]
    assert len(texts) > 1
    assert " ".join(texts).split() == [*answer_reply().title.split(), *body.split()]


def test_no_spaces_at_all_never_cuts_an_entity_or_a_tag() -> None:
    title = "&<" * 3000  # a bold title far over the limit
    sent = render.render_reply(answer_reply(title=title, body="&" * 9000 + "🎓" * 3000))
    texts = [parsed(out.text) for out in sent]  # parse_html refuses a broken &amp; or <b>
    assert "".join(texts).replace("\n", "") == title + "&" * 9000 + "🎓" * 3000
    for out in sent:
        assert out.text.count("<b>") == out.text.count("</b>")


def test_split_html_packs_short_blocks_together() -> None:
    blocks = [[render.Span("a")], [render.Span("b"), render.Span("c")]]
    assert render.split_html(blocks) == ["a\n\nb\nc"]
    assert render.split_html(blocks, limit=4) == ["a", "b\nc"]


# --- callback data -------------------------------------------------------------------------


def test_callback_data_formats_and_sizes() -> None:
    longest = "x" * 40  # the loader allows ids of at most 40 characters
    assert render.topic_data("cio") == "t:cio"
    assert render.entry_data("cio-quest-ce") == "e:cio-quest-ce"
    assert render.feedback_data(longest, True) == f"f:1:{longest}"
    assert len(render.feedback_data(longest, False).encode()) <= 64
    with pytest.raises(AssertionError):
        render.entry_data("x" * 63)


def test_every_button_of_the_real_knowledge_base_fits(engine: Engine) -> None:
    for topic in engine.kb.topics.values():
        for row in render.themes_keyboard([topic]).inline_keyboard:
            assert len(row[0].callback_data.encode()) <= 64
        for out in render.topic_menu(topic, engine.kb.entries_of(topic.id)):
            for row in buttons(out.reply_markup):
                assert all(len((data or "").encode()) <= 64 for _, data, _ in row)
    for entry_id in engine.kb.entries:
        reply = engine.entry_reply(entry_id)
        assert reply is not None
        for out in render.render_reply(reply):
            parsed(out.text)
            if isinstance(out.reply_markup, InlineKeyboardMarkup):
                for row in buttons(out.reply_markup):
                    for text, data, _ in row:
                        assert len(text) <= render.MAX_LABEL
                        assert data is None or len(data.encode()) <= 64


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("t:cio", render.Button("t", "cio")),
        ("e:cio-quest-ce", render.Button("e", "cio-quest-ce")),
        ("e:cio-plus-proche@94028", render.Button("e", "cio-plus-proche", commune="94028")),
        ("e:cio-plus-proche@940281", None), ("e:cio-plus-proche@94 28", None), ("e:@94028", None),
        ("t:cio@94028", None), ("e:cio-plus-proche@٩٤٠٢٨", None),  # Arabic-Indic digits: not a code
        ("fr:cio-gratuit@94041", render.Button("fr", "cio-gratuit", commune="94041")),
        ("fr:cio-gratuit@9404", None), ("p:cio-vitry@94081", None),
        ("f:1:cio-quest-ce", render.Button("f", "cio-quest-ce", True)),
        ("f:0:cio-quest-ce", render.Button("f", "cio-quest-ce", False)),
        ("f:2:cio-quest-ce", None),
        ("f:1:", None),
        ("e:", None),
        ("x:cio", None),
        ("e:<script>", None),
        ("", None),
        (None, None),
        ("e:" + "a" * 70, None),
    ],
)
def test_parse_callback(data: str | None, expected: render.Button | None) -> None:
    assert render.parse_callback(data) == expected


def test_long_labels_are_cut() -> None:
    title = "Est-ce que mon enfant peut faire son stage de troisième dans une autre ville ?"
    label = render.label(title)
    assert len(label) <= 60 and label.endswith("…")
    assert render.label("Court ?") == "Court ?"


# --- keyboards per status ------------------------------------------------------------------


def test_answer_has_links_then_choices_then_feedback() -> None:
    links = (Link("Mon stage de 3e", "https://www.monstagedetroisieme.fr"),)
    follow = (entry("stage-3e-duree", "Combien de temps dure le stage ?"),)
    [out] = render.render_reply(answer_reply(links=links, follow_ups=follow))
    assert buttons(out.reply_markup) == [
        [("Mon stage de 3e", None, "https://www.monstagedetroisieme.fr")],
        [("Combien de temps dure le stage ?", "e:stage-3e-duree", None)],
        [("👍", "f:1:cio-quest-ce", None), ("👎", "f:0:cio-quest-ce", None)],
    ]


def test_suggest_offers_choices_without_feedback() -> None:
    choices = (entry("a", "Question A ?"), entry("b", "Question B ?"))
    [out] = render.render_reply(Reply(SUGGEST, messages.SUGGEST, suggestions=choices))
    assert parsed(out.text) == messages.SUGGEST  # choices are buttons, not a numbered list
    assert buttons(out.reply_markup) == [[("Question A ?", "e:a", None)],
                                         [("Question B ?", "e:b", None)]]


def test_fallback_links_are_url_buttons() -> None:
    link = Link("Mon orientation en ligne", "https://www.monorientationenligne.fr")
    [out] = render.render_reply(Reply(FALLBACK, messages.FALLBACK, links=(link,)))
    assert buttons(out.reply_markup) == [[(link.title, None, link.url)]]


def test_a_fallback_with_the_nearest_cio_has_a_button_per_place(engine: Engine) -> None:
    reply = engine.respond("我住在维特里")  # "I live in Vitry", nothing else read: decline-place
    assert reply.status == FALLBACK and len(reply.services) >= 2
    out = render.render_reply(reply)
    rows = [row for message in out for row in buttons(message.reply_markup)]
    places = [row[0] for row in rows if row[0][1] and row[0][1].startswith("p:")]
    assert [data for _, data, _ in places] == [render.place_data(s.service.id) for s in reply.services]
    assert all(parsed(message.text) for message in out)


def test_ask_location_asks_for_the_position_in_private_chats() -> None:
    reply = Reply(ASK_LOCATION, messages.ASK_LOCATION_CONSOLE, awaiting_place="cio")
    [out] = render.render_reply(reply)
    assert parsed(out.text) == messages.ASK_LOCATION
    markup = out.reply_markup
    assert isinstance(markup, ReplyKeyboardMarkup)
    [[button]] = markup.keyboard
    assert button.text == messages.SHARE_LOCATION_BUTTON and button.request_location
    assert markup.resize_keyboard and markup.one_time_keyboard
    assert markup.input_field_placeholder == "Ville ou code postal"


def test_ask_location_in_a_group_has_no_location_button() -> None:
    reply = Reply(ASK_LOCATION, messages.ASK_LOCATION_CONSOLE, awaiting_place="cio")
    [out] = render.render_reply(reply, private=False)
    assert out.reply_markup is None  # Telegram refuses request_location outside private chats
    assert parsed(out.text) == messages.ASK_LOCATION_CONSOLE


def test_service_removes_the_keyboard_and_offers_follow_ups_after() -> None:
    links = (Link("Plan : CIO de Villejuif", "https://www.openstreetmap.org/search?query=x"),)
    follow = (entry("cio-rendez-vous", "Comment avoir un rendez-vous au CIO ?"),)
    reply = Reply(SERVICE, "Les CIO les plus proches :\n\n1. CIO de Villejuif", links=links,
                  follow_ups=follow)
    first, second = render.render_reply(reply)
    assert isinstance(first.reply_markup, ReplyKeyboardRemove)
    assert '<a href="https://www.openstreetmap.org/search?query=x">Plan : CIO de Villejuif</a>' \
        in first.text
    assert parsed(second.text) == messages.SEE_ALSO
    assert buttons(second.reply_markup) == [[(follow[0].title, "e:cio-rendez-vous", None)]]
    # In a group there is no reply keyboard to remove: one message carries the buttons.
    [group] = render.render_reply(reply, private=False)
    assert buttons(group.reply_markup) == [[(follow[0].title, "e:cio-rendez-vous", None)]]


def test_without_feedback_keeps_the_other_rows() -> None:
    [out] = render.render_reply(answer_reply(follow_ups=(entry("b", "B ?"),)))
    assert isinstance(out.reply_markup, InlineKeyboardMarkup)
    assert buttons(render.without_feedback(out.reply_markup)) == [[("B ?", "e:b", None)]]
    [alone] = render.render_reply(answer_reply())
    assert isinstance(alone.reply_markup, InlineKeyboardMarkup)
    assert render.without_feedback(alone.reply_markup) is None

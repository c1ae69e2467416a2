"""The terminal conversation: the same engine and texts as Telegram, choices numbered."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot import messages
from bot.understanding.engine import Conversation, Engine, Reply

QUIT_WORDS = {"quit", "exit", "q", "/quit", "/quitter", "quitter"}


def render(reply: Reply) -> str:
    """The reply as the terminal shows it: text, then its links, then the numbered choices apart."""
    parts = [reply.title, reply.body] if reply.title else [reply.body]
    if reply.links:
        parts.append("\n".join(f"{link.title} : {link.url}" for link in reply.links))
    numbered = [e.title_in(reply.lang) for e in reply.choices] or [t.title for t in reply.topics]
    if numbered:  # after the places the text lists (1, 2, 3), which a number also picks
        first = reply.first_choice_number if reply.choices else 1
        parts.append("\n".join(f"{i}. {title}" for i, title in enumerate(numbered, first)))
    return "\n\n".join(parts)


PASTE_WINDOW = 0.05  # seconds: lines arriving closer than this together were pasted at once


def _pasted_rest(stdin: TextIO) -> str:
    """The other lines of a message pasted in one go (a person types slower than this)."""
    import select

    rest = ""
    while select.select([stdin], [], [], PASTE_WINDOW)[0]:
        more = stdin.readline()
        if not more:
            break
        rest += more
    return rest


def run_console(
    engine_source: Callable[[], Engine],
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    note: str | None = None,
) -> int:
    """Read questions until end of input; a number picks one of the last choices."""
    engine = engine_source()
    conversation = Conversation()

    def say(text: str) -> None:
        stdout.write(text + "\n\n")
        stdout.flush()

    if note:
        say(note)
    say(messages.WELCOME + "\n\n" + "(Tapez un numéro pour choisir, « quitter » pour sortir.)")
    interactive = stdin.isatty()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return 0
        if interactive:
            line += _pasted_rest(stdin)
        text = " ".join(line.split())
        if text.lower() in QUIT_WORDS:
            say("Au revoir !")
            return 0
        if text in ("/aide", "/help", "aide ?"):
            say("\n\n".join((messages.HELP, messages.CONSOLE_COMMANDS, messages.HELP_DANGER)))
            continue
        if text == "/cio":
            say(render(engine.nearest_cio(None, conversation)))
            continue
        if text == "/themes":
            say(render(engine.menu(conversation)))
            continue
        say(render(engine.respond(text, conversation)))

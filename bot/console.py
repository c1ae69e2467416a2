"""The terminal conversation: the same engine and texts as Telegram, choices numbered."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot import messages
from bot.engine import Conversation, Engine, Reply

QUIT_WORDS = {"quit", "exit", "q", "/quit", "/quitter", "quitter"}


def render(reply: Reply) -> str:
    return reply.text + "".join(f"\n   {link.title} : {link.url}" for link in reply.links)


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
        text = line.strip()
        if text.lower() in QUIT_WORDS:
            say("Au revoir !")
            return 0
        if text in ("/aide", "/help", "aide ?"):
            say(messages.HELP)
            continue
        if text == "/cio":
            say(render(engine.nearest_cio(None, conversation)))
            continue
        if text == "/themes":
            topics = list(engine.kb.topics.values())
            say(messages.THEMES_INTRO + "\n" + "\n".join(f"- {t.title}" for t in topics))
            continue
        say(render(engine.respond(text, conversation)))

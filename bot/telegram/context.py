"""What the Telegram callbacks share, typed: python-telegram-bot's `ContextTypes` idiom.

`BotData` holds the objects of the whole bot (settings, engine, store, flood guard),
`ChatData` what a chat needs (the answers already voted on), `UserData` what a person
needs (their conversation, in memory only). `BotContext` is the context every callback
receives; its properties replace string keys and casts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.settings import Settings
from bot.storage.store import Store
from bot.telegram.flood import FloodGuard
from bot.understanding.engine import Conversation, Engine

VOTED_MEMORY = 200  # answers per chat whose vote is remembered, to ignore a second tap


@dataclass
class BotData:
    """Shared by every update. Filled by `build_application` and `post_init`."""

    settings: Settings | None = None
    engine: Engine | None = None  # /recharger replaces it in one assignment
    store: Store | None = None
    flood: FloodGuard = field(default_factory=FloodGuard)
    purge_task: asyncio.Task[None] | None = None


@dataclass
class ChatData:
    voted: deque[int] = field(default_factory=lambda: deque(maxlen=VOTED_MEMORY))


@dataclass
class UserData:
    conversation: Conversation = field(default_factory=Conversation)


class BotContext(CallbackContext[ExtBot[None], UserData, ChatData, BotData]):
    """The context of every callback, with the shared objects as typed properties."""

    @property
    def settings(self) -> Settings:
        settings = self.bot_data.settings
        if settings is None:
            raise RuntimeError("build_application sets the settings")
        return settings

    @property
    def engine(self) -> Engine:
        engine = self.bot_data.engine
        if engine is None:
            raise RuntimeError("post_init loads the engine before updates arrive")
        return engine

    @property
    def store(self) -> Store:
        store = self.bot_data.store
        if store is None:
            raise RuntimeError("post_init opens the store before updates arrive")
        return store

    @property
    def conversation(self) -> Conversation:
        """This person's conversation; an update without a person gets a throwaway one."""
        return self.user_data.conversation if self.user_data is not None else Conversation()

    def fixed(self, name: str, **values: object) -> str:
        """A fixed message in the language of this person's conversation."""
        return self.engine.fixed_text(name, self.conversation, **values)


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData, chat_data=ChatData, user_data=UserData)

BotApplication = Application[ExtBot[None], BotContext, UserData, ChatData, BotData, object]

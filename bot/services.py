"""What the Slack handlers and the console use, built once from settings and passed in (never global).

The Slack app puts a `Services` in every request's context (bot/app.py), so a listener receives it as
its `services` argument.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from checks.dns import Resolver
from checks.runner import make_resolver
from knowledge.base import KnowledgeBase, load

if TYPE_CHECKING:
    from incidents.store import Store

log = logging.getLogger(__name__)


class KeptAnswers:
    """Full texts of shortened answers, for the "Show everything" button; kept in memory, newest last.

    They are lost on restart and the oldest go first; the button then says so instead of failing.
    """

    def __init__(self, limit: int = 200, ttl: float = 24 * 3600) -> None:
        self.limit = limit
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, str, str]] = OrderedDict()

    def put(self, title: str, text: str) -> str:
        key = secrets.token_urlsafe(9)
        self._items[key] = (time.monotonic(), title, text)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[str, str] | None:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl:
            return None
        return item[1], item[2]


@dataclass
class Services:
    settings: Settings
    kb: KnowledgeBase
    store: Store | None = None
    kept: KeptAnswers = field(default_factory=KeptAnswers)

    @classmethod
    def create(cls, settings: Settings, *, with_store: bool = True) -> Services:
        """Services for the bot: the shipped knowledge base, and the SQLite store at DATABASE_PATH."""
        return cls(settings, load(), open_store(settings) if with_store else None)

    def resolver(self) -> Resolver:
        """A fresh resolver for one run (its cache lives as long as the run)."""
        return make_resolver(self.settings)

    async def diagnose(self, text: str) -> list[Any]:
        """Diagnoses of pasted text; parsing is CPU work on up to MAX_INPUT_BYTES, so it runs in a thread."""
        from knowledge.diagnose import diagnose

        return await asyncio.to_thread(diagnose, text, kb=self.kb, max_bytes=self.settings.max_input_bytes)

    def close(self) -> None:
        if self.store is not None and hasattr(self.store, "close"):
            self.store.close()


def open_store(settings: Settings) -> Store:
    from incidents.store import Store

    return Store.open(settings.database_path)

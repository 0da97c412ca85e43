"""What the Slack handlers and the console use, built once from settings and passed in (never global).

The Slack app puts a `Services` in every request's context (bot/app.py), so a listener receives it as
its `services` argument.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.settings import Settings
from checks.dns import Resolver
from checks.runner import make_resolver
from incidents.store import StoreError
from knowledge.base import KnowledgeBase, load

if TYPE_CHECKING:
    from incidents.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class CoreLoop:
    """A second event loop, in its own thread, for the checks, the parsing and the rendering.

    The loop that answers Slack then only parses requests and acks them: a hundred checks running at
    once cannot hold an ack back behind their DNS and CPU work (the interpreter hands the thread
    answering Slack its turn every few milliseconds). Started on first use; `close()` stops it.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name="deliverability-core", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the core loop; cancelling the caller cancels it there too."""
        future = asyncio.run_coroutine_threadsafe(coro, self._start())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop = self._loop, self._thread, None
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class KeptAnswers:
    """Full texts of shortened answers, for the "Show everything" button; kept in memory, newest last.

    They are lost on restart and the oldest go first; the button then says so instead of failing.
    """

    def __init__(self, limit: int = 200, ttl: float = 24 * 3600) -> None:
        self.limit = limit
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()  # put on the core loop's thread, get on the Slack one

    def put(self, title: str, text: str) -> str:
        key = secrets.token_urlsafe(9)
        with self._lock:
            self._items[key] = (time.monotonic(), title, text)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[str, str] | None:
        with self._lock:
            item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl:
            return None
        return item[1], item[2]


class ThreadNotes:
    """A few short notes per Slack thread, kept in memory: the keys of the messages analysed in it, for
    the "Compare with the earlier message" button. The oldest threads go first; a restart forgets."""

    def __init__(self, threads: int = 1000, per_thread: int = 10) -> None:
        self.threads = threads
        self.per_thread = per_thread
        self._items: OrderedDict[tuple[str, str], list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, thread: tuple[str, str], note: str) -> list[str]:
        """Add `note` to the thread; returns the notes it already had, newest last."""
        with self._lock:
            notes = self._items.pop(thread, [])
            before = list(notes)
            self._items[thread] = [*notes, note][-self.per_thread :]
            while len(self._items) > self.threads:
                self._items.popitem(last=False)
        return before


@dataclass
class Services:
    settings: Settings
    kb: KnowledgeBase
    store: Store | None = None
    kept: KeptAnswers = field(default_factory=KeptAnswers)
    threads: ThreadNotes = field(default_factory=ThreadNotes)
    core: CoreLoop = field(default_factory=CoreLoop)
    background: set[asyncio.Task] = field(default_factory=set)

    @classmethod
    def create(cls, settings: Settings, *, with_store: bool = True) -> Services:
        """Services for the bot: the shipped knowledge base, and the SQLite store at DATABASE_PATH."""
        return cls(settings, load(), open_store(settings) if with_store else None)

    def resolver(self) -> Resolver:
        """A fresh resolver for one run (its cache lives as long as the run)."""
        return make_resolver(self.settings)

    async def diagnose(self, text: str) -> list[Any]:
        """Diagnoses of pasted text; parsing is CPU work on up to MAX_INPUT_BYTES, so it runs in a thread.

        Every hard bounce diagnosed (and repeated soft ones) feeds the suppression list and the warm-up
        rates, as the sender-practices guidance asks; SUPPRESSIONS=off keeps addresses out of it.
        """
        return await asyncio.to_thread(self._diagnose, text)

    def _diagnose(self, text: str) -> list[Any]:
        from knowledge.diagnose import diagnose
        from practices.suppressions import Policy, record_diagnoses

        diagnoses = diagnose(text, kb=self.kb, max_bytes=self.settings.max_input_bytes)
        if self.store is not None:
            try:
                record_diagnoses(self.store, diagnoses, policy=Policy.from_settings(self.settings))
            except StoreError:
                # The answer matters more than the bookkeeping: the user still gets the diagnosis.
                log.exception("could not record diagnosed bounces in the suppression list")
        return diagnoses

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run core work (checks, parsing, rendering) away from the loop that acks Slack."""
        return await self.core.run(coro)

    def track(self, task: asyncio.Task) -> None:
        """Keep a reference to work that outlives its request, so it is not lost or collected early."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self, within: float) -> int:
        """Wait up to `within` seconds for tracked work to finish; returns how many were still running."""
        pending = set(self.background)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=within)
        return len(pending)

    def close(self) -> None:
        self.core.close()
        if self.store is not None:
            self.store.close()


def open_store(settings: Settings) -> Store:
    """The SQLite database at DATABASE_PATH, with the incident window, masking and retention settings."""
    from incidents.store import Store

    return Store.from_settings(settings)

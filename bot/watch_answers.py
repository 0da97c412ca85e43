"""`/deliverability watch|unwatch|watches`: watched targets as answers, the same in Slack and the console.

bot/slash.py hands these sub-commands here with the words after the sub-command in `request.text`
and, from Slack, who asked and where in `request.caller`: a watch belongs to the caller's workspace
and posts to the channel it was created in unless another is named. From the console (no caller)
the workspace is WATCH_WORKSPACE and the channel WATCH_CHANNEL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidents.store import Store, StoreError
from watch import WatchError, add, listing, remove
from watch.manage import channel_ref
from watch.model import Watch

SUBCOMMANDS = ("watch", "unwatch", "watches")
USAGE = {"watch": "watch <domain|ip> [#channel]", "unwatch": "unwatch <domain|ip>", "watches": "watches"}


@dataclass(frozen=True)
class Caller:
    """Who asked, from where: a slash command's team, channel and user ids."""

    workspace: str = ""
    channel: str = ""
    user: str = ""

    @classmethod
    def of_command(cls, command: Mapping[str, Any]) -> Caller:
        return cls(
            str(command.get("team_id") or ""),
            str(command.get("channel_id") or ""),
            str(command.get("user_id") or ""),
        )


@dataclass
class WatchAnswer:
    request: Any  # bot.slash.Request
    title: str
    lines: list[str] = field(default_factory=list)  # plain text; `channel_link` marks channel names
    watches: list[Watch] = field(default_factory=list)
    interval: float = 0.0

    def text(self) -> str:
        return "\n".join([self.title, *self.lines])


async def execute(request: Any, services: Any) -> Any:
    """A WatchAnswer, or a bot.slash.ProblemAnswer for input that cannot be used."""
    from bot.slash import ProblemAnswer  # slash imports this module: import at call time

    settings = services.settings
    caller: Caller = getattr(request, "caller", None) or Caller()
    workspace = caller.workspace or settings.watch_workspace
    words = request.text.split()
    wanted = {"watch": (1, 2), "unwatch": (1, 1), "watches": (0, 0)}[request.sub]
    if not wanted[0] <= len(words) <= wanted[1]:
        return ProblemAnswer(request, f"usage: `{USAGE[request.sub]}`")
    try:
        # The console opens the database only when asked; opening it is file I/O, so off the loop.
        store = services.store or await asyncio.to_thread(Store.from_settings, settings)
    except StoreError as exc:
        return ProblemAnswer(request, str(exc))
    try:
        if request.sub == "watches":
            watches = await asyncio.to_thread(listing, store, workspace)
            title = (
                f"{len(watches)} watched target{'s' if len(watches) != 1 else ''}"
                if watches
                else "Nothing is watched"
            )
            return WatchAnswer(request, title, watches=watches, interval=settings.watch_interval)
        if request.sub == "unwatch":
            gone = await remove(store, words[0], workspace=workspace)
            return WatchAnswer(request, f"No longer watching {gone.target}", ["Its history is kept."])
        channel = channel_ref(
            words[1] if len(words) > 1 else caller.channel or settings.watch_channel or None
        )
        added = await add(
            store,
            settings,
            words[0],
            workspace=workspace,
            channel=channel,
            created_by=caller.user or "console",
        )
    except WatchError as exc:
        return ProblemAnswer(request, str(exc))
    finally:
        if store is not services.store:
            store.close()
    watch = added.watch
    lines = [
        f"Re-checked every {every(settings.watch_interval)}, next at {watch.next_run_at:%Y-%m-%d %H:%M} UTC.",
        f"Alerts go to {watch.channel}." if watch.channel else "No channel: alerts are only stored.",
    ]
    if added.first_run is not None:
        lines.append(f"Now: {added.first_run.tally}. Later runs are compared with this one.")
        lines.extend(
            f"{f['status']}: {f['check']}: {f['summary']}"
            for f in added.first_run.findings
            if f.get("status") in ("fail", "warn", "error")
        )
    title = f"{'Watching' if added.created else 'Already watching'} {watch.target}"
    return WatchAnswer(request, title, lines, watches=[watch], interval=settings.watch_interval)


def every(seconds: float) -> str:
    """`6h`, `90m`, `1.5h`: an interval for people."""
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds / 60:g}m"


def watch_line(watch: Watch) -> str:
    problems = sum(1 for i in watch.state.values() if i.severity)
    state = f", {problems} problem{'s' if problems != 1 else ''} now" if problems else ""
    channel = watch.channel or "no channel"
    return f"• {watch.target} ({watch.kind}) → {channel}, next {watch.next_run_at:%d %b %H:%M} UTC{state}"

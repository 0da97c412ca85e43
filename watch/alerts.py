"""What an alert says, as one line for a terminal and as a Slack message, and posting it.

The Slack client is passed in: anything with `async chat_postMessage(channel=, text=)` (slack_sdk's
AsyncWebClient in the bot). This package never imports Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watch.diff import CHANGE, Change

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 300  # characters of a finding's summary shown in an alert
_ICON = {CHANGE: ":red_circle:", "recovery": ":large_green_circle:"}


@dataclass
class Alert:
    """One change on one watched target, as posted, printed and stored."""

    target: str
    workspace: str
    channel: str | None
    change: Change
    since: datetime | None  # when the state it is compared with was last seen (the previous run)
    incident_id: int | None = None
    incident_created: bool = False
    incident_resolved: bool = False
    id: int | None = None  # its row in watch_alerts, once stored
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> str:
        return self.change.event

    def to_dict(self) -> dict[str, Any]:
        data = self.change.to_dict(self.target)
        data |= {"workspace": self.workspace, "channel": self.channel, "incident": self.incident_id}
        return data

    def line(self) -> str:
        """One line for a terminal: `example.com dkim s1._domainkey.example.com: pass → fail (change)`."""
        c = self.change
        return (
            f"{self.target} {c.check} {c.about}: {c.before_status} → {c.after_status} ({c.event}): "
            f"{_clip(c.after_summary)}"
        )


def _clip(text: str, limit: int = SUMMARY_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    # Slack's three control characters, so a summary quoting DNS data cannot form links or mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_text(target: str, alerts: Sequence[Alert]) -> str:
    """One Slack message (mrkdwn) for the alerts of one run of one target, worst news first."""
    changes = [a for a in alerts if a.event == CHANGE]
    recoveries = [a for a in alerts if a.event != CHANGE]
    parts = []
    if changes:
        parts.append(f"{len(changes)} change{'s' if len(changes) != 1 else ''}")
    if recoveries:
        parts.append(f"{len(recoveries)} recover{'ies' if len(recoveries) != 1 else 'y'}")
    since = next((a.since for a in alerts if a.since), None)
    when = f" since the check at {since:%Y-%m-%d %H:%M} UTC" if since else ""
    lines = [f"*Watched {_escape(target)}*: {' and '.join(parts)}{when}"]
    for alert in [*changes, *recoveries]:
        c = alert.change
        lines.append(
            f"{_ICON.get(c.event, '•')} *{_escape(c.check)}* {_escape(c.about)}: "
            f"{c.before_status} → *{c.after_status}*"
        )
        lines.append(f"      before: {_escape(_clip(c.before_summary))}")
        lines.append(f"      now: {_escape(_clip(c.after_summary))}")
    notes: dict[str, None] = {}  # one line per incident, however many alerts share it
    for alert in alerts:
        check = _escape(alert.change.check)
        if alert.incident_id is None:
            continue
        if alert.incident_created:
            notes[f"Incident #{alert.incident_id} opened ({check} for {_escape(target)})."] = None
        elif alert.incident_resolved:
            notes[f"Incident #{alert.incident_id} resolved: {check} is clean again."] = None
        elif alert.event == CHANGE:
            notes[f"Incident #{alert.incident_id} updated ({check} for {_escape(target)})."] = None
    return "\n".join([*lines, *notes])


async def post(client: Any, channel: str, target: str, alerts: Sequence[Alert]) -> str | None:
    """Post one run's alerts to `channel`; returns the message ts. Raises what the client raises."""
    response = await client.chat_postMessage(channel=channel, text=message_text(target, alerts))
    try:
        return response["ts"]
    except (KeyError, TypeError):
        return getattr(response, "ts", None)
